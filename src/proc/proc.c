/* src/proc/proc.c - the process module's events: beforeExit and exit on an
 * empty loop, uncaughtExceptionMonitor / uncaughtException, unhandled
 * rejections (Node's --unhandled-rejections modes) and rejectionHandled,
 * top-level await (exit 13), and hl_process_init (argv, hookloop's options,
 * signal defaults).
 *
 * The core calls in through L->on_uncaught (set when the state is created),
 * hl__proc_loop_empty (hl_run) and hl__proc_close (hl_loop_close).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proc.h"

/* ---- listener lists ----------------------------------------------------------- */

int hl__lsn_add(hl__lsnlist_t *list, void (*fn)(void), void *arg) {
  hl__lsn_t *l = hl__malloc(sizeof *l);
  if (!l)
    return HL_ENOMEM;
  l->next = NULL;
  l->fn = fn;
  l->arg = arg;
  l->dead = 0;
  hl__lsn_t **pp = &list->head;
  while (*pp)
    pp = &(*pp)->next;
  *pp = l;
  list->live++;
  return 0;
}

int hl__lsn_remove(hl__lsnlist_t *list, void (*fn)(void), void *arg) {
  for (hl__lsn_t **pp = &list->head; *pp; pp = &(*pp)->next) {
    hl__lsn_t *l = *pp;
    if (l->dead || l->fn != fn || l->arg != arg)
      continue;
    list->live--;
    if (list->emitting) {
      l->dead = 1;
      list->dirty = 1;
    } else {
      *pp = l->next;
      hl__free(l);
    }
    return 0;
  }
  return HL_ENOENT;
}

void hl__lsn_end_emit(hl__lsnlist_t *list) {
  if (--list->emitting || !list->dirty)
    return;
  list->dirty = 0;
  for (hl__lsn_t **pp = &list->head; *pp;) {
    hl__lsn_t *l = *pp;
    if (l->dead) {
      *pp = l->next;
      hl__free(l);
    } else {
      pp = &l->next;
    }
  }
}

void hl__lsn_free(hl__lsnlist_t *list) {
  while (list->head) {
    hl__lsn_t *l = list->head;
    list->head = l->next;
    hl__free(l);
  }
  list->live = 0;
}

/* ---- uncaught errors ------------------------------------------------------------- */

void hl__proc_handler_failed(hl__loop_t *L) {
  hl_error_t *e = L->raised;
  L->raised = NULL;
  hl__fatal(L, e ? e->message : "uncaught error handler failed", HL_EXIT_HANDLER_FAILED);
}

/* A listener raised (depth > 0: L->raised is set; at depth 0 hl_raise came
 * back into hl__proc_uncaught, which saw in_handler). */
static inline void hl__check_handler(hl__loop_t *L) {
  if (HL_UNLIKELY(L->raised != NULL))
    hl__proc_handler_failed(L);
}

/* monitor, then uncaughtException; 1 when a listener handled it. */
static int hl__proc_exception(hl__loop_t *L, hl__proc_t *P, const hl_error_t *err,
                              hl_origin_t origin) {
  P->in_handler = 1;
  P->monitor.emitting++;
  for (hl__lsn_t *l = P->monitor.head; l; l = l->next)
    if (!l->dead) {
      ((hl_uncaught_cb)l->fn)(err, origin, l->arg);
      hl__check_handler(L);
    }
  hl__lsn_end_emit(&P->monitor);
  int handled = P->uncaught.live > 0;
  P->uncaught.emitting++;
  for (hl__lsn_t *l = P->uncaught.head; l; l = l->next)
    if (!l->dead) {
      ((hl_uncaught_cb)l->fn)(err, origin, l->arg);
      hl__check_handler(L);
    }
  hl__lsn_end_emit(&P->uncaught);
  P->in_handler = 0;
  return handled;
}

static void hl__emit_unhandled(hl__loop_t *L, hl__proc_t *P, const hl_error_t *err,
                               hl_promise_t *p) {
  P->in_handler = 1;
  P->unhandled.emitting++;
  for (hl__lsn_t *l = P->unhandled.head; l; l = l->next)
    if (!l->dead) {
      ((hl_rejection_cb)l->fn)(err, p, l->arg);
      hl__check_handler(L);
    }
  hl__lsn_end_emit(&P->unhandled);
  P->in_handler = 0;
}

