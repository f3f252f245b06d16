/* test/app/test_http_raw.c - the app over HTTP with raw socket clients: a
 * client that disconnects during an asynchronous handler (afterResponse still
 * runs, every trace listener stops, the abandoned promise settles later
 * harmlessly) or while its body is being read; 100 concurrent requests all in
 * flight at once, answered in reverse order, whose traces and async-local
 * stores never mix; pipelined requests on one connection; the server's body
 * limit answering 413. */
#include "core/internal.h"
#include "trace_rec.h"
#include "http_fixture.h"

TestSuite(app_http_raw, .init = fx_setup, .fini = fx_teardown);

/* ---- the recorder of every stage and event: test/helpers/trace_rec.h ---- */
static trace_rec_t rec;
static int after_ran;
static hl_value_t after_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  after_ran++;
  cr_assert_eq(hl_ctx_path(ctx), NULL); /* the transport's request is gone */
  return hl_none();
}

/* ---- a client leaves during an asynchronous handler ---- */
static hl_promise_t *pending;
static int handler_started;
static hl_value_t never_yet(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  handler_started = 1;
  cr_assert_eq(hl_promise_new(&loop, &pending), 0);
  return hl_async(pending);
}

Test(app_http_raw, client_leaves_during_async_handler) {
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/slow", "slow", never_yet, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  const char *req = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, req, strlen(req)), 0);
  hl_tc_wait(&loop, &handler_started);
  hl_tc_raw_close(&c);
  hl_tc_wait(&loop, &after_ran);
  cr_assert_str_eq(rec.buf, "request(0) / parse(0) / transform(0) / beforeHandle(0) / handle(1) "
                            "ev:slow /evECLIENTGONE /ECLIENTGONE afterResponse(1) ev:after /ev / ");
  cr_assert_eq(rec.open_stages, 0);
  cr_assert_eq(rec.open_events, 0);
  cr_assert_eq(c.len, 0, "nothing was sent: %s", c.in ? c.in : "");
  /* the request waits for its abandoned promise: the app cannot go yet */
  cr_assert_eq(hl_app_free(app), HL_EBUSY);
  cr_assert_eq(hl_promise_resolve(pending, NULL, NULL), 0);
  hl_run(&loop, HL_RUN_NOWAIT);
  cr_assert_eq(after_ran, 1);
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_raw_free(&c);
}

/* ---- a client leaves while its body is still coming ---- */
static int handled;
static hl_value_t count_handler(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  handled++;
  return hl_text("ok");
}
static int request_seen;
static hl_value_t request_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  request_seen = 1;
  return hl_none();
}

Test(app_http_raw, client_leaves_during_body) {
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "seen", request_fn, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_POST, "/up", "up", count_handler, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  const char *req = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, req, strlen(req)), 0);
  hl_tc_wait(&loop, &request_seen);
  hl_tc_raw_close(&c);
  hl_tc_wait(&loop, &after_ran);
  cr_assert_eq(handled, 0);
  cr_assert_str_eq(rec.buf, "request(1) ev:seen /ev / afterResponse(1) ev:after /ev / ");
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_raw_free(&c);
}

/* ---- 100 concurrent requests ---- */
#define N 100
typedef struct {
  uint64_t id;
  hl_ctx_t *ctx;
  char log[512];
  int open, in_after;
} treq_t;
static struct {
  char log[512];
  uint64_t id;
  int done;
} slots[N];
static hl_promise_t *held[N];
static int n_held, n_done;
static hl_als_t als;

