/* test/app/test_trace_lane.c - the traced lane (src/app/lifecycle.c, tlane):
 * a traced request goes through the stages in straight-line code while
 * nothing needs deciding and hands over to the machine at anything else. What
 * it must keep: a handler's event stops before its value becomes the
 * response; app-level then route functions of every stage, each an event; a
 * lock taken in an empty stage's on_stop (inside the lane) holds the next
 * stage; a JSON handler value (adopted by the machine) is answered; the
 * client going away inside an empty stage's listener stops that stage with
 * HL_ECLIENTGONE and runs afterResponse; a promise in the request stage hands
 * over and the rest of the request is traced as before. */
#include "trace_rec.h"
#include <criterion/criterion.h>
#include <hookloop.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "app_fixture.h"
#include "fake_app.h"

TestSuite(trace_lane, .init = app_open, .fini = app_close);

static void go(hl_fake_req_t *f) {
  cr_assert_eq(hl_fake_dispatch(app, f), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
}

static hl_value_t hi(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("Hi");
}
static hl_value_t none_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}

/* ---- the handler's event stops before its value is the response ---- */
static hl_ctx_t *seen_ctx;
static int ev_saw_kind = -1, stage_saw_kind = -1;
static hl_promise_t *h_ev_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  (void)arg;
  ev_saw_kind = (int)hl_ctx_response(seen_ctx)->kind;
  return NULL;
}
static void h_event(hl_trace_event_t *ev, void *arg) {
  hl_trace_event_on_stop(ev, h_ev_stop, arg);
}
static hl_promise_t *h_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  (void)arg;
  stage_saw_kind = (int)hl_ctx_response(seen_ctx)->kind;
  return NULL;
}
static void h_stage(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_event(st, h_event, arg);
  hl_trace_stage_on_stop(st, h_stop, arg);
}
static void trace_handle(hl_trace_t *t, void *arg) {
  seen_ctx = t->ctx;
  hl_trace_on(t, HL_STAGE_HANDLE, h_stage, arg);
}

Test(trace_lane, handler_event_stops_before_its_value_is_the_response) {
  cr_assert_eq(hl_app_trace(app, trace_handle, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_eq(ev_saw_kind, HL_VALUE_NONE);
  cr_assert_eq(stage_saw_kind, HL_VALUE_TEXT);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
}

/* ---- every stage with app-level and route functions ---- */
Test(trace_lane, app_then_route_functions_of_every_stage_are_events) {
  static trace_rec_t rec;
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "rq", none_fn, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_TRANSFORM, "t1", none_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_TRANSFORM, "t2", none_fn, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_BEFORE_HANDLE, "b1", none_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "a1", none_fn, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_MAP_RESPONSE, "m1", none_fn, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "ar", none_fn, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(rec.buf, "request(1) ev:rq /ev / parse(0) / transform(2) ev:t1 /ev ev:t2 /ev / "
                            "beforeHandle(1) ev:b1 /ev / handle(1) ev:hi /ev / afterHandle(1) "
                            "ev:a1 /ev / mapResponse(1) ev:m1 /ev / afterResponse(1) ev:ar /ev / ");
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
}

/* ---- a lock taken in an empty stage inside the lane ---- */
static hl_promise_t *lock_p;
static int lock_released, bh_ran_locked;
static void release(void *arg) {
  (void)arg;
  lock_released = 1;
  hl_promise_resolve(lock_p, NULL, NULL);
}
static hl_promise_t *lock_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  (void)arg;
  cr_assert_eq(hl_promise_new(&loop, &lock_p), 0);
  cr_assert_eq(hl_set_immediate(&loop, release, NULL, NULL), 0);
  return lock_p;
}
static void lock_stage(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_stop(st, lock_stop, arg);
}
static void trace_lock(hl_trace_t *t, void *arg) {
  hl_trace_on(t, HL_STAGE_TRANSFORM, lock_stage, arg);
}
static hl_value_t bh_check(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  bh_ran_locked = !lock_released;
  return hl_none();
}

Test(trace_lane, lock_in_an_empty_stage_holds_the_next_stage) {
  cr_assert_eq(hl_app_trace(app, trace_lock, NULL), 0);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "check", bh_check, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  cr_assert_eq(f.kind, 0); /* parked on the lock: nothing answered yet */
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(lock_released, 1);
  cr_assert_eq(bh_ran_locked, 0);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
}

/* ---- a JSON handler value (the machine adopts it) ---- */
static hl_value_t json_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_json(json_pack("{s:i}", "n", 7));
}

