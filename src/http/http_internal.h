/* src/http/http_internal.h - what the HTTP files share. */
#ifndef HL_HTTP_INTERNAL_H
#define HL_HTTP_INTERNAL_H

#include "../core/internal.h"

void hl__http_hooks_fire(hl__loop_t *L, hl_http_hook_event_t *ev);
int hl__http_hooks_any(void);
void hl__http_struct_sizes(size_t *conn, size_t *req); /* bench/http */

#endif