static hl_promise_t *t_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  treq_t *t = arg;
  t->open--;
  strcat(t->log, "/ ");
  if (t->in_after) { /* the last stage: file the log under the request's parameter */
    cr_assert_eq(t->open, 0);
    const char *i = hl_ctx_param(t->ctx, "i");
    cr_assert_not_null(i);
    int k = atoi(i);
    cr_assert(k >= 0 && k < N);
    cr_assert_eq(slots[k].done, 0, "request %d traced twice", k);
    strcpy(slots[k].log, t->log);
    slots[k].id = t->id;
    slots[k].done = 1;
    n_done++;
  }
  return NULL;
}
static hl_promise_t *t_ev_stop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  treq_t *t = arg;
  strcat(t->log, "/e ");
  return NULL;
}
static void t_event(hl_trace_event_t *ev, void *arg) {
  treq_t *t = arg;
  char l[48];
  snprintf(l, sizeof l, "%s ", ev->name);
  strcat(t->log, l);
  hl_trace_event_on_stop(ev, t_ev_stop, t);
}
static void t_stage(hl_trace_stage_t *st, void *arg) {
  treq_t *t = arg;
  t->open++;
  t->in_after = st->stage == HL_STAGE_AFTER_RESPONSE;
  char l[48];
  snprintf(l, sizeof l, "%s#%llu ", st->name, (unsigned long long)t->id);
  strcat(t->log, l);
  cr_assert_eq(hl_ctx_id(t->ctx), t->id);
  hl_trace_stage_on_event(st, t_event, t);
  hl_trace_stage_on_stop(st, t_stop, t);
}
static void t_trace(hl_trace_t *tp, void *arg) {
  (void)arg;
  treq_t *t = hl_ctx_alloc(tp->ctx, sizeof *t);
  cr_assert_not_null(t);
  t->id = tp->id;
  t->ctx = tp->ctx;
  t->log[0] = '\0';
  t->open = t->in_after = 0;
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(tp, (hl_stage_t)s, t_stage, t);
}
static hl_value_t tag(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_enter_with(&als, (void *)hl_ctx_param(ctx, "i")), 0);
  return hl_none();
}
static hl_value_t park(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  hl_promise_t *p;
  cr_assert_eq(hl_promise_new(&loop, &p), 0);
  held[n_held++] = p;
  if (n_held == N) /* all in flight: settle them in reverse order */
    for (int k = N - 1; k >= 0; k--)
      cr_assert_eq(hl_promise_resolve(held[k], NULL, NULL), 0);
  (void)ctx;
  return hl_async(p);
}
static hl_value_t answer(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *i = hl_ctx_param(ctx, "i");
  /* after the promise: still this request's store */
  cr_assert_str_eq(hl_als_get_store(&als), i);
  cr_assert_eq(hl_ctx_set_header(ctx, "X-Id",
                                 hl_ctx_printf(ctx, "%llu", (unsigned long long)hl_ctx_id(ctx))),
               0);
  return hl_text(hl_ctx_printf(ctx, "r%s", i));
}

Test(app_http_raw, hundred_concurrent_requests_traces_never_mix) {
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  cr_assert_eq(hl_app_trace(app, t_trace, NULL), 0);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/r/:i", "park", park, NULL, &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "tag", tag, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "answer", answer, NULL), 0);
  fx_listen();
  static hl_tc_raw_t c[N];
  for (int i = 0; i < N; i++) {
    char req[96];
    snprintf(req, sizeof req, "GET /r/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", i);
    cr_assert_eq(hl_tc_raw_start(&loop, &c[i], port, NULL, req, strlen(req)), 0);
  }
  for (int i = 0; i < N; i++)
    hl_tc_wait(&loop, &c[i].closed);
  while (n_done < N)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(n_held, N);
  uint64_t seen_ids[N];
  for (int i = 0; i < N; i++) {
    cr_assert_eq(resp_status(c[i].in), 200, "client %d: %s", i, c[i].in ? c[i].in : "");
    char want[16], v[32];
    snprintf(want, sizeof want, "r%d", i);
    cr_assert_str_eq(resp_body(c[i].in), want);
    cr_assert_not_null(resp_header(c[i].in, "X-Id", v, sizeof v));
    cr_assert_eq(strtoull(v, NULL, 10), slots[i].id, "client %d got another request's id", i);
    unsigned long long id = slots[i].id;
    char exp[512];
    snprintf(exp, sizeof exp,
             "request#%llu / parse#%llu / transform#%llu / beforeHandle#%llu tag /e / "
             "handle#%llu park /e / afterHandle#%llu answer /e / mapResponse#%llu / "
             "afterResponse#%llu / ",
             id, id, id, id, id, id, id, id);
    cr_assert_str_eq(slots[i].log, exp, "request %d", i);
    for (int j = 0; j < i; j++)
      cr_assert_neq(seen_ids[j], slots[i].id);
    seen_ids[i] = slots[i].id;
    hl_tc_raw_free(&c[i]);
  }
}

