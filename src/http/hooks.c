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

_Thread_local hl__http_sub_t hl__http_subs[HL__HTTP_HOOKS_MAX];
_Thread_local int hl__http_nsubs HL__TLS_HOT;

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
  if (hl__http_nsubs == HL__HTTP_HOOKS_MAX)
    return HL_EHTTPLISTENERS;
  hl__http_subs[hl__http_nsubs++] = (hl__http_sub_t){L, mask, cb, arg};
  return 0;
}

HL_EXPORT int hl_http_hooks_off(hl_loop_t *loop, hl_http_hook_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  for (int i = 0; i < hl__http_nsubs; i++) {
    if (hl__http_subs[i].L == L && hl__http_subs[i].cb == cb && hl__http_subs[i].arg == arg) {
      for (int j = i + 1; j < hl__http_nsubs; j++)
        hl__http_subs[j - 1] = hl__http_subs[j];
      hl__http_nsubs--;
      return 0;
    }
  }
  return HL_ENOENT;
}

/* Several listeners (hl__http_hooks_fire has one inline): from a snapshot,
 * as a listener may subscribe or unsubscribe while we iterate. */
void hl__http_hooks_fire_many(hl__loop_t *L, hl_http_hook_event_t *ev) {
  hl__http_sub_t copy[HL__HTTP_HOOKS_MAX];
  int n = hl__http_nsubs;
  for (int i = 0; i < n; i++)
    copy[i] = hl__http_subs[i];
  for (int i = 0; i < n; i++)
    if (copy[i].L == L && (copy[i].mask & ev->kind))
      copy[i].cb(ev, copy[i].arg);
}

/* hl_loop_close: the loop's subscriptions go with it (a later loop may get the
 * same address and must not inherit them). */
void hl__http_hooks_forget(hl__loop_t *L) {
  int n = 0;
  for (int i = 0; i < hl__http_nsubs; i++)
    if (hl__http_subs[i].L != L)
      hl__http_subs[n++] = hl__http_subs[i];
  hl__http_nsubs = n;
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
