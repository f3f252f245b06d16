/* test/app/test_oom.c - out of memory in the app layer: an allocator that
 * fails the n-th allocation (and, in a second pass, every one from the n-th
 * on), for every n the scenario reaches. Every call must succeed or return
 * HL_ENOMEM, every dispatched request must end (released, answered or not),
 * and nothing may stay allocated once the loop is closed. jansson allocates
 * with its own allocator and is not counted. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "fake_app.h"

static long live, attempts, fail_at;
static int persistent;
static int fail_now(void) {
  attempts++;
  return fail_at > 0 && (attempts == fail_at || (persistent && attempts > fail_at));
}
static void *f_malloc(size_t n) {
  if (fail_now())
    return NULL;
  void *p = malloc(n);
  live += p != NULL;
  return p;
}
static void *f_calloc(size_t c, size_t n) {
  if (fail_now())
    return NULL;
  void *p = calloc(c, n);
  live += p != NULL;
  return p;
}
static void *f_realloc(void *o, size_t n) {
  if (fail_now())
    return NULL;
  void *p = realloc(o, n);
  live += p != NULL && o == NULL;
  return p;
}
static void f_free(void *p) {
  live -= p != NULL;
  free(p);
}

static int ok(int rc) {
  return rc == 0 || rc == HL_ENOMEM;
}

static hl_value_t big(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  char *p = hl_ctx_alloc(ctx, 20000); /* past the inline block: a chunk */
  if (p == NULL)
    return hl_fail(HL_ENOMEM, NULL);
  memset(p, 'x', 19999);
  p[19999] = '\0';
  return hl_text(p);
}
static hl_value_t js(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_json((struct json_t *)json_pack("{s:i}", "a", 1));
}
static hl_value_t nop(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}
static hl_promise_t *stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  (void)arg;
  return NULL;
}
static void ev(hl_trace_event_t *e, void *arg) {
  hl_trace_event_on_stop(e, stop, arg);
}
static void stage(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_event(st, ev, arg);
  hl_trace_stage_on_stop(st, stop, arg);
}
static void tr(hl_trace_t *t, void *arg) {
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, stage, arg);
}

/* One run; returns 1 if an allocation was failed in it. */
static int scenario(long n, int pers) {
  live = attempts = 0;
  fail_at = n;
  persistent = pers;
  cr_assert_eq(hl_replace_allocator(f_malloc, f_realloc, f_calloc, f_free), 0);
  hl_loop_t loop;
  int rc = hl_loop_init(&loop);
  cr_assert(ok(rc), "loop init %d", rc);
  if (rc == 0) {
    hl_app_t *app = NULL;
    rc = hl_app_new(&loop, &app);
    cr_assert(ok(rc));
    if (rc == 0) {
      hl_route_t *r = NULL;
      cr_assert(ok(hl_app_route(app, HL_GET, "/big/:x?", "big", big, NULL, &r)));
      cr_assert(ok(hl_app_route(app, HL_POST, "/js", "js", js, NULL, NULL)));
      if (r) {
        cr_assert(ok(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "nop", nop, NULL)));
        /* a metric longer than the request's inline arena: Server-Timing's
         * text grows into a heap chunk, which may fail */
        static char longname[9001];
        memset(longname, 'n', sizeof longname - 1);
        cr_assert(ok(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, longname, nop, NULL)));
      }
      cr_assert(ok(hl_app_on(app, HL_STAGE_TRANSFORM, "nop", nop, NULL)));
      cr_assert(ok(hl_app_trace(app, tr, NULL)));
      cr_assert(ok(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS)));
      hl_fake_req_t a = {.path = "/big/1"}, b = {.method = "POST",
                                                 .path = "/js",
                                                 .body = "{\"x\":1}",
                                                 .body_len = 7,
                                                 .hdrs = {{"Content-Type", "application/json"}},
                                                 .nh = 1};
      int ra = hl_fake_dispatch(app, &a), rb = hl_fake_dispatch(app, &b);
      cr_assert(ok(ra) && ok(rb), "%d %d", ra, rb);
      hl_run(&loop, HL_RUN_DEFAULT);
      if (ra == 0)
        cr_assert_eq(a.released, 1);
      if (rb == 0)
        cr_assert_eq(b.released, 1);
      hl_fake_free(&a);
      hl_fake_free(&b);
      cr_assert_eq(hl_app_free(app), 0);
    }
    hl_run(&loop, HL_RUN_DEFAULT);
    cr_assert_eq(hl_loop_close(&loop), 0);
  }
  int injected = fail_at > 0 && attempts >= fail_at;
  hl_replace_allocator(malloc, realloc, calloc, free);
  cr_assert_eq(live, 0, "fail_at %ld%s: %ld blocks left", n, pers ? "+" : "", live);
  return injected;
}

Test(oom, every_allocation_may_fail) {
  scenario(0, 0); /* the clean run */
  long n;
  for (n = 1; scenario(n, 0); n++)
    ;
  cr_assert_gt(n, 20, "the scenario allocates");
  for (long m = 1; scenario(m, 1); m++)
    ;
}
