/* test/app/test_trace.c - trace (include/hookloop/app.h): Elysia's trace page
 * examples ported to C (the handle duration from on_handle's on_stop; two
 * beforeHandle functions `setup` and an async `delay` with total 2 and each
 * event's elapsed; X-Elapsed set in on_before_handle's on_stop reaching the
 * response), the lock (an async on_stop holds the next stage), errors traced
 * on their event and stage and the error stage traced, every listener stopped
 * when the client goes away, several traces, 100 concurrent requests whose
 * traces never mix, no heap allocation per request with trace on, and
 * Server-Timing. */
#include "trace_rec.h"
#include "app/app_internal.h" /* hl__st_put_ms */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts allocation calls (not just live blocks): an allocation freed within
 * the same request still counts. Backed by libc, so it may be swapped in with
 * a loop alive. */
static long n_allocs;
static void *c_malloc(size_t n) {
  n_allocs++;
  return malloc(n);
}
static void *c_calloc(size_t c, size_t n) {
  n_allocs++;
  return calloc(c, n);
}
static void *c_realloc(void *p, size_t n) {
  n_allocs++;
  return realloc(p, n);
}
static void hl_counting_on(void) {
  n_allocs = 0;
  cr_assert_eq(hl_replace_allocator(c_malloc, c_realloc, c_calloc, free), 0);
}
static long hl_counting_live(void) {
  return n_allocs;
}
static void hl_counting_off(void) {
  hl_replace_allocator(malloc, realloc, calloc, free);
}
#include "app_fixture.h"
#include "fake_app.h"

static char log_[4096];

static void setup(void) {
  log_[0] = '\0';
  app_open();
}
TestSuite(trace, .init = setup, .fini = app_close);

static void logf_(const char *fmt, const char *a, long b) {
  char line[256];
  snprintf(line, sizeof line, fmt, a, b);
  strcat(log_, line);
}

static hl_value_t hi(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("Hi");
}

static void go(hl_fake_req_t *f) {
  cr_assert_eq(hl_fake_dispatch(app, f), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
}

/* ---- seed 1: handle took end - begin ---- */
static uint64_t handle_begin, handle_end, handle_elapsed;
static hl_promise_t *handle_stop(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  handle_end = e->end;
  handle_elapsed = e->elapsed;
  return NULL;
}
static void on_handle(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  handle_begin = st->begin;
  cr_assert_str_eq(st->name, "handle");
  cr_assert_eq(st->total, 1);
  hl_trace_stage_on_stop(st, handle_stop, NULL);
}
static void trace_handle(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_HANDLE, on_handle, NULL);
}

Test(trace, seed_handle_duration) {
  hl_app_trace(app, trace_handle, NULL);
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL);
  uint64_t t0 = uv_hrtime();
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_geq(handle_begin, t0);
  cr_assert_geq(handle_end, handle_begin);
  cr_assert_eq(handle_elapsed, handle_end - handle_begin);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
}

/* ---- seed 2: sub-events of beforeHandle (setup + async delay) ---- */
static hl_value_t setup_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}
typedef struct {
  hl_promise_t *p;
} delay_t;
static uint64_t delay_called, delay_fired; /* when delay ran, when its timer fired */
static void delay_done(void *arg) {
  delay_fired = uv_hrtime();
  hl_promise_resolve(((delay_t *)arg)->p, NULL, NULL);
}
static hl_value_t delay_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  delay_called = uv_hrtime();
  delay_t *d = hl_ctx_alloc(ctx, sizeof *d);
  cr_assert_eq(hl_promise_new(&loop, &d->p), 0);
  cr_assert_eq(hl_set_timeout(&loop, delay_done, d, 20, NULL), 0);
  return hl_async(d->p);
}
static unsigned bh_total;
static uint64_t ev_elapsed[4];
static uint64_t ev_begin[4];
static int n_ev_stop;
static hl_promise_t *sub_stop(const hl_trace_end_t *e, void *arg) {
  int i = (int)(intptr_t)arg;
  ev_elapsed[i] = e->elapsed;
  cr_assert_eq(e->end - ev_begin[i], e->elapsed);
  cr_assert_eq(e->error, 0);
  n_ev_stop++;
  logf_("stop:%s:%ld ", i ? "delay" : "setup", i);
  return NULL;
}
static void sub_event(hl_trace_event_t *ev, void *arg) {
  (void)arg;
  ev_begin[ev->index] = ev->begin;
  logf_("event:%s:%ld ", ev->name, ev->index);
  hl_trace_event_on_stop(ev, sub_stop, (void *)(intptr_t)ev->index);
}
static void on_bh(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  bh_total = st->total;
  hl_trace_stage_on_event(st, sub_event, NULL);
}
static void trace_bh(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_BEFORE_HANDLE, on_bh, NULL);
}

