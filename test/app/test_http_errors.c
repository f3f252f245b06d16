/* test/app/test_http_errors.c - errors raised in each lifecycle stage, over
 * real HTTP with curl: the status and body the client gets, the failing event
 * and its stage stopped with the error, the error stage traced with its
 * functions, afterResponse run; an error inside the error stage, a custom
 * error response, a rejected promise, an error in afterResponse (the response
 * already went out), and an unparsable JSON body. */
#include "trace_rec.h"
#include "http_fixture.h"

TestSuite(app_http_errors, .init = fx_setup, .fini = fx_teardown);

/* ---- the recorder of every stage and event: test/helpers/trace_rec.h ---- */
static trace_rec_t rec;

/* ---- functions ---- */
static hl_value_t ok_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}
static hl_value_t fail_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  return hl_fail(HL_EVALIDATION,
                 hl_ctx_printf(ctx, "bad %s", hl_stage_name((hl_stage_t)(intptr_t)arg)));
}
static hl_value_t handler(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("fine");
}

static void build(hl_stage_t failing) {
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  hl_route_t *r;
  if (failing == HL_STAGE_HANDLE)
    cr_assert_eq(hl_app_route(app, HL_POST, "/x", "main", fail_fn, (void *)(intptr_t)failing, &r),
                 0);
  else
    cr_assert_eq(hl_app_route(app, HL_POST, "/x", "main", handler, NULL, &r), 0);
  if (failing != HL_STAGE_HANDLE) {
    cr_assert_eq(hl_app_on(app, failing, "first", ok_fn, NULL), 0);
    cr_assert_eq(hl_app_on(app, failing, "boom", fail_fn, (void *)(intptr_t)failing), 0);
    cr_assert_eq(hl_app_on(app, failing, "never", ok_fn, NULL), 0);
  }
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "cleanup", ok_fn, NULL), 0);
  fx_listen();
}

static void post(hl_tc_proc_t *p, const char *ctype) {
  char h[128];
  snprintf(h, sizeof h, "Content-Type: %s", ctype ? ctype : "text/plain");
  curl_i(p, "/x", (char *[]){"-H", h, "--data-binary", "payload", NULL});
}

/* The trace of a request whose stage `name` failed on "boom" (its third
 * function "never" not run), then the error stage with no function. */
static void expect_failed_stage(hl_stage_t s, const char *prefix) {
  hl_tc_proc_t p;
  post(&p, NULL);
  char body[64];
  snprintf(body, sizeof body, "bad %s", hl_stage_name(s));
  cr_assert_eq(resp_status(p.in), 400, "%s", p.in);
  cr_assert_str_eq(resp_body(p.in), body);
  char want[1024];
  snprintf(want, sizeof want,
           "%s%s(3) ev:first /ev ev:boom /evEVALIDATION /EVALIDATION error(0) / "
           "afterResponse(1) ev:cleanup /ev / ",
           prefix, hl_stage_name(s));
  cr_assert_str_eq(rec.buf, want);
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_eq(rec.after_response, 1);
  hl_tc_proc_free(&p);
}

Test(app_http_errors, in_request) {
  build(HL_STAGE_REQUEST);
  expect_failed_stage(HL_STAGE_REQUEST, "");
}
Test(app_http_errors, in_parse) {
  build(HL_STAGE_PARSE);
  /* the built-in text parser is the parse stage's last function: 3 + 1 */
  hl_tc_proc_t p;
  post(&p, NULL);
  cr_assert_eq(resp_status(p.in), 400, "%s", p.in);
  cr_assert_str_eq(resp_body(p.in), "bad parse");
  cr_assert_str_eq(rec.buf, "request(0) / parse(4) ev:first /ev ev:boom /evEVALIDATION "
                            "/EVALIDATION error(0) / afterResponse(1) ev:cleanup /ev / ");
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_proc_free(&p);
}
Test(app_http_errors, in_transform) {
  build(HL_STAGE_TRANSFORM);
  expect_failed_stage(HL_STAGE_TRANSFORM, "request(0) / parse(1) ev:text /ev / ");
}
Test(app_http_errors, in_before_handle) {
  build(HL_STAGE_BEFORE_HANDLE);
  expect_failed_stage(HL_STAGE_BEFORE_HANDLE,
                      "request(0) / parse(1) ev:text /ev / transform(0) / ");
}
Test(app_http_errors, in_handle) {
  build(HL_STAGE_HANDLE);
  hl_tc_proc_t p;
  post(&p, NULL);
  cr_assert_eq(resp_status(p.in), 400, "%s", p.in);
  cr_assert_str_eq(resp_body(p.in), "bad handle");
  cr_assert_str_eq(rec.buf, "request(0) / parse(1) ev:text /ev / transform(0) / beforeHandle(0) / "
                            "handle(1) ev:main /evEVALIDATION /EVALIDATION error(0) / "
                            "afterResponse(1) ev:cleanup /ev / ");
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_proc_free(&p);
}
Test(app_http_errors, in_after_handle) {
  build(HL_STAGE_AFTER_HANDLE);
  expect_failed_stage(HL_STAGE_AFTER_HANDLE,
                      "request(0) / parse(1) ev:text /ev / transform(0) / beforeHandle(0) / "
                      "handle(1) ev:main /ev / ");
}
Test(app_http_errors, in_map_response) {
  build(HL_STAGE_MAP_RESPONSE);
  expect_failed_stage(HL_STAGE_MAP_RESPONSE,
                      "request(0) / parse(1) ev:text /ev / transform(0) / beforeHandle(0) / "
                      "handle(1) ev:main /ev / afterHandle(0) / ");
}