static void hl__rejection_warning(const hl_error_t *err) {
  fflush(stdout);
  fprintf(stderr, "(hookloop:%d) UnhandledPromiseRejectionWarning: Error: %s\n", (int)getpid(),
          err->message);
  fflush(stderr);
}

static int hl__proc_rejection(hl__loop_t *L, hl__proc_t *P, const hl_error_t *err,
                              hl_promise_t *p) {
  switch (P->mode) {
  case HL_REJECTIONS_STRICT:
    if (!hl__proc_exception(L, P, err, HL_ORIGIN_UNHANDLED_REJECTION))
      return 0;
    if (P->unhandled.live) /* handled: unhandledRejection, else the warning */
      hl__emit_unhandled(L, P, err, p);
    else
      hl__rejection_warning(err);
    return 1;
  case HL_REJECTIONS_WARN:
    hl__emit_unhandled(L, P, err, p);
    hl__rejection_warning(err);
    return 1;
  case HL_REJECTIONS_WARN_WITH_ERROR_CODE:
    if (P->unhandled.live) {
      hl__emit_unhandled(L, P, err, p);
    } else {
      hl__rejection_warning(err);
      hl__exit_code = HL_EXIT_UNCAUGHT;
    }
    return 1;
  case HL_REJECTIONS_NONE:
    hl__emit_unhandled(L, P, err, p);
    return 1;
  default: /* throw */
    if (P->unhandled.live) {
      hl__emit_unhandled(L, P, err, p);
      return 1;
    }
    return hl__proc_exception(L, P, err, HL_ORIGIN_UNHANDLED_REJECTION);
  }
}

static int hl__proc_uncaught(hl__loop_t *L, hl_error_t *err, int origin, void *origin_obj) {
  hl__proc_t *P = L->proc;
  if (P->in_handler || hl__al_in_error(L)) /* raised at top level inside a handler */
    hl__fatal(L, err->message, HL_EXIT_HANDLER_FAILED);
  if (origin == HL__ORIGIN_REJECTION)
    return hl__proc_rejection(L, P, err, origin_obj);
  return hl__proc_exception(L, P, err, HL_ORIGIN_UNCAUGHT_EXCEPTION);
}

HL_EXPORT const char *hl_origin_name(hl_origin_t origin) {
  return origin == HL_ORIGIN_UNHANDLED_REJECTION ? "unhandledRejection" : "uncaughtException";
}

/* ---- state ------------------------------------------------------------------------ */

hl__proc_t *hl__proc_get(hl__loop_t *L) {
  if (HL_LIKELY(L->proc != NULL))
    return L->proc;
  hl__proc_t *P = hl__calloc(1, sizeof *P);
  if (!P)
    return NULL;
  P->mode = HL_REJECTIONS_THROW;
  L->proc = P;
  L->on_uncaught = hl__proc_uncaught;
  return P;
}

void hl__proc_close(hl__loop_t *L) {
  hl__proc_t *P = L->proc;
  hl__sig_close_all(L);
  hl__al_close(L);
  hl__destroy_flush(L); /* the destroys of signal wraps */
  hl__lsn_free(&P->before_exit);
  hl__lsn_free(&P->uncaught);
  hl__lsn_free(&P->monitor);
  hl__lsn_free(&P->unhandled);
  hl__lsn_free(&P->handled);
  hl__free(P->tla); /* the promises themselves were freed with the loop's */
  hl__free(P);
  L->proc = NULL;
  L->on_uncaught = NULL;
}

/* ---- listener registration --------------------------------------------------------- */

#define HL__LIST_FNS(name, field, cbtype)                                                          \
  HL_EXPORT int hl_process_on_##name(hl_loop_t *loop, cbtype cb, void *arg) {                      \
    hl__loop_t *L = hl__L(loop);                                                                   \
    if (!L || !cb)                                                                                 \
      return HL_EINVAL;                                                                            \
    hl__proc_t *P = hl__proc_get(L);                                                               \
    if (!P)                                                                                        \
      return HL_ENOMEM;                                                                            \
    return hl__lsn_add(&P->field, (void (*)(void))cb, arg);                                        \
  }                                                                                                \
  HL_EXPORT int hl_process_off_##name(hl_loop_t *loop, cbtype cb, void *arg) {                     \
    hl__loop_t *L = hl__L(loop);                                                                   \
    if (!L || !cb)                                                                                 \
      return HL_EINVAL;                                                                            \
    if (!L->proc)                                                                                  \
      return HL_ENOENT;                                                                            \
    return hl__lsn_remove(&L->proc->field, (void (*)(void))cb, arg);                               \
  }