Test(trace, seed_sub_events_total_and_elapsed) {
  hl_app_trace(app, trace_bh, NULL);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "setup", setup_fn, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "delay", delay_fn, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_eq(bh_total, 2);
  cr_assert_eq(n_ev_stop, 2);
  cr_assert_str_eq(log_, "event:setup:0 stop:setup:0 event:delay:1 stop:delay:1 ");
  /* the delay event spans its timer: it began before delay ran and stopped
   * after the timer fired (ordering on one clock, no wall-clock guess) */
  cr_assert_leq(ev_begin[1], delay_called);
  cr_assert_geq(ev_elapsed[1], delay_fired - delay_called);
  cr_assert_gt(delay_fired, delay_called);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
}

/* ---- seed 3: X-Elapsed set in on_before_handle's on_stop ---- */
static hl_promise_t *set_elapsed(const hl_trace_end_t *e, void *arg) {
  hl_ctx_t *ctx = arg;
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)e->elapsed);
  cr_assert_eq(hl_ctx_set_header(ctx, "X-Elapsed", buf), 0);
  return NULL;
}
static void on_bh_elapsed(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_stop(st, set_elapsed, arg);
}
static void trace_elapsed(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_BEFORE_HANDLE, on_bh_elapsed, t->ctx);
}

Test(trace, seed_x_elapsed_in_response) {
  hl_app_trace(app, trace_elapsed, NULL);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "delay", delay_fn, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  const char *x = hl_fake_header(&f, "x-elapsed");
  cr_assert_not_null(x);
  cr_assert_geq(strtoull(x, NULL, 10), delay_fired - delay_called);
  cr_assert_gt(delay_fired, delay_called);
  hl_fake_free(&f);
}

/* ---- the lock: an async on_stop holds the next stage ---- */
static hl_promise_t *lock_p;
static int handler_ran_early;
static int lock_released;
static void release_lock(void *arg) {
  (void)arg;
  lock_released = 1;
  hl_promise_resolve(lock_p, NULL, NULL);
}
static hl_promise_t *async_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  hl_ctx_t *ctx = arg;
  cr_assert_eq(hl_promise_new(&loop, &lock_p), 0);
  cr_assert_eq(hl_set_timeout(&loop, release_lock, NULL, 5, NULL), 0);
  hl_ctx_set_header(ctx, "X-Lock", "held");
  return lock_p;
}
static void on_tr_lock(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_stop(st, async_stop, arg);
}
static void trace_lock(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_TRANSFORM, on_tr_lock, t->ctx);
}
static hl_value_t check_lock(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  (void)ctx;
  handler_ran_early = !lock_released;
  return hl_text("locked");
}

