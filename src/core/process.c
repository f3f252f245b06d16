/* src/core/process.c - exit listeners, the process's exit code and
 * hl_process_exit(): what the core's fatal path needs. The rest of the
 * process module (events, uncaught routing, signals, facts, AsyncListener)
 * lives in src/proc/.
 */
#include <stdlib.h>
#include "internal.h"

HL_EXPORT int hl_process_on_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  hl__exit_listener_t *l = hl__malloc(sizeof *l);
  if (!l)
    return HL_ENOMEM;
  l->cb = cb;
  l->arg = arg;
  l->next = NULL;
  hl__exit_listener_t **pp = &L->exit_listeners;
  while (*pp)
    pp = &(*pp)->next;
  *pp = l;
  return 0;
}

HL_EXPORT int hl_process_off_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  for (hl__exit_listener_t **pp = &L->exit_listeners; *pp; pp = &(*pp)->next) {
    if ((*pp)->cb == cb && (*pp)->arg == arg) {
      hl__exit_listener_t *l = *pp;
      *pp = l->next;
      hl__free(l);
      return 0;
    }
  }
  return HL_ENOENT;
}

int hl__exit_code;     /* process.exitCode */
int hl__exit_code_set; /* set explicitly (the top-level-await rule needs it) */

HL_EXPORT int hl_process_get_exit_code(void) {
  return hl__exit_code;
}

HL_EXPORT int hl_process_set_exit_code(int code) {
  if (code < 0 || code > 255)
    return HL_EINVAL;
  hl__exit_code = code;
  hl__exit_code_set = 1;
  return 0;
}

HL_EXPORT void hl_process_exit(int code) {
  if (code >= 0 && code <= 255) {
    hl__exit_code = code;
    hl__exit_code_set = 1;
  }
  fflush(stdout);
  hl__run_exit_listeners(hl__current, hl__exit_code);
  fflush(stdout);
  fflush(stderr);
  exit(hl__exit_code);
}