/* ---- pipelined requests on one connection ---- */
static hl_value_t echo_path(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  return hl_text(hl_ctx_printf(ctx, "[%s]", hl_ctx_param(ctx, "*")));
}

Test(app_http_raw, pipelined_requests) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/p/*", "echo", echo_path, NULL, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /p/one HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /p/two HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /p/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK"), 3, "%s", c.in);
  const char *a = strstr(c.in, "[one]"), *b = strstr(c.in, "[two]"), *d = strstr(c.in, "[three]");
  cr_assert(a && b && d && a < b && b < d, "%s", c.in);
  hl_tc_raw_free(&c);
}

/* ---- the body limit: 413 from the HTTP layer ---- */
Test(app_http_raw, body_limit_413) {
  hl_http_limits_t lim;
  cr_assert_eq(hl_http_limits_default(&lim), 0);
  lim.max_body_bytes = 16;
  cr_assert_eq(hl_app_set_limits(app, &lim), 0);
  cr_assert_eq(hl_app_trace(app, trace_rec_all, &rec), 0);
  cr_assert_eq(hl_app_route(app, HL_POST, "/up", "up", count_handler, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  fx_listen();
  cr_assert_eq(hl_app_set_limits(app, NULL), HL_ESTATE);
  /* within the limit */
  hl_tc_raw_t c;
  raw_exchange(&c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\nConnection: close\r\n\r\n"
                   "0123456789abcdef");
  cr_assert_eq(resp_status(c.in), 200, "%s", c.in);
  cr_assert_eq(handled, 1);
  hl_tc_raw_free(&c);
  /* a declared length above it: answered before the app sees the request */
  after_ran = 0;
  rec.buf[0] = '\0';
  raw_exchange(&c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n0123456789abcdefg");
  cr_assert_eq(resp_status(c.in), 413, "%s", c.in);
  cr_assert_str_eq(rec.buf, "");
  hl_tc_raw_free(&c);
  /* a chunked body that grows past it: the app saw the request, which ends
   * as a client gone (afterResponse runs; the handler never does) */
  raw_exchange(&c, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "10\r\n0123456789abcdef\r\n5\r\nmore!\r\n0\r\n\r\n");
  cr_assert_eq(resp_status(c.in), 413, "%s", c.in);
  hl_tc_wait(&loop, &after_ran);
  cr_assert_eq(handled, 1);
  cr_assert_str_eq(rec.buf, "request(0) / afterResponse(1) ev:after /ev / ");
  cr_assert_eq(rec.open_stages + rec.open_events, 0);
  hl_tc_raw_free(&c);
}

/* ---- the parse stage begins when the body is there, not before ---- */
static uint64_t parse_begin, request_stop;
static hl_promise_t *req_stopped(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  request_stop = e->end;
  return NULL;
}
static void on_parse_or_request(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  if (st->stage == HL_STAGE_PARSE)
    parse_begin = st->begin;
  else
    hl_trace_stage_on_stop(st, req_stopped, NULL);
}
static void trace_parse(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_REQUEST, on_parse_or_request, NULL);
  hl_trace_on(t, HL_STAGE_PARSE, on_parse_or_request, NULL);
}

Test(app_http_raw, parse_stage_begins_after_the_body_arrived) {
  cr_assert_eq(hl_app_trace(app, trace_parse, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "seen", request_fn, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_POST, "/up", "up", count_handler, NULL, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  const char *head =
      "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, head, strlen(head)), 0);
  hl_tc_wait(&loop, &request_seen);
  while (request_stop == 0)
    hl_run(&loop, HL_RUN_ONCE);
  uint64_t sent = hl__clock_ns(); /* the clock the server and the trace read */
  cr_assert_eq(hl_tc_raw_send(&c, "body", 4), 0);
  hl_tc_wait(&loop, &c.closed);
  cr_assert_eq(resp_status(c.in), 200, "%s", c.in);
  cr_assert_eq(handled, 1);
  cr_assert_geq(parse_begin, sent, "the parse stage's begin predates the body");
  hl_tc_raw_free(&c);
}

/* ---- over HTTP, a traced request starts at the server's own reading ---- */
/* The server reads the clock when it has parsed the headers and calls the app
 * right then; the trace's time and the request stage's begin are that reading
 * (not a later one of the app's). A request handed over by the application
 * itself (hl_app_handle, maybe later) starts at a reading of the app's. */
static uint64_t st_time, st_req_begin, st_headers_at;
static void on_req_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  st_req_begin = st->begin;
}
static void trace_start(hl_trace_t *t, void *arg) {
  (void)arg;
  st_time = t->time;
  hl_trace_on(t, HL_STAGE_REQUEST, on_req_stage, NULL);
}
static void headers_at(const hl_http_hook_event_t *ev, void *arg) {
  (void)arg;
  st_headers_at = hl_http_req_times(ev->req)->headers;
}
static hl_value_t hi_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("hi");
}

Test(app_http_raw, traced_request_starts_at_the_servers_reading) {
  cr_assert_eq(hl_app_trace(app, trace_start, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi_fn, NULL, NULL), 0);
  cr_assert_eq(hl_http_hooks_on(&loop, HL_HTTP_HOOK_REQUEST, headers_at, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  const char *rq = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, rq, strlen(rq)), 0);
  hl_tc_wait(&loop, &c.closed);
  cr_assert_eq(resp_status(c.in), 200, "%s", c.in);
  cr_assert_gt(st_headers_at, 0);
  cr_assert_eq(st_time, st_headers_at);
  cr_assert_eq(st_req_begin, st_headers_at);
  hl_tc_raw_free(&c);
  hl_http_hooks_off(&loop, headers_at, NULL);
}

/* hl_app_handle from a callback of the application's own: the app reads the
 * clock itself when it starts the request */
static uint64_t handed_at;
static void own_request(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  handed_at = hl__clock_ns();
  st_headers_at = hl_http_req_times(req)->headers;
  cr_assert_eq(hl_app_handle(s->data, req, res), 0);
}
static int own_closed;
static void own_srv_closed(hl_http_server_t *s) {
  (void)s;
  own_closed = 1;
}

Test(app_http_raw, handed_over_request_starts_at_the_apps_reading) {
  cr_assert_eq(hl_app_trace(app, trace_start, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi_fn, NULL, NULL), 0);
  hl_http_server_t srv;
  cr_assert_eq(hl_http_server_init(&loop, &srv, own_request, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&srv, "127.0.0.1", 0, 16), 0);
  srv.data = app;
  hl_tc_raw_t c;
  const char *rq = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, hl_http_server_port(&srv), NULL, rq, strlen(rq)), 0);
  hl_tc_wait(&loop, &c.closed);
  cr_assert_eq(resp_status(c.in), 200, "%s", c.in);
  cr_assert_gt(handed_at, st_headers_at);
  cr_assert_geq(st_time, handed_at); /* read after the hand-over, not the server's */
  cr_assert_eq(st_req_begin, st_time);
  hl_tc_raw_free(&c);
  cr_assert_eq(hl_http_server_close(&srv, own_srv_closed), 0);
  hl_tc_wait(&loop, &own_closed);
}

