/* src/core/error.c - error codes and messages, error values, hl_raise(), and
 * the routing of an uncaught error to its handler or to the fatal exit.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static _Thread_local char hl__errbuf[96];

HL_EXPORT const char *hl_strerror(int err) {
  switch (err) {
#define HL__ERR_MSG(name, val, msg)                                                                \
  case HL_##name:                                                                                  \
    return msg;
    HL_ERRNO_MAP(HL__ERR_MSG)
#undef HL__ERR_MSG
  case 0:
    return "success";
  default:
    return uv_strerror_r(err, hl__errbuf, sizeof hl__errbuf);
  }
}

HL_EXPORT const char *hl_err_name(int err) {
  switch (err) {
#define HL__ERR_NAME(name, val, msg)                                                               \
  case HL_##name:                                                                                  \
    return #name;
    HL_ERRNO_MAP(HL__ERR_NAME)
#undef HL__ERR_NAME
  case 0:
    return "OK";
  default:
    return uv_err_name_r(err, hl__errbuf, sizeof hl__errbuf);
  }
}

/* The error used when there is no memory to describe an error. */
static struct {
  int code;
  void *detail;
  void (*detail_free)(void *);
  char message[16];
} hl__oom = {UV_ENOMEM, NULL, NULL, "out of memory"};

hl_error_t *hl__oom_error(void) {
  return (hl_error_t *)(void *)&hl__oom;
}

HL_EXPORT hl_error_t *hl_error_newv(int code, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt ? fmt : "", ap2);
  va_end(ap2);
  if (n < 0)
    n = 0;
  hl_error_t *e = hl__malloc(sizeof(hl_error_t) + (size_t)n + 1);
  if (!e)
    return NULL;
  e->code = code < 0 ? code : HL_ERAISED;
  e->detail = NULL;
  e->detail_free = NULL;
  vsnprintf(e->message, (size_t)n + 1, fmt ? fmt : "", ap);
  return e;
}

HL_EXPORT hl_error_t *hl_error_new(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hl_error_t *e = hl_error_newv(code, fmt, ap);
  va_end(ap);
  return e;
}

HL_EXPORT void hl_error_free(void *err) {
  hl_error_t *e = err;
  if (!e || e == hl__oom_error())
    return;
  if (e->detail && e->detail_free)
    e->detail_free(e->detail);
  hl__free(e);
}

void hl__run_exit_listeners(hl__loop_t *L, int code) {
  if (!L || L->exiting)
    return;
  L->exiting = 1;
  for (hl__exit_listener_t *l = L->exit_listeners, *next; l; l = next) {
    next = l->next; /* a listener may remove itself */
    l->cb(code, l->arg);
  }
}

/* The exit code is set before the exit listeners run (they read it with
 * hl_process_get_exit_code and may change it, as process.exitCode in Node). */
void hl__fatal(hl__loop_t *L, const char *message, int code) {
  fflush(stdout);
  fprintf(stderr, "Error: %s\n", message);
  fflush(stderr);
  hl__exit_code = code;
  hl__run_exit_listeners(L, code);
  fflush(stdout);
  exit(hl__exit_code);
}

void hl__uncaught(hl__loop_t *L, hl_error_t *err, int origin, void *origin_obj) {
  if (L->on_uncaught && L->on_uncaught(L, err, origin, origin_obj)) {
    hl_error_free(err);
    return;
  }
  hl__fatal(L, err->message, HL_EXIT_UNCAUGHT);
}

/* A callback returned after hl_raise(): the error is uncaught. Runs while the
 * failing callback's context is still installed. */
void hl__handle_raised(hl__loop_t *L) {
  hl_error_t *err = L->raised;
  L->raised = NULL;
  if (L->proc && hl__al_on_error(L, err)) { /* an AsyncListener error callback handled it */
    hl_error_free(err);
    return;
  }
  hl__uncaught(L, err, HL__ORIGIN_EXCEPTION, NULL);
}

HL_EXPORT void hl_raise(hl_loop_t *loop, int code, const char *fmt, ...) {
  hl__loop_t *L = loop ? loop->impl : hl__current;
  va_list ap;
  va_start(ap, fmt);
  hl_error_t *err = hl_error_newv(code, fmt, ap);
  va_end(ap);
  if (!err)
    err = hl__oom_error();
  if (!L) {
    hl__fatal(NULL, err->message, HL_EXIT_UNCAUGHT);
  }
  if (hl__in_hook(L)) /* inside a hook callback: always fatal, as Node */
    hl__fatal(L, err->message, HL_EXIT_UNCAUGHT);
  if (L->depth == 0) { /* top level: uncaught at once */
    hl__uncaught(L, err, HL__ORIGIN_EXCEPTION, NULL);
    return;
  }
  if (L->raised) { /* the first error wins */
    hl_error_free(err);
    return;
  }
  L->raised = err;
}