Test(trace, async_on_stop_holds_the_next_stage) {
  hl_app_trace(app, trace_lock, NULL);
  hl_app_route(app, HL_GET, "/", "h", check_lock, NULL, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_eq(handler_ran_early, 0);
  cr_assert_eq(lock_released, 1);
  cr_assert_str_eq(hl_fake_header(&f, "x-lock"), "held");
  hl_fake_free(&f);
}

/* ---- the recorder of every stage and event: test/helpers/trace_rec.h ---- */

static hl_value_t fail_(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_fail(HL_EVALIDATION, "nope");
}
static hl_value_t on_error(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  return hl_text(hl_ctx_printf(ctx, "handled %d", hl_ctx_error(ctx, NULL)));
}

Test(trace, error_sets_event_and_stage_error_and_error_stage_is_traced) {
  static trace_rec_t rec;
  hl_app_trace(app, trace_rec_all, &rec);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "ok", setup_fn, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "bad", fail_, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "never", setup_fn, NULL);
  hl_app_on(app, HL_STAGE_ERROR, "onError", on_error, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(rec.buf, "request(0) / parse(0) / transform(0) / beforeHandle(3) ev:ok /ev "
                            "ev:bad /evEVALIDATION /EVALIDATION error(1) ev:onError /ev / "
                            "afterResponse(0) / ");
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_eq(f.status, 400);
  hl_fake_free(&f);
}

static hl_value_t slow(hl_ctx_t *ctx, void *arg) {
  return delay_fn(ctx, arg);
}

Test(trace, client_gone_stops_every_listener) {
  static trace_rec_t rec, rec2;
  hl_app_trace(app, trace_rec_all, &rec);
  hl_app_trace(app, trace_rec_all, &rec2); /* several traces: each sees every stage */
  hl_app_route(app, HL_GET, "/", "slow", slow, NULL, NULL);
  hl_fake_req_t f = {.path = "/"};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  cr_assert_eq(rec.open_stages, 1); /* handle is waiting */
  cr_assert_eq(rec.open_events, 1);
  hl_fake_close(&f);
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_str_eq(rec.buf, "request(0) / parse(0) / transform(0) / beforeHandle(0) / "
                            "handle(1) ev:slow /evECLIENTGONE /ECLIENTGONE afterResponse(0) / ");
  cr_assert_str_eq(rec.buf, rec2.buf);
  cr_assert_eq(f.released, 1);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(rec.buf, rec2.buf); /* the late promise changes nothing */
}

/* ---- 100 concurrent requests: traces never mix ---- */
typedef struct {
  uint64_t id;
  hl_ctx_t *ctx;
  int stages, bad;
} mine_t;
static mine_t mine[101];
static hl_promise_t *mix_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  mine_t *m = arg;
  if (hl_ctx_id(m->ctx) != m->id)
    m->bad++;
  return NULL;
}
static void mix_stage(hl_trace_stage_t *st, void *arg) {
  mine_t *m = arg;
  m->stages++;
  hl_trace_stage_on_stop(st, mix_stop, m);
}
static void trace_mix(hl_trace_t *t, void *arg) {
  (void)arg;
  cr_assert_lt(t->id, 101);
  cr_assert_gt(t->time, 0);
  cr_assert_leq(t->time, uv_hrtime());
  cr_assert_eq(t->ctx, t->req);
  mine_t *m = &mine[t->id];
  cr_assert_eq(m->id, 0, "request id reused");
  m->id = t->id;
  m->ctx = t->ctx;
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, mix_stage, m);
}
static hl_value_t mix_handler(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  return hl_text(hl_ctx_printf(ctx, "%llu", (unsigned long long)hl_ctx_id(ctx)));
}

Test(trace, hundred_concurrent_requests_never_mix) {
  hl_app_trace(app, trace_mix, NULL);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "h", mix_handler, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "delay", delay_fn, NULL);
  static hl_fake_req_t f[100];
  memset(f, 0, sizeof f);
  for (int i = 0; i < 100; i++) {
    f[i].path = "/";
    f[i].finish_async = 1;
    cr_assert_eq(hl_fake_dispatch(app, &f[i]), 0);
  }
  hl_run(&loop, HL_RUN_DEFAULT);
  for (int i = 1; i <= 100; i++) {
    cr_assert_eq(mine[i].id, (uint64_t)i);
    cr_assert_eq(mine[i].stages, 8); /* every stage but error */
    cr_assert_eq(mine[i].bad, 0);
  }
  for (int i = 0; i < 100; i++) {
    char want[16];
    snprintf(want, sizeof want, "%d", i + 1);
    cr_assert_str_eq(f[i].body_out, want);
    hl_fake_free(&f[i]);
  }
}

/* ---- cost ---- */
static int trace_calls;
static void trace_count(hl_trace_t *t, void *arg) {
  (void)arg;
  trace_calls++;
  trace_rec_all(t, arg);
}

Test(trace, no_heap_allocation_per_request_with_trace_on) {
  static trace_rec_t rec;
  hl_app_trace(app, trace_count, &rec);
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "setup", setup_fn, NULL);
  hl_fake_req_t w = {.path = "/"};
  go(&w); /* warm: the request pool's first slab */
  hl_fake_free(&w);
  hl_counting_on();
  for (int i = 0; i < 50; i++) {
    rec.buf[0] = '\0';
    hl_fake_req_t f = {.path = "/"};
    cr_assert_eq(hl_fake_dispatch(app, &f), 0);
    cr_assert_str_eq(f.body_out, "Hi");
    hl_fake_free(&f);
  }
  long live = hl_counting_live();
  hl_counting_off();
  cr_assert_eq(live, 0, "allocations per request: %ld", live);
  cr_assert_eq(trace_calls, 51);
}