Test(trace_lane, json_handler_value_is_answered) {
  static trace_rec_t rec;
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "j", json_fn, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(f.body_out, "{\"n\":7}");
  cr_assert_str_eq(rec.buf, "request(0) / parse(0) / transform(0) / beforeHandle(0) / handle(1) "
                            "ev:j /ev / afterHandle(0) / mapResponse(0) / afterResponse(0) / ");
  hl_fake_free(&f);
}

/* ---- the client leaves inside an empty stage's listener ---- */
static hl_fake_req_t *closing;
static trace_rec_t close_rec;
static void close_stage(hl_trace_stage_t *st, void *arg) {
  trace_rec_stage(st, arg);
  if (st->stage == HL_STAGE_TRANSFORM)
    hl_fake_close(closing);
}
static void trace_close(hl_trace_t *t, void *arg) {
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, close_stage, arg);
}
static int handler_ran;
static hl_value_t counted(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  handler_ran++;
  return hl_text("never sent");
}

Test(trace_lane, client_gone_in_an_empty_stage_listener) {
  cr_assert_eq(hl_app_trace(app, trace_close, &close_rec), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "h", counted, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  closing = &f;
  go(&f);
  cr_assert_str_eq(close_rec.buf, "request(0) / parse(0) / transform(0) /ECLIENTGONE "
                                  "afterResponse(0) / ");
  cr_assert_eq(close_rec.open_stages, 0);
  cr_assert_eq(handler_ran, 0);
  cr_assert_eq(f.kind, 0);
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

/* ---- a promise in the request stage hands over to the machine ---- */
static hl_promise_t *req_p;
static void settle(void *arg) {
  (void)arg;
  hl_promise_resolve(req_p, NULL, NULL);
}
static hl_value_t req_async(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  cr_assert_eq(hl_promise_new(&loop, &req_p), 0);
  cr_assert_eq(hl_set_immediate(&loop, settle, NULL, NULL), 0);
  return hl_async(req_p);
}

Test(trace_lane, request_stage_promise_hands_over) {
  static trace_rec_t rec;
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "wait", req_async, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "after", none_fn, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  go(&f);
  cr_assert_str_eq(rec.buf, "request(2) ev:wait /ev ev:after /ev / parse(0) / transform(0) / "
                            "beforeHandle(0) / handle(1) ev:hi /ev / afterHandle(0) / "
                            "mapResponse(0) / afterResponse(0) / ");
  cr_assert_eq(rec.open_events, 0);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
}

/* ---- afterResponse (empty, begun and stopped at once): its on_stop's lock
 * holds the request's end ---- */
static hl_promise_t *ar_p;
static int ar_settled;
static void ar_settle(void *arg) {
  (void)arg;
  ar_settled = 1;
  hl_promise_resolve(ar_p, NULL, NULL);
}
static hl_promise_t *ar_stop(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  cr_assert_eq(e->elapsed, 0); /* one reading for its begin and stop */
  cr_assert_eq(hl_promise_new(&loop, &ar_p), 0);
  cr_assert_eq(hl_set_immediate(&loop, ar_settle, NULL, NULL), 0);
  return ar_p;
}
static void ar_stage(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_stop(st, ar_stop, arg);
}
static void trace_ar(hl_trace_t *t, void *arg) {
  hl_trace_on(t, HL_STAGE_AFTER_RESPONSE, ar_stage, arg);
}

Test(trace_lane, after_response_lock_holds_the_end) {
  cr_assert_eq(hl_app_trace(app, trace_ar, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/"};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  cr_assert_str_eq(f.body_out, "Hi");
  cr_assert_eq(f.finished, 1);
  cr_assert_eq(f.released, 0); /* afterResponse's lock */
  cr_assert_eq(hl_app_free(app), HL_EBUSY);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(ar_settled, 1);
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

/* ---- Server-Timing's function metrics for events the machine stops (a
 * promise, an error), after the lane began them ---- */
static hl_promise_t *w_p;
static void w_settle(void *arg) {
  (void)arg;
  hl_promise_resolve(w_p, NULL, NULL);
}
static hl_value_t wait_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  cr_assert_eq(hl_promise_new(&loop, &w_p), 0);
  cr_assert_eq(hl_set_immediate(&loop, w_settle, NULL, NULL), 0);
  return hl_async(w_p);
}
static hl_value_t bad_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_fail(HL_EVALIDATION, "bad");
}
static void no_trace(hl_trace_t *t, void *arg) {
  (void)t;
  (void)arg;
}
/* the metric names of a Server-Timing value, in order, joined by ' ' */
static void st_names(const char *v, char *out) {
  *out = '\0';
  while (v && *v) {
    const char *semi = strchr(v, ';');
    cr_assert_not_null(semi, "%s", v);
    strncat(out, v, (size_t)(semi - v));
    strcat(out, " ");
    v = strstr(semi, ", ");
    v = v ? v + 2 : NULL;
  }
}

Test(trace_lane, server_timing_metrics_of_events_the_machine_stops) {
  cr_assert_eq(hl_app_trace(app, no_trace, NULL), 0); /* traced, no subscription */
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_route_t *r, *r2;
  cr_assert_eq(hl_app_route(app, HL_GET, "/w", "hi", hi, NULL, &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "wait", wait_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "next", none_fn, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/b", "hi", hi, NULL, &r2), 0);
  cr_assert_eq(hl_route_on(r2, HL_STAGE_BEFORE_HANDLE, "bad", bad_fn, NULL), 0);
  char names[512];
  hl_fake_req_t f = {.path = "/w"};
  go(&f);
  cr_assert_str_eq(f.body_out, "Hi");
  st_names(hl_fake_header(&f, "server-timing"), names);
  cr_assert_str_eq(names, "request parse transform beforeHandle.wait beforeHandle.next "
                          "beforeHandle handle.hi handle afterHandle mapResponse ");
  hl_fake_free(&f);
  hl_fake_req_t b = {.path = "/b"};
  go(&b);
  cr_assert_eq(b.status, 400);
  st_names(hl_fake_header(&b, "server-timing"), names);
  cr_assert_str_eq(names, "request parse transform beforeHandle.bad beforeHandle error ");
  hl_fake_free(&b);
}

/* ---- a traced request's usual end (closed_in_ctx): the last byte reported
 * after the send, from outside the lifecycle, with no afterResponse function:
 * the empty afterResponse is begun and stopped there and the request ends
 * without a turn of run(); the same events as the machine's way (a route with
 * an afterResponse function, below), its lock still holds the end ---- */
Test(trace_lane, end_after_an_async_finish) {
  static trace_rec_t rec;
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  hl_route_t *r2;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/ar", "hi", hi, NULL, &r2), 0);
  cr_assert_eq(hl_route_on(r2, HL_STAGE_AFTER_RESPONSE, "ar", none_fn, NULL), 0);
  static const char *const lane =
      "request(0) / parse(0) / transform(0) / beforeHandle(0) / handle(1) ev:hi /ev / "
      "afterHandle(0) / mapResponse(0) / ";
  hl_fake_req_t f = {.path = "/", .finish_async = 1};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  cr_assert_eq(f.finished, 0);
  cr_assert_eq(rec.after_response, 0);
  hl_run(&loop, HL_RUN_DEFAULT);
  char want[512];
  snprintf(want, sizeof want, "%safterResponse(0) / ", lane);
  cr_assert_str_eq(rec.buf, want);
  cr_assert_eq(rec.after_response, 1);
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_eq(f.finished, 1);
  cr_assert_eq(f.released, 1);
  cr_assert_str_eq(f.body_out, "Hi");
  hl_fake_free(&f);
  /* the machine's way: the same up to afterResponse's function */
  rec.buf[0] = '\0';
  hl_fake_req_t g = {.path = "/ar", .finish_async = 1};
  cr_assert_eq(hl_fake_dispatch(app, &g), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
  snprintf(want, sizeof want, "%safterResponse(1) ev:ar /ev / ", lane);
  cr_assert_str_eq(rec.buf, want);
  cr_assert_eq(rec.after_response, 2);
  cr_assert_eq(g.released, 1);
  hl_fake_free(&g);
}

Test(trace_lane, end_after_an_async_finish_lock_holds_it) {
  cr_assert_eq(hl_app_trace(app, trace_ar, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/", .finish_async = 1};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  cr_assert_eq(f.finished, 0);
  /* the finish (an immediate), then afterResponse's lock (another) */
  hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(f.finished, 1);
  cr_assert_eq(ar_settled, 0);
  cr_assert_eq(f.released, 0);
  cr_assert_eq(hl_app_free(app), HL_EBUSY);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(ar_settled, 1);
  cr_assert_eq(f.released, 1);
  hl_fake_free(&f);
}

/* Server-Timing alone (traced, no trace function): the end has nothing to
 * report, the request is released. */
Test(trace_lane, end_after_an_async_finish_server_timing_only) {
  cr_assert_eq(hl_app_server_timing(app, 0), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  hl_fake_req_t f = {.path = "/", .finish_async = 1};
  cr_assert_eq(hl_fake_dispatch(app, &f), 0);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(f.finished, 1);
  cr_assert_eq(f.released, 1);
  cr_assert_not_null(hl_fake_header(&f, "Server-Timing"));
  hl_fake_free(&f);
}
