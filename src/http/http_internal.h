/* src/http/http_internal.h - what the HTTP files share. */
#ifndef HL_HTTP_INTERNAL_H
#define HL_HTTP_INTERNAL_H

#include "../core/internal.h"

void hl__http_hooks_fire(hl__loop_t *L, hl_http_hook_event_t *ev);
/* The number of http-hooks subscriptions on this thread (read inline on
 * every request: nonzero means hl__http_hooks_fire has work). */
extern _Thread_local int hl__http_nsubs HL__TLS_HOT;
static inline int hl__http_hooks_any(void) {
  return hl__http_nsubs;
}
void hl__http_struct_sizes(size_t *conn, size_t *req); /* bench/http */
/* Bytes of I/O buffers a connection holds (tests: an idle one holds none). */
size_t hl__http_conn_buffered(const hl_http_conn_t *C);
/* hl_http_res_add_header() for a name and value the caller made valid itself
 * (a token; no CR, LF or NUL) with their lengths: no check, no strlen (the
 * app's Server-Timing value, a few hundred bytes per traced response).
 * 0, HL_EINVAL (res unusable), HL_ESTATE (head sent), HL_ENOMEM. */
int hl__http_res_add_header_trusted(hl_http_res_t *res, const char *name, size_t nl,
                                    const char *value, size_t vl);

/* Remove the response listener (cb, arg) added with hl_http_res_on(): 0 or
 * HL_ENOENT. From inside a listener of that response it takes effect from the
 * next event (events run on a snapshot of the listeners). (The app drops its
 * FINISH listener when the request's close callback will report the same
 * moment: a response without listeners takes the server's quiet path.) */
int hl__http_res_off(hl_http_res_t *res, hl_http_res_event_cb cb, void *arg);

/* RFC 9110 tchar (ALPHA / DIGIT / "!#$%&'*+-.^_`|~", ASCII whatever the
 * locale): 1 for a token character. Header names; Server-Timing metric names. */
extern const unsigned char hl__http_tchar[256];

/* The request announced a body (a Content-Length other than 0, or a
 * Transfer-Encoding), as its headers said. */
int hl__http_req_has_body(const hl_http_req_t *req);

/* hl_http_res_status(res, status, NULL), with nothing to do when the
 * response already has that status and the standard reason. */
int hl__http_res_status_std(hl_http_res_t *res, int status);

#endif