Test(trace, server_timing_header) {
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "set up!", setup_fn, NULL);
  hl_fake_req_t f = {.path = "/"}, nf = {.path = "/missing"};
  go(&f);
  const char *h = hl_fake_header(&f, "server-timing");
  cr_assert_not_null(h);
  const char *want[] = {
      "request;dur=",      "parse;dur=",     "transform;dur=", "beforeHandle.set_up!;dur=",
      "beforeHandle;dur=", "handle.hi;dur=", "handle;dur=",    "afterHandle;dur=",
      "mapResponse;dur="};
  const char *p = h;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const char *q = strstr(p, want[i]);
    cr_assert_not_null(q, "%s in %s", want[i], h);
    double ms = strtod(q + strlen(want[i]), NULL);
    cr_assert_geq(ms, 0.0);
    p = q;
  }
  go(&nf);
  h = hl_fake_header(&nf, "server-timing");
  cr_assert_not_null(h);
  cr_assert(strstr(h, "request;dur=") && strstr(h, "error;dur="), "%s", h);
  cr_assert_eq(nf.status, 404);
  hl_fake_free(&f);
  hl_fake_free(&nf);
}

Test(trace, argument_checks) {
  cr_assert_eq(hl_trace_on(NULL, HL_STAGE_HANDLE, trace_rec_stage, NULL), HL_EINVAL);
  cr_assert_eq(hl_trace_stage_on_stop(NULL, trace_rec_stop, NULL), HL_EINVAL);
  cr_assert_eq(hl_trace_stage_on_event(NULL, trace_rec_event, NULL), HL_EINVAL);
  cr_assert_eq(hl_trace_event_on_stop(NULL, trace_rec_stop, NULL), HL_EINVAL);
}

static hl_value_t early(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("early");
}

Test(trace, a_stage_cut_short_stops_what_began) {
  static trace_rec_t rec;
  hl_app_trace(app, trace_rec_all, &rec);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "ok", setup_fn, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "early", early, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "never", setup_fn, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(rec.buf, "request(0) / parse(0) / transform(0) / beforeHandle(3) ev:ok /ev "
                            "ev:early /ev / afterHandle(0) / mapResponse(0) / "
                            "afterResponse(0) / ");
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_str_eq(f.body_out, "early");
  hl_fake_free(&f);
}

static int traced;
static void trace_flag(hl_trace_t *t, void *arg) {
  (void)t;
  (void)arg;
  traced++;
}

Test(trace, without_trace_nothing_is_traced_or_allocated) {
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "setup", setup_fn, NULL);
  hl_fake_req_t w = {.path = "/"};
  go(&w);
  hl_fake_free(&w);
  cr_assert_null(hl_fake_header(&w, "server-timing"));
  hl_counting_on();
  for (int i = 0; i < 20; i++) {
    hl_fake_req_t f = {.path = "/"};
    cr_assert_eq(hl_fake_dispatch(app, &f), 0);
    cr_assert_str_eq(f.body_out, "Hi");
    hl_fake_free(&f);
  }
  long live = hl_counting_live();
  hl_counting_off();
  cr_assert_eq(live, 0);
  /* a trace registered later applies from the next request on */
  hl_app_trace(app, trace_flag, NULL);
  hl_fake_req_t g = {.path = "/"};
  go(&g);
  cr_assert_eq(traced, 1);
  hl_fake_free(&g);
}

/* ---- several callbacks per list (the first lives in the subscription, the
 * rest in the arena), and a registration made from inside a callback ---- */
static char multi_log[512];
static hl_promise_t *m_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  strcat(multi_log, arg);
  return NULL;
}
static hl_trace_stage_t *m_cur;
static hl_promise_t *m_stop_registering(const hl_trace_end_t *e, void *arg) {
  (void)e;
  strcat(multi_log, arg);
  /* the stage already stopped: this registration must not disturb the walk */
  hl_trace_stage_on_stop(m_cur, m_stop, "late ");
  return NULL;
}
static void m_event(hl_trace_event_t *ev, void *arg) {
  strcat(multi_log, arg);
  hl_trace_event_on_stop(ev, m_stop, "es1 ");
  hl_trace_event_on_stop(ev, m_stop, "es2 ");
}
static void m_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  m_cur = st;
  hl_trace_stage_on_event(st, m_event, "e1 ");
  hl_trace_stage_on_event(st, m_event, "e2 ");
  hl_trace_stage_on_stop(st, m_stop_registering, "s1 ");
  hl_trace_stage_on_stop(st, m_stop, "s2 ");
  hl_trace_stage_on_stop(st, m_stop, "s3 ");
}
static void m_trace(hl_trace_t *t, void *arg) {
  hl_trace_on(t, HL_STAGE_HANDLE, m_stage, arg);
}

Test(trace, several_callbacks_per_list_in_order) {
  hl_app_trace(app, m_trace, NULL);
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(multi_log, "e1 e2 es1 es2 es1 es2 s1 s2 s3 ");
  hl_fake_free(&f);
}

/* ---- the first callback of each kind is a slot in the stage's or event's
 * record, the rest a list made on demand: per event, each event's own
 * callbacks only (one registered from an on_stop of an event that is
 * stopping is not called, then or at the next event); the exported functions
 * behave as app.h's inline paths ---- */