/* The error stage: a custom response; an error inside the error stage. */
static hl_value_t teapot(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *msg;
  int code = hl_ctx_error(ctx, &msg);
  hl_ctx_set_status(ctx, 418);
  return hl_text(hl_ctx_printf(ctx, "caught %s: %s", hl_err_name(code), msg));
}
Test(app_http_errors, error_stage_answers) {
  cr_assert_eq(hl_app_on(app, HL_STAGE_ERROR, "teapot", teapot, NULL), 0);
  build(HL_STAGE_HANDLE);
  hl_tc_proc_t p;
  post(&p, NULL);
  cr_assert_eq(resp_status(p.in), 418, "%s", p.in);
  cr_assert_str_eq(resp_body(p.in), "caught EVALIDATION: bad handle");
  cr_assert(strstr(rec.buf, "error(1) ev:teapot /ev / afterResponse(1)"), "%s", rec.buf);
  hl_tc_proc_free(&p);
}
static hl_value_t error_fails(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_fail(HL_EINTERNAL, "error handler broke");
}
Test(app_http_errors, error_inside_the_error_stage) {
  cr_assert_eq(hl_app_on(app, HL_STAGE_ERROR, "broken", error_fails, NULL), 0);
  build(HL_STAGE_BEFORE_HANDLE);
  hl_tc_proc_t p;
  post(&p, NULL);
  cr_assert_eq(resp_status(p.in), 500, "%s", p.in);
  cr_assert_str_eq(resp_body(p.in), "error handler broke");
  cr_assert(strstr(rec.buf, "error(1) ev:broken /evEINTERNAL /EINTERNAL afterResponse(1)"), "%s",
            rec.buf);
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_proc_free(&p);
}

/* A rejected promise in the handler: 500 (no code given). */
static void reject_later(void *arg) {
  cr_assert_eq(hl_promise_reject(arg, NULL, NULL), 0);
}
static hl_value_t rejects(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  hl_promise_t *pr;
  cr_assert_eq(hl_promise_new(&loop, &pr), 0);
  cr_assert_eq(hl_set_immediate(&loop, reject_later, pr, NULL), 0);
  return hl_async(pr);
}
Test(app_http_errors, rejected_promise) {
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/r", "rejects", rejects, NULL, NULL), 0);
  fx_listen();
  hl_tc_proc_t p;
  curl_i(&p, "/r", NULL);
  cr_assert_eq(resp_status(p.in), 500, "%s", p.in);
  cr_assert(strstr(rec.buf, "handle(1) ev:rejects /evEINTERNAL /EINTERNAL error(0) /"), "%s",
            rec.buf);
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_proc_free(&p);
}

/* An error in afterResponse: the 200 already went out; the stage is traced
 * with the error and nothing else happens. */
Test(app_http_errors, in_after_response) {
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/a", "main", handler, NULL, NULL), 0);
  cr_assert_eq(
      hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "boom", fail_fn, (void *)HL_STAGE_AFTER_RESPONSE), 0);
  fx_listen();
  hl_tc_proc_t p;
  curl_i(&p, "/a", NULL);
  cr_assert_eq(resp_status(p.in), 200, "%s", p.in);
  cr_assert_str_eq(resp_body(p.in), "fine");
  /* curl may exit before the server saw its last byte leave: run until the
   * afterResponse stage stopped */
  while (rec.open_stages || !rec.after_response)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert(strstr(rec.buf, "afterResponse(1) ev:boom /evEVALIDATION /EVALIDATION "), "%s",
            rec.buf);
  cr_assert_eq(strstr(rec.buf, "error("), NULL, "%s", rec.buf);
  hl_tc_proc_free(&p);
}

/* An unparsable JSON body: the built-in parser raises EPARSE, 400. */
Test(app_http_errors, unparsable_json_body) {
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_route(app, HL_POST, "/x", "main", handler, NULL, NULL), 0);
  fx_listen();
  hl_tc_proc_t p;
  post(&p, "application/json");
  cr_assert_eq(resp_status(p.in), 400, "%s", p.in);
  cr_assert(strstr(rec.buf, "parse(1) ev:json /evEPARSE /EPARSE error(0) /"), "%s", rec.buf);
  hl_tc_proc_free(&p);
}
