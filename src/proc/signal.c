/* src/proc/signal.c - signal listeners over uv_signal (one SIGNALWRAP async
 * resource per signal per loop, unref'd as in Node), the default handlers
 * (SIGINT/SIGTERM/SIGHUP exit 128 + n, SIGPIPE ignored) and hl_process_kill.
 *
 * The default handlers are plain sigaction handlers (async-signal-safe
 * _exit), so they work whether or not the loop is running. libuv installs its
 * own handler while a uv_signal watches the signal and puts SIG_DFL back when
 * the last one stops; we then put our default back.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "proc.h"

typedef struct hl__sigwrap_s {
  uv_signal_t handle;
  hl__async_t async;
  hl__loop_t *L;
  int signum;
  hl__lsnlist_t lsn;
  struct hl__sigwrap_s *next;
} hl__sigwrap_t;

static int hl__defaults_on;

static void hl__sig_default_handler(int signum) {
  _exit(HL_EXIT_SIGNAL_BASE + signum);
}

static void hl__sig_restore(int signum) {
  if (signum == SIGPIPE && hl__defaults_on) {
    signal(SIGPIPE, SIG_IGN);
  } else if (hl__defaults_on && (signum == SIGINT || signum == SIGTERM || signum == SIGHUP)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hl__sig_default_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(signum, &sa, NULL);
  }
}

static hl__sigwrap_t **hl__sig_find(hl__proc_t *P, int signum) {
  hl__sigwrap_t **pp = &P->sigs;
  while (*pp && (*pp)->signum != signum)
    pp = &(*pp)->next;
  return pp;
}

/* Signals that already have a listener on L keep libuv's handler. */
void hl__sig_install_defaults(hl__loop_t *L) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  hl__defaults_on = 1;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    hl__sigwrap_t *w = L->proc ? *hl__sig_find(L->proc, sigs[i]) : NULL;
    if (!w || w->lsn.live == 0)
      hl__sig_restore(sigs[i]);
  }
}

static void hl__sig_cb(uv_signal_t *h, int signum) {
  hl__sigwrap_t *w = hl__container_of(h, hl__sigwrap_t, handle);
  hl__loop_t *L = w->L;
  hl_async_id_t id = w->async.id;
  hl__loop_t *prev = hl__enter(L, &w->async);
  w->lsn.emitting++;
  for (hl__lsn_t *l = w->lsn.head; l; l = l->next)
    if (!l->dead)
      ((hl_signal_cb)l->fn)(signum, l->arg);
  hl__lsn_end_emit(&w->lsn); /* frees entries removed during the emit */
  hl__leave(L, id, prev);
}

static void hl__sig_free_cb(uv_handle_t *h) {
  hl__sigwrap_t *w = hl__container_of(h, hl__sigwrap_t, handle);
  hl__lsn_free(&w->lsn);
  hl__free(w);
}

static int hl__sig_check(int signum) {
  if (signum <= 0 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP)
    return HL_EINVAL;
  return 0;
}

/* Start watching: the handle is stopped while the signal has no listener
 * (kept until the loop closes, so removing the last listener leaves no
 * closing handle behind), but each listening period is its own SIGNALWRAP
 * resource (init at the first listener, destroy when the last goes). */
static int hl__sig_start(hl__loop_t *L, hl__sigwrap_t *w) {
  int r = uv_signal_start(&w->handle, hl__sig_cb, w->signum);
  if (r)
    return r;
  hl__async_init(L, &w->async, "SIGNALWRAP", HL_DEFAULT_TRIGGER, w);
  return 0;
}

HL_EXPORT int hl_process_on_signal(hl_loop_t *loop, int signum, hl_signal_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || hl__sig_check(signum))
    return HL_EINVAL;
  hl__proc_t *P = hl__proc_get(L);
  if (!P)
    return HL_ENOMEM;
  hl__sigwrap_t **pp = hl__sig_find(P, signum);
  hl__sigwrap_t *w = *pp;
  if (!w) {
    w = hl__calloc(1, sizeof *w);
    if (!w)
      return HL_ENOMEM;
    int r = uv_signal_init(L->uv, &w->handle);
    if (r) {
      hl__free(w);
      return r;
    }
    uv_unref((uv_handle_t *)&w->handle);
    w->L = L;
    w->signum = signum;
    w->next = NULL;
    *pp = w;
  }
  int r = hl__lsn_add(&w->lsn, (void (*)(void))cb, arg);
  if (r)
    return r;
  if (w->lsn.live == 1) {
    r = hl__sig_start(L, w);
    if (r) {
      hl__lsn_remove(&w->lsn, (void (*)(void))cb, arg);
      return r;
    }
  }
  return 0;
}

/* The last listener went: stop, end this SIGNALWRAP, back to the default. */
static void hl__sig_stop(hl__loop_t *L, hl__sigwrap_t *w) {
  uv_signal_stop(&w->handle);
  hl__async_end(L, &w->async, NULL, NULL);
  hl__sig_restore(w->signum);
}

HL_EXPORT int hl_process_off_signal(hl_loop_t *loop, int signum, hl_signal_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || hl__sig_check(signum))
    return HL_EINVAL;
  if (!L->proc)
    return HL_ENOENT;
  hl__sigwrap_t *w = *hl__sig_find(L->proc, signum);
  if (!w)
    return HL_ENOENT;
  int r = hl__lsn_remove(&w->lsn, (void (*)(void))cb, arg);
  if (r)
    return r;
  if (w->lsn.live == 0)
    hl__sig_stop(L, w);
  return 0;
}

HL_EXPORT int hl_process_signal_listeners(hl_loop_t *loop, int signum) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !L->proc || hl__sig_check(signum))
    return 0;
  hl__sigwrap_t *w = *hl__sig_find(L->proc, signum);
  return w ? (int)w->lsn.live : 0;
}

void hl__sig_close_all(hl__loop_t *L) {
  hl__proc_t *P = L->proc;
  while (P->sigs) {
    hl__sigwrap_t *w = P->sigs;
    P->sigs = w->next;
    if (w->lsn.live)
      hl__sig_stop(L, w);
    uv_close((uv_handle_t *)&w->handle, hl__sig_free_cb);
  }
}

HL_EXPORT int hl_process_kill(int pid, int signum) {
  if (signum < 0 || signum >= NSIG)
    return HL_EINVAL;
  return uv_kill(pid, signum);
}