static hl_trace_event_t *pe_ev;
static int pe_late_rc = -1;
static hl_promise_t *pe_stop_registering(const hl_trace_end_t *e, void *arg) {
  (void)e;
  strcat(multi_log, arg);
  pe_late_rc = hl_trace_event_on_stop(pe_ev, m_stop, "LATE "); /* accepted, never called */
  return NULL;
}
static void pe_event(hl_trace_event_t *ev, void *arg) {
  (void)arg;
  strcat(multi_log, ev->name);
  strcat(multi_log, ": ");
  pe_ev = ev;
  /* the function itself, not app.h's inline path: the same slot, then list */
  int (*reg)(hl_trace_event_t *, hl_trace_stop_fn, void *) = &hl_trace_event_on_stop;
  cr_assert_eq(reg(ev, m_stop, "es1 "), 0);
  cr_assert_eq(hl_trace_event_on_stop(ev, pe_stop_registering, "es2 "), 0);
  cr_assert_eq(reg(ev, m_stop, "es3 "), 0);
}
static void pe_event2(hl_trace_event_t *ev, void *arg) {
  (void)ev;
  strcat(multi_log, arg);
}
static void pe_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  int (*on_event)(hl_trace_stage_t *, hl_trace_event_fn, void *) = &hl_trace_stage_on_event;
  int (*on_stop)(hl_trace_stage_t *, hl_trace_stop_fn, void *) = &hl_trace_stage_on_stop;
  cr_assert_eq(on_event(st, pe_event, NULL), 0);
  cr_assert_eq(hl_trace_stage_on_event(st, pe_event2, "e2 "), 0);
  cr_assert_eq(hl_trace_stage_on_stop(st, m_stop, "s1 "), 0);
  cr_assert_eq(on_stop(st, m_stop, "s2 "), 0);
  cr_assert_eq(on_event(NULL, pe_event, NULL), HL_EINVAL);
  cr_assert_eq(on_stop(st, NULL, NULL), HL_EINVAL);
}
static void pe_trace(hl_trace_t *t, void *arg) {
  hl_trace_on(t, HL_STAGE_BEFORE_HANDLE, pe_stage, arg);
}
static hl_value_t pe_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}

Test(trace, each_event_has_its_own_callbacks) {
  hl_app_trace(app, pe_trace, NULL);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "a", pe_fn, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "b", pe_fn, NULL);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "c", pe_fn, NULL);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(f.body_out, "Hi");
  cr_assert_eq(pe_late_rc, 0);
  cr_assert_str_eq(multi_log, "a: e2 es1 es2 es3 b: e2 es1 es2 es3 c: e2 es1 es2 es3 s1 s2 ");
  hl_fake_free(&f);
}

/* ---- one clock reading per gap: trace points between which only trace
 * machinery ran share a reading (the trace parameter's time and the request
 * stage's begin; an empty stage's begin and stop; a stop and the next begin);
 * an application function, or a wait, always separates two readings ---- */
typedef struct {
  uint64_t time; /* the trace parameter's */
  uint64_t begin[HL_STAGE_COUNT], end[HL_STAGE_COUNT];
  uint64_t ev_begin[4], ev_end[4];
  int nev;
} clk_t;
static clk_t clk;
static hl_promise_t *clk_stage_stop(const hl_trace_end_t *e, void *arg) {
  clk.end[(intptr_t)arg] = e->end;
  cr_assert_eq(e->elapsed, e->end - clk.begin[(intptr_t)arg]);
  return NULL;
}
static hl_promise_t *clk_ev_stop(const hl_trace_end_t *e, void *arg) {
  clk.ev_end[(intptr_t)arg] = e->end;
  return NULL;
}
static void clk_event(hl_trace_event_t *ev, void *arg) {
  (void)arg;
  clk.ev_begin[clk.nev] = ev->begin;
  hl_trace_event_on_stop(ev, clk_ev_stop, (void *)(intptr_t)clk.nev);
  clk.nev++;
}
static void clk_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  clk.begin[st->stage] = st->begin;
  hl_trace_stage_on_event(st, clk_event, NULL);
  hl_trace_stage_on_stop(st, clk_stage_stop, (void *)(intptr_t)st->stage);
}
static void clk_trace(hl_trace_t *t, void *arg) {
  (void)arg;
  clk.time = t->time;
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, clk_stage, NULL);
}
static uint64_t spin_until; /* a function that surely takes time on the clock */
static hl_value_t spin_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  uint64_t t0 = uv_hrtime();
  while (uv_hrtime() == t0)
    ;
  spin_until = uv_hrtime();
  return hl_none();
}

