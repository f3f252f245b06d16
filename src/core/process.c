/* src/core/process.c - exit listeners and hl_process_exit(); the process
 * module (exit codes, events, signals) grows here.
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

HL_EXPORT void hl_process_exit(int code) {
  fflush(stdout);
  hl__run_exit_listeners(hl__current, code);
  exit(code);
}