/* ---- afterResponse: when the last byte was handed over, reported once, as a
 * finish (not a client gone), whichever way the adapter learns it: the
 * response's FINISH event while the request's body is still coming, the
 * request's close callback (the same step of the server) once it was read
 * whole ---- */
static int ar_count, ar_err[8];
static hl_promise_t *ar_stop(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  if (ar_count < 8)
    ar_err[ar_count] = e->error;
  ar_count++;
  return NULL;
}
static void ar_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  hl_trace_stage_on_stop(st, ar_stop, NULL);
}
static void trace_ar(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_AFTER_RESPONSE, ar_stage, NULL);
}

Test(app_http_raw, after_response_once_per_request_on_keep_alive_and_pipelining) {
  cr_assert_eq(hl_app_trace(app, trace_ar, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/p/*", "echo", echo_path, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_POST, "/up", "up", count_handler, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /p/one HTTP/1.1\r\nHost: x\r\n\r\n"
                   "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                   "GET /p/three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK"), 3, "%s", c.in);
  cr_assert_eq(after_ran, 3);
  cr_assert_eq(ar_count, 3);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(ar_err[i], 0, "request %d: %s", i, hl_err_name(ar_err[i]));
  hl_tc_raw_free(&c);
}

/* The app answers in the request stage, before the body came: afterResponse
 * runs once the response went out, not when the body ends. */
static hl_value_t answer_early(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  request_seen = 1;
  return hl_text("early");
}

Test(app_http_raw, after_response_before_the_body_ends_when_answered_early) {
  cr_assert_eq(hl_app_trace(app, trace_ar, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "early", answer_early, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_POST, "/up", "up", count_handler, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  const char *head = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, head, strlen(head)), 0);
  hl_tc_wait(&loop, &after_ran); /* the body is still 5 bytes short */
  cr_assert_eq(ar_count, 1);
  cr_assert_eq(ar_err[0], 0, "%s", hl_err_name(ar_err[0]));
  while (hl_tc_count(c.in ? c.in : "", "early") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  const char *rest = "56789GET /p/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(hl_tc_raw_send(&c, rest, strlen(rest)), 0);
  hl_tc_wait(&loop, &c.closed);
  cr_assert_eq(hl_tc_count(c.in, "early"), 2, "%s", c.in); /* the second one too */
  cr_assert_eq(after_ran, 2);
  cr_assert_eq(ar_count, 2);
  cr_assert_eq(ar_err[1], 0);
  cr_assert_eq(handled, 0);
  hl_tc_raw_free(&c);
}

/* ---- a body by its framing: Content-Length, chunked, none ---- */
/* A request without a Content-Length (other than 0) or Transfer-Encoding has
 * no body and is whole with its headers; the others wait for their body,
 * whatever the case of the header names. A traced bodyless request does not
 * wait: its parse stage begins at the request stage's reading. */
static hl_value_t echo_body(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  size_t n;
  const char *b = hl_ctx_body_raw(ctx, &n);
  return hl_text(hl_ctx_printf(ctx, "[%.*s]", (int)n, b));
}
static uint64_t fr_req_end[4], fr_parse_begin[4];
static int fr_n;
static hl_promise_t *fr_req_stop(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  if (fr_n < 4)
    fr_req_end[fr_n] = e->end;
  return NULL;
}
static void fr_stage(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  if (st->stage == HL_STAGE_REQUEST)
    hl_trace_stage_on_stop(st, fr_req_stop, NULL);
  else if (fr_n < 4)
    fr_parse_begin[fr_n++] = st->begin;
}
static void fr_trace(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_REQUEST, fr_stage, NULL);
  hl_trace_on(t, HL_STAGE_PARSE, fr_stage, NULL);
}

Test(app_http_raw, bodies_by_their_framing) {
  cr_assert_eq(hl_app_trace(app, fr_trace, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET | HL_POST, "/echo", "echo", echo_body, NULL, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  raw_exchange(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n0\r\n\r\n"
                   "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\nCookie: k=v\r\n"
                   "Content-Type: text/plain\r\n\r\nwxyz"
                   "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTE: trailers\r\n\r\n"
                   "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK"), 4, "%s", c.in);
  const char *a = strstr(c.in, "[abc]"), *b = strstr(c.in, "[wxyz]"), *d = strstr(c.in, "[]"),
             *e = d ? strstr(d + 2, "[]") : NULL;
  cr_assert(a && b && d && e && a < b && b < d, "%s", c.in);
  cr_assert_eq(fr_n, 4);
  /* bodyless (Content-Length: 0, none): parse begins at the request's stop */
  cr_assert_eq(fr_parse_begin[2], fr_req_end[2]);
  cr_assert_eq(fr_parse_begin[3], fr_req_end[3]);
  for (int i = 0; i < 4; i++)
    cr_assert_geq(fr_parse_begin[i], fr_req_end[i]);
  hl_tc_raw_free(&c);
}