Test(trace, adjacent_trace_points_share_one_clock_reading) {
  hl_app_trace(app, clk_trace, NULL);
  hl_route_t *r;
  hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r);
  hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "spin", spin_fn, NULL);
  hl_fake_req_t f = {.path = "/", .finish_async = 1};
  go(&f);
  cr_assert_str_eq(f.body_out, "Hi");
  /* the trace's time is the request stage's begin; nothing ran in the
   * (empty) request stage, so it stops at that same reading */
  cr_assert_gt(clk.time, 0);
  cr_assert_eq(clk.begin[HL_STAGE_REQUEST], clk.time);
  cr_assert_eq(clk.end[HL_STAGE_REQUEST], clk.time);
  /* the body was there at once (read_body answered from inside): no wait,
   * so parse begins at the request stage's reading too; parse (no body) and
   * transform are empty: one reading for both and for beforeHandle's begin
   * and its first event's begin */
  cr_assert_eq(clk.begin[HL_STAGE_PARSE], clk.end[HL_STAGE_REQUEST]);
  cr_assert_eq(clk.end[HL_STAGE_PARSE], clk.begin[HL_STAGE_PARSE]);
  cr_assert_eq(clk.begin[HL_STAGE_TRANSFORM], clk.end[HL_STAGE_PARSE]);
  cr_assert_eq(clk.end[HL_STAGE_TRANSFORM], clk.begin[HL_STAGE_TRANSFORM]);
  cr_assert_eq(clk.begin[HL_STAGE_BEFORE_HANDLE], clk.end[HL_STAGE_TRANSFORM]);
  cr_assert_eq(clk.nev, 2); /* spin, then the handler */
  cr_assert_eq(clk.ev_begin[0], clk.begin[HL_STAGE_BEFORE_HANDLE]);
  /* a function ran: a new reading after it, shared by its event's stop, the
   * stage's stop and the next stage's begin */
  cr_assert_geq(clk.ev_end[0], spin_until);
  cr_assert_gt(clk.ev_end[0], clk.ev_begin[0]);
  cr_assert_eq(clk.end[HL_STAGE_BEFORE_HANDLE], clk.ev_end[0]);
  cr_assert_eq(clk.begin[HL_STAGE_HANDLE], clk.ev_end[0]);
  cr_assert_eq(clk.ev_begin[1], clk.begin[HL_STAGE_HANDLE]);
  cr_assert_geq(clk.ev_end[1], clk.ev_begin[1]);
  cr_assert_eq(clk.end[HL_STAGE_HANDLE], clk.ev_end[1]);
  cr_assert_eq(clk.begin[HL_STAGE_AFTER_HANDLE], clk.end[HL_STAGE_HANDLE]);
  cr_assert_eq(clk.end[HL_STAGE_MAP_RESPONSE], clk.end[HL_STAGE_HANDLE]);
  /* the transport finished later (an immediate): afterResponse begins with a
   * new reading, and stops at it (no function) */
  cr_assert_geq(clk.begin[HL_STAGE_AFTER_RESPONSE], clk.end[HL_STAGE_MAP_RESPONSE]);
  cr_assert_eq(clk.end[HL_STAGE_AFTER_RESPONSE], clk.begin[HL_STAGE_AFTER_RESPONSE]);
  hl_fake_free(&f);
}

/* ---- Server-Timing, exactly: the header's text is the metrics in the order
 * their trace points stopped (a function's before its stage's), each
 * duration the elapsed time the trace listeners were given, in milliseconds
 * with three decimals; a function's metric name is "<stage>.<name>" with the
 * name's non-token characters as '_'; afterResponse is never in it; at most
 * 40 metrics. Read in the mapResponse (and error) stage's own on_stop, where
 * the header is already set. ---- */
typedef struct {
  hl_ctx_t *ctx;
  char want[8192];
  int n;           /* metrics expected so far */
  int checked;     /* stage stops where the header was compared */
  const char *ev;  /* the running function's name */
  const char *stg; /* its stage's name */
} stx_t;
static stx_t stx;