HL__LIST_FNS(before_exit, before_exit, hl_exit_cb)
HL__LIST_FNS(uncaught_exception, uncaught, hl_uncaught_cb)
HL__LIST_FNS(uncaught_exception_monitor, monitor, hl_uncaught_cb)
HL__LIST_FNS(unhandled_rejection, unhandled, hl_rejection_cb)
HL__LIST_FNS(rejection_handled, handled, hl_rejection_handled_cb)

HL_EXPORT int hl_process_set_unhandled_rejections(hl_loop_t *loop, hl_rejections_mode_t mode) {
  hl__loop_t *L = hl__L(loop);
  if (!L || (unsigned)mode > HL_REJECTIONS_NONE)
    return HL_EINVAL;
  hl__proc_t *P = hl__proc_get(L);
  if (!P)
    return HL_ENOMEM;
  P->mode = mode;
  return 0;
}

HL_EXPORT hl_rejections_mode_t hl_process_get_unhandled_rejections(hl_loop_t *loop) {
  hl__loop_t *L = hl__L(loop);
  return L && L->proc ? L->proc->mode : HL_REJECTIONS_THROW;
}

/* ---- rejectionHandled ---------------------------------------------------------------- */

typedef struct hl__late_s {
  hl__loop_t *L;
  hl_promise_t *p;
} hl__late_t;

static void hl__late_emit(void *arg) {
  hl__late_t *t = arg;
  hl__loop_t *L = t->L;
  hl__proc_t *P = L->proc;
  if (P) {
    P->handled.emitting++;
    for (hl__lsn_t *l = P->handled.head; l; l = l->next)
      if (!l->dead)
        ((hl_rejection_handled_cb)l->fn)(t->p, l->arg);
    hl__lsn_end_emit(&P->handled);
  }
  hl_promise_release(t->p);
  hl__free(t);
}

/* A handler was attached to a promise already reported as unhandled: emit
 * rejectionHandled on a later tick (Node emits it asynchronously too). */
void hl__proc_rejection_handled(hl__loop_t *L, hl_promise_t *p) {
  hl__proc_t *P = L->proc;
  if (!P->handled.live)
    return;
  hl__late_t *t = hl__malloc(sizeof *t);
  if (!t)
    return;
  t->L = L;
  t->p = p;
  hl_promise_retain(p);
  if (hl_next_tick(L->pub, hl__late_emit, t)) {
    hl_promise_release(p);
    hl__free(t);
  }
}

/* ---- beforeExit, exit, top-level await ------------------------------------------------ */

HL_EXPORT int hl_await_top_level(hl_loop_t *loop, hl_promise_t *promise) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !promise || hl_promise_retain(promise))
    return HL_EINVAL;
  hl__proc_t *P = hl__proc_get(L);
  if (!P) {
    hl_promise_release(promise);
    return HL_ENOMEM;
  }
  if (P->n_tla == P->cap_tla) {
    uint32_t cap = P->cap_tla ? P->cap_tla * 2 : 4;
    hl_promise_t **a = hl__realloc(P->tla, cap * sizeof *a);
    if (!a) {
      hl_promise_release(promise);
      return HL_ENOMEM;
    }
    P->tla = a;
    P->cap_tla = cap;
  }
  P->tla[P->n_tla++] = promise;
  return 0;
}

int hl__proc_loop_empty(hl__loop_t *L) {
  hl__proc_t *P = L->proc;
  if (L->exiting)
    return 0;
  if (P->before_exit.live) {
    P->before_exit.emitting++;
    for (hl__lsn_t *l = P->before_exit.head; l; l = l->next)
      if (!l->dead)
        ((hl_exit_cb)l->fn)(hl__exit_code, l->arg);
    hl__lsn_end_emit(&P->before_exit);
    if (L->npending)
      hl__drain(L);
    if (uv_loop_alive(L->uv))
      return 1;
  }
  P = L->proc; /* a listener cannot free it, but reread after callbacks */
  if (!P->main)
    return 0;
  for (uint32_t i = 0; i < P->n_tla; i++) {
    if (hl_promise_state(P->tla[i]) == HL_PROMISE_PENDING) {
      fflush(stdout);
      fprintf(stderr, "Warning: Detected unsettled top-level await\n");
      fflush(stderr);
      if (!hl__exit_code_set)
        hl__exit_code = HL_EXIT_UNSETTLED_AWAIT;
      break;
    }
  }
  for (uint32_t i = 0; i < P->n_tla; i++)
    hl_promise_release(P->tla[i]);
  P->n_tla = 0;
  hl__run_exit_listeners(L, hl__exit_code);
  fflush(stdout);
  return 0;
}

