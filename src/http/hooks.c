/* src/http/hooks.c - the loop-level http-hooks subscriptions (the process
 * events httpHooks:server / :connection / :request of the npm package), the
 * clock conversion for the timestamps, and version strings.
 *
 * Subscriptions live in a small fixed thread-local table keyed by the loop (a
 * loop runs on one thread), so firing an event with nobody subscribed costs one
 * branch on a counter and nothing is allocated.
 */
#include <time.h>
#include "http_internal.h"

#define HL__HTTP_HOOKS_MAX 16

typedef struct {
  hl__loop_t *L;
  int mask;
  hl_http_hook_cb cb;
  void *arg;
} hl__http_sub_t;

static _Thread_local hl__http_sub_t subs[HL__HTTP_HOOKS_MAX];
static _Thread_local int nsubs HL__TLS_HOT;

HL_EXPORT const char *hl_http_hooks_version(void) {
  return HL_HTTP_HOOKS_VERSION;
}

HL_EXPORT const char *hl_http_llhttp_version(void) {
  return HL_LLHTTP_VERSION;
}

HL_EXPORT int hl_http_hooks_on(hl_loop_t *loop, int mask, hl_http_hook_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || mask <= 0 ||
      (mask & ~(HL_HTTP_HOOK_SERVER | HL_HTTP_HOOK_CONNECTION | HL_HTTP_HOOK_REQUEST)))
    return HL_EINVAL;
  if (nsubs == HL__HTTP_HOOKS_MAX)
    return HL_EHTTPLISTENERS;
  subs[nsubs++] = (hl__http_sub_t){L, mask, cb, arg};
  return 0;
}

HL_EXPORT int hl_http_hooks_off(hl_loop_t *loop, hl_http_hook_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  for (int i = 0; i < nsubs; i++) {
    if (subs[i].L == L && subs[i].cb == cb && subs[i].arg == arg) {
      for (int j = i + 1; j < nsubs; j++)
        subs[j - 1] = subs[j];
      nsubs--;
      return 0;
    }
  }
  return HL_ENOENT;
}

void hl__http_hooks_fire(hl__loop_t *L, hl_http_hook_event_t *ev) {
  if (HL_LIKELY(nsubs == 0))
    return;
  if (nsubs == 1) { /* one listener: nothing to snapshot (as Node's emit) */
    if (subs[0].L == L && (subs[0].mask & ev->kind))
      subs[0].cb(ev, subs[0].arg);
    return;
  }
  /* A snapshot: a listener may subscribe or unsubscribe while we iterate. */
  hl__http_sub_t copy[HL__HTTP_HOOKS_MAX];
  int n = nsubs;
  for (int i = 0; i < n; i++)
    copy[i] = subs[i];
  for (int i = 0; i < n; i++)
    if (copy[i].L == L && (copy[i].mask & ev->kind))
      copy[i].cb(ev, copy[i].arg);
}

/* hl_loop_close: the loop's subscriptions go with it (a later loop may get the
 * same address and must not inherit them). */
void hl__http_hooks_forget(hl__loop_t *L) {
  int n = 0;
  for (int i = 0; i < nsubs; i++)
    if (subs[i].L != L)
      subs[n++] = subs[i];
  nsubs = n;
}

int hl__http_hooks_any(void) {
  return nsubs;
}

HL_EXPORT double hl_http_time_epoch_ms(uint64_t mono_ns) {
  static _Thread_local int64_t offset_ns;
  static _Thread_local int have;
  if (!have) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t real = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    offset_ns = real - (int64_t)hl__clock_ns(); /* the timestamps' clock */
    have = 1;
  }
  return (double)((int64_t)mono_ns + offset_ns) / 1e6;
}