static int st_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}
static void stx_add(const char *stage, const char *fn, uint64_t ns) {
  if (stx.n >= 40)
    return;
  char *w = stx.want + strlen(stx.want);
  if (stx.n++)
    w += sprintf(w, ", ");
  w += sprintf(w, "%s", stage);
  if (fn) {
    *w++ = '.';
    for (const char *p = fn; *p; p++)
      *w++ = st_tchar(*p) ? *p : '_';
  }
  sprintf(w, ";dur=%llu.%03u", (unsigned long long)(ns / 1000000), (unsigned)(ns / 1000 % 1000));
}
static hl_promise_t *stx_ev_stop(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  if (strcmp(stx.stg, "afterResponse") != 0)
    stx_add(stx.stg, stx.ev, e->elapsed);
  return NULL;
}
static hl_promise_t *stx_stop(const hl_trace_end_t *e, void *arg) {
  const char *stage = arg;
  if (strcmp(stage, "afterResponse") == 0)
    return NULL;
  stx_add(stage, NULL, e->elapsed);
  if (strcmp(stage, "mapResponse") == 0 || strcmp(stage, "error") == 0) {
    const char *h = hl_ctx_get_header(stx.ctx, "server-timing");
    cr_assert_not_null(h);
    cr_assert_str_eq(h, stx.want);
    stx.checked++;
  }
  return NULL;
}
static void stx_event(hl_trace_event_t *ev, void *arg) {
  stx.ev = ev->name;
  stx.stg = arg;
  hl_trace_event_on_stop(ev, stx_ev_stop, NULL);
}
static void stx_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  hl_trace_stage_on_event(st, stx_event, (void *)st->name);
  hl_trace_stage_on_stop(st, stx_stop, (void *)st->name);
}
static void stx_trace(hl_trace_t *t, void *arg) {
  (void)arg;
  stx.ctx = t->ctx;
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, stx_stage, NULL);
}
static hl_value_t missing_file(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_file("/nonexistent/hookloop-test-file", NULL);
}

Test(trace, server_timing_text_is_exactly_the_traced_durations) {
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_app_trace(app, stx_trace, NULL);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "set up!", setup_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "spin", spin_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "a fter", setup_fn, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_MAP_RESPONSE, NULL, setup_fn, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(f.body_out, "Hi");
  cr_assert_eq(stx.checked, 1);
  cr_assert_eq(stx.n, 12);
  cr_assert(strstr(stx.want, "beforeHandle.set_up!;dur=") &&
                strstr(stx.want, "afterHandle.a_fter;dur=") &&
                strstr(stx.want, "mapResponse.anonymous;dur="),
            "%s", stx.want);
  /* empty stages begin and stop at one shared reading: "0.000" (the
   * whole-metric copy of a sub-microsecond stage) */
  cr_assert(strstr(stx.want, "request;dur=0.000, parse;dur=0.000, transform;dur=0.000, "), "%s",
            stx.want);
  /* what was sent (the fake keeps the first 255 bytes of a header) */
  const char *sent = hl_fake_header(&f, "server-timing");
  cr_assert(sent && strlen(sent) >= 200 && strncmp(sent, stx.want, strlen(sent)) == 0, "%s", sent);
  hl_fake_free(&f);

  /* no route: request, then error */
  memset(&stx, 0, sizeof stx);
  hl_fake_req_t nf = {.path = "/missing"};
  go(&nf);
  cr_assert_eq(nf.status, 404);
  cr_assert_eq(stx.checked, 1);
  cr_assert_eq(stx.n, 2);
  cr_assert_str_eq(hl_fake_header(&nf, "server-timing"), stx.want);
  hl_fake_free(&nf);
}

Test(trace, server_timing_after_a_failed_send_keeps_every_metric) {
  /* mapResponse stops (the header is written), the file cannot be opened,
   * the error stage runs and its metric is appended */
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_app_trace(app, stx_trace, NULL);
  cr_assert_eq(hl_app_route(app, HL_GET, "/f", "file", missing_file, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/f"};
  go(&f);
  cr_assert_eq(f.status, 404);
  cr_assert_eq(stx.checked, 2);
  cr_assert(strstr(stx.want, "mapResponse;dur=") && strstr(stx.want, ", error;dur="), "%s",
            stx.want);
  cr_assert_str_eq(hl_fake_header(&f, "server-timing"), stx.want);
  hl_fake_free(&f);
}

Test(trace, server_timing_holds_at_most_40_metrics) {
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_app_trace(app, stx_trace, NULL);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r), 0);
  for (int i = 0; i < 45; i++) {
    char name[32];
    snprintf(name, sizeof name, "a rather long function name %d", i);
    cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, name, setup_fn, NULL), 0);
  }
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(f.body_out, "Hi");
  cr_assert_eq(stx.checked, 1);
  cr_assert_eq(stx.n, 40);
  cr_assert(strstr(stx.want, "beforeHandle.a_rather_long_function_name_36;dur=") &&
                !strstr(stx.want, "name_37"),
            "%s", stx.want);
  hl_fake_free(&f);
}