/* ---- hl_process_init: argv and hookloop's options ----------------------------------- */

static char **hl__argv, **hl__exec_argv;
static int hl__argc, hl__exec_argc;
static int hl__inited;

HL_EXPORT char *const *hl_process_argv(int *argc) {
  static char *empty[1] = {NULL};
  if (argc)
    *argc = hl__argc;
  return hl__argv ? hl__argv : empty;
}

HL_EXPORT char *const *hl_process_exec_argv(int *argc) {
  static char *empty[1] = {NULL};
  if (argc)
    *argc = hl__exec_argc;
  return hl__exec_argv ? hl__exec_argv : empty;
}

static int hl__parse_mode(const char *v, hl_rejections_mode_t *out) {
  static const char *const names[] = {"throw", "strict", "warn", "warn-with-error-code", "none"};
  for (int i = 0; i < 5; i++)
    if (strcmp(v, names[i]) == 0) {
      *out = (hl_rejections_mode_t)i;
      return 0;
    }
  return -1;
}

static void hl__bad_option(const char *argv0, const char *opt) __attribute__((noreturn));
static void hl__bad_option(const char *argv0, const char *opt) {
  fflush(stdout);
  fprintf(stderr, "%s: bad option: %s\n", argv0, opt);
  fflush(stderr);
  exit(HL_EXIT_INVALID_ARGUMENT);
}

HL_EXPORT int hl_process_init(hl_loop_t *loop, int argc, char **argv) {
  hl__loop_t *L = hl__L(loop);
  if (!L || argc < 1 || !argv || !argv[0])
    return HL_EINVAL;
  if (hl__inited)
    return HL_ESTATE;
  hl__proc_t *P = hl__proc_get(L);
  if (!P)
    return HL_ENOMEM;
  char **args = uv_setup_args(argc, argv); /* a copy; argv memory may hold the title */
  char **av = hl__calloc((size_t)argc + 1, sizeof *av);
  char **ev = hl__calloc((size_t)argc + 1, sizeof *ev);
  if (!av || !ev) {
    hl__free(av);
    hl__free(ev);
    return HL_ENOMEM;
  }
  int na = 0, ne = 0, rest = 0;
  const char *title = NULL;
  hl_rejections_mode_t mode = P->mode;
  for (int i = 0; i < argc; i++) {
    char *a = args[i];
    if (i == 0 || rest || strncmp(a, "--hl-", 5) != 0) {
      if (i > 0 && !rest && strcmp(a, "--") == 0)
        rest = 1; /* kept in argv: it is the application's */
      av[na++] = a;
      continue;
    }
    ev[ne++] = a;
    const char *eq = strchr(a, '=');
    if (eq && strncmp(a, "--hl-unhandled-rejections=", 26) == 0) {
      if (hl__parse_mode(eq + 1, &mode))
        hl__bad_option(args[0], a);
    } else if (eq && strncmp(a, "--hl-title=", 11) == 0 && eq[1]) {
      title = eq + 1;
    } else {
      hl__bad_option(args[0], a);
    }
  }
  hl__argv = av;
  hl__argc = na;
  hl__exec_argv = ev;
  hl__exec_argc = ne;
  hl__inited = 1;
  P->main = 1;
  P->mode = mode;
  hl__sig_install_defaults(L);
  if (title)
    uv_set_process_title(title);
  return 0;
}

HL_EXPORT int hl_process_set_title(const char *title) {
  if (!title)
    return HL_EINVAL;
  if (!hl__inited)
    return HL_ESTATE;
  return uv_set_process_title(title);
}

HL_EXPORT int hl_process_get_title(char *buf, size_t size) {
  if (!buf || size == 0)
    return HL_EINVAL;
  if (!hl__inited)
    return HL_ESTATE;
  return uv_get_process_title(buf, size);
}