/* ---- Server-Timing's number: milliseconds, three decimals, truncated, at
 * every boundary of the formatter's paths (under 10 ms; 10 ms and more) ---- */
Test(trace, server_timing_duration_format) {
  const uint64_t cases[] = {0,         1,           999,           1000,           1999,
                            99999,     100000,      999999,        1000000,        1234567,
                            9999999,   10000000,    10000999,      12345678,       99999999,
                            100000000, 4294967295u, 4294967296ull, 60000000000ull, UINT64_MAX};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char got[32], want[48];
    char *e = hl__st_put_ms(got, cases[i]);
    cr_assert_leq((size_t)(e - got), 24);
    *e = '\0';
    snprintf(want, sizeof want, "%llu.%03u", (unsigned long long)(cases[i] / 1000000),
             (unsigned)(cases[i] / 1000 % 1000));
    cr_assert_str_eq(got, want, "%llu ns", (unsigned long long)cases[i]);
  }
}

/* ---- an empty stage of a traced request (reported without a turn of the
 * machine): the client going away from inside its listener or its on_stop
 * still ends it as anywhere else ---- */
static hl_fake_req_t *gone_f;
static int gone_handler_ran;
static hl_promise_t *gone_in_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  (void)arg;
  hl_fake_close(gone_f);
  return NULL;
}
static void gone_in_listener(hl_trace_stage_t *st, void *arg) {
  if (arg)
    hl_trace_stage_on_stop(st, gone_in_stop, NULL);
  else
    hl_fake_close(gone_f);
}
static void trace_gone(hl_trace_t *t, void *arg) {
  hl_trace_on(t, HL_STAGE_TRANSFORM, gone_in_listener, arg);
}
static hl_value_t gone_handler(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  gone_handler_ran = 1;
  return hl_text("never");
}
static void client_gone_in_empty_stage(int in_stop, const char *want) {
  static trace_rec_t rec;
  memset(&rec, 0, sizeof rec);
  gone_handler_ran = 0;
  hl_app_trace(app, trace_rec_all, &rec);
  hl_app_trace(app, trace_gone, in_stop ? (void *)1 : NULL);
  hl_app_route(app, HL_GET, "/", "h", gone_handler, NULL, NULL);
  hl_fake_req_t f = {.path = "/"};
  gone_f = &f;
  go(&f);
  cr_assert_str_eq(rec.buf, want);
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_eq(gone_handler_ran, 0);
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

Test(trace, client_gone_in_an_empty_stage_listener) {
  client_gone_in_empty_stage(
      0, "request(0) / parse(0) / transform(0) /ECLIENTGONE afterResponse(0) / ");
}

Test(trace, client_gone_in_an_empty_stage_on_stop) {
  client_gone_in_empty_stage(1, "request(0) / parse(0) / transform(0) / afterResponse(0) / ");
}

/* ---- Server-Timing's text grows past its inline buffer and the request's
 * inline arena: a metric of a 9000-character name, between short ones (read
 * with hl_ctx_get_header from afterResponse: the fake transport keeps 255
 * bytes of a header) ---- */
static char st_big[10000];
static void st_big_listener(hl_trace_stage_t *st, void *arg) {
  (void)st;
  const char *h = hl_ctx_get_header(arg, "Server-Timing");
  snprintf(st_big, sizeof st_big, "%s", h ? h : "(none)");
}
static void st_big_trace(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_AFTER_RESPONSE, st_big_listener, t->ctx);
}
Test(trace, server_timing_a_metric_longer_than_the_arena) {
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  cr_assert_eq(hl_app_trace(app, st_big_trace, NULL), 0);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r), 0);
  static char longname[9001];
  memset(longname, 'n', sizeof longname - 1);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "a", setup_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, longname, setup_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "b", setup_fn, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  const char *h = st_big;
  cr_assert_eq(strncmp(h, "request;dur=", 12), 0, "%.40s", h);
  cr_assert_eq(strncmp(hl_fake_header(&f, "server-timing"), h, 255), 0);
  const char *a = strstr(h, ", beforeHandle.a;dur="), *b = strstr(h, ", beforeHandle.b;dur=");
  const char *l = strstr(h, ", beforeHandle.nnnnnnnn");
  cr_assert(a && l && b && a < l && l < b, "%.300s", h);
  cr_assert_eq(strspn(l + 15, "n"), 9000);
  cr_assert_eq(strncmp(l + 15 + 9000, ";dur=", 5), 0);
  cr_assert(strstr(h, ", mapResponse;dur=") != NULL);
  hl_fake_free(&f);
}
