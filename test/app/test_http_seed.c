/* test/app/test_http_seed.c - the app over real HTTP with curl as the client
 * (a child process; the loop is driven until it exits): the seed examples of
 * Elysia's trace page (the handle duration from on_handle's on_stop; `/` with
 * two beforeHandle functions `setup` and an async `delay`, total 2 and each
 * event's elapsed; X-Elapsed set in on_before_handle's on_stop seen in curl's
 * response headers), a JSON route with a parameter, 404 and 405 with Allow,
 * Server-Timing present and well-formed, a JSON body parsed, HEAD, and the
 * lifecycle running in the request's HTTPINCOMINGMESSAGE context. */
#include <ctype.h>
#include <jansson.h>
#include "http_fixture.h"

TestSuite(app_http_seed, .init = fx_setup, .fini = fx_teardown);

static hl_value_t hi(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("Hi");
}

/* ---- seed 1: the handle duration from on_handle's on_stop ---- */
static uint64_t handle_begin, handle_end, handle_elapsed;
static int handle_stops;
static hl_promise_t *handle_stop(const hl_trace_end_t *e, void *arg) {
  (void)arg;
  handle_end = e->end;
  handle_elapsed = e->elapsed;
  handle_stops++;
  return NULL;
}
static void on_handle(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  cr_assert_str_eq(st->name, "handle");
  handle_begin = st->begin;
  hl_trace_stage_on_stop(st, handle_stop, NULL);
}
static void trace_handle(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_HANDLE, on_handle, NULL);
}

Test(app_http_seed, handle_duration_from_on_stop) {
  cr_assert_eq(hl_app_trace(app, trace_handle, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, NULL), 0);
  fx_listen();
  uint64_t t0 = uv_hrtime();
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){(char *)url_of(url, sizeof url, "/"), NULL});
  uint64_t t1 = uv_hrtime();
  cr_assert_str_eq(p.in, "Hi");
  cr_assert_eq(handle_stops, 1);
  cr_assert_geq(handle_begin, t0);
  cr_assert_leq(handle_end, t1);
  cr_assert_geq(handle_end, handle_begin);
  cr_assert_eq(handle_elapsed, handle_end - handle_begin);
  hl_tc_proc_free(&p);
}

/* ---- seed 2: two beforeHandle functions, `setup` and an async `delay` ---- */
static hl_value_t setup_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}
typedef struct {
  hl_promise_t *p;
} delay_t;
static uint64_t delay_called, delay_fired;
static void delay_done(void *arg) {
  delay_fired = uv_hrtime();
  cr_assert_eq(hl_promise_resolve(((delay_t *)arg)->p, NULL, NULL), 0);
}
/* A promise resolved from a timer (Elysia's `await sleep()`). */
static hl_value_t delay_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  delay_called = uv_hrtime();
  delay_t *d = hl_ctx_alloc(ctx, sizeof *d);
  cr_assert_not_null(d);
  cr_assert_eq(hl_promise_new(&loop, &d->p), 0);
  cr_assert_eq(hl_set_timeout(&loop, delay_done, d, 10, NULL), 0);
  return hl_async(d->p);
}

static unsigned bh_total;
static char ev_log[256];
static uint64_t ev_begin[2], ev_elapsed[2], ev_end[2];
static hl_promise_t *sub_stop(const hl_trace_end_t *e, void *arg) {
  int i = (int)(intptr_t)arg;
  ev_elapsed[i] = e->elapsed;
  ev_end[i] = e->end;
  cr_assert_eq(e->error, 0);
  char l[32];
  snprintf(l, sizeof l, "stop:%d ", i);
  strcat(ev_log, l);
  return NULL;
}
static void sub_event(hl_trace_event_t *ev, void *arg) {
  (void)arg;
  cr_assert_lt(ev->index, 2);
  ev_begin[ev->index] = ev->begin;
  char l[64];
  snprintf(l, sizeof l, "%s:%u ", ev->name, ev->index);
  strcat(ev_log, l);
  hl_trace_event_on_stop(ev, sub_stop, (void *)(intptr_t)ev->index);
}
static void on_bh_total(hl_trace_stage_t *st, void *arg) {
  (void)arg;
  bh_total = st->total;
  hl_trace_stage_on_event(st, sub_event, NULL);
}
static void trace_sub(hl_trace_t *t, void *arg) {
  (void)arg;
  hl_trace_on(t, HL_STAGE_BEFORE_HANDLE, on_bh_total, NULL);
}

static void route_setup_delay(void) {
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hi", hi, NULL, &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "setup", setup_fn, NULL), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "delay", delay_fn, NULL), 0);
}

Test(app_http_seed, before_handle_total_2_and_each_event_elapsed) {
  cr_assert_eq(hl_app_trace(app, trace_sub, NULL), 0);
  route_setup_delay();
  fx_listen();
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){(char *)url_of(url, sizeof url, "/"), NULL});
  cr_assert_str_eq(p.in, "Hi");
  cr_assert_eq(bh_total, 2);
  cr_assert_str_eq(ev_log, "setup:0 stop:0 delay:1 stop:1 ");
  cr_assert_eq(ev_elapsed[0], ev_end[0] - ev_begin[0]);
  cr_assert_eq(ev_elapsed[1], ev_end[1] - ev_begin[1]);
  /* the delay event spans its timer (one clock, no wall-clock guess) */
  cr_assert_gt(delay_fired, delay_called);
  cr_assert_leq(ev_begin[1], delay_called);
  cr_assert_geq(ev_elapsed[1], delay_fired - delay_called);
  cr_assert_leq(ev_end[0], ev_begin[1]);
  hl_tc_proc_free(&p);
}

/* ---- seed 3: X-Elapsed set in on_before_handle's on_stop ---- */
static uint64_t elapsed_set;
static hl_promise_t *set_elapsed(const hl_trace_end_t *e, void *arg) {
  hl_ctx_t *ctx = arg;
  char buf[32];
  elapsed_set = e->elapsed;
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

Test(app_http_seed, x_elapsed_seen_by_curl) {
  cr_assert_eq(hl_app_trace(app, trace_elapsed, NULL), 0);
  route_setup_delay();
  fx_listen();
  hl_tc_proc_t p;
  curl_i(&p, "/", NULL);
  cr_assert_eq(resp_status(p.in), 200, "%s", p.in);
  char v[64];
  cr_assert_not_null(resp_header(p.in, "X-Elapsed", v, sizeof v), "%s", p.in);
  cr_assert_eq(strtoull(v, NULL, 10), elapsed_set);
  cr_assert_geq(elapsed_set, delay_fired - delay_called);
  cr_assert_str_eq(resp_body(p.in), "Hi");
  hl_tc_proc_free(&p);
}

/* ---- JSON route with a parameter; 404; 405 with Allow ---- */
static hl_value_t user(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *id = hl_ctx_param(ctx, "id");
  const char *fields = hl_ctx_query(ctx, "fields");
  return hl_json(
      json_pack("{s:s, s:s, s:s}", "id", id, "name", "user", "fields", fields ? fields : ""));
}

Test(app_http_seed, json_route_404_and_405_with_allow) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/users/:id", "user", user, NULL, NULL), 0);
  fx_listen();
  hl_tc_proc_t p;
  curl_i(&p, "/users/42?fields=a%20b", NULL);
  cr_assert_eq(resp_status(p.in), 200, "%s", p.in);
  char v[128];
  cr_assert_str_eq(resp_header(p.in, "Content-Type", v, sizeof v), "application/json");
  json_error_t jerr;
  json_t *j = json_loads(resp_body(p.in), 0, &jerr);
  cr_assert_not_null(j, "%s", resp_body(p.in));
  cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "42");
  cr_assert_str_eq(json_string_value(json_object_get(j, "fields")), "a b");
  json_decref(j);
  char len[24];
  snprintf(len, sizeof len, "%zu", strlen(resp_body(p.in)));
  cr_assert_str_eq(resp_header(p.in, "Content-Length", v, sizeof v), len);
  hl_tc_proc_free(&p);

  curl_i(&p, "/nothing/here", NULL);
  cr_assert_eq(resp_status(p.in), 404, "%s", p.in);
  hl_tc_proc_free(&p);

  curl_i(&p, "/users/42", (char *[]){"-X", "DELETE", NULL});
  cr_assert_eq(resp_status(p.in), 405, "%s", p.in);
  cr_assert_str_eq(resp_header(p.in, "Allow", v, sizeof v), "GET, HEAD");
  hl_tc_proc_free(&p);

  /* HEAD uses the GET route: the length of the GET body, no body */
  curl_i(&p, "/users/42?fields=a%20b", (char *[]){"-I", NULL});
  cr_assert_eq(resp_status(p.in), 200, "%s", p.in);
  cr_assert_str_eq(resp_header(p.in, "Content-Length", v, sizeof v), len);
  cr_assert_str_eq(resp_body(p.in), "");
  hl_tc_proc_free(&p);
}

/* ---- a JSON body, parsed before the handler ---- */
static hl_value_t echo_json(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const hl_value_t *b = hl_ctx_body(ctx);
  cr_assert_eq(b->kind, HL_VALUE_JSON);
  json_t *n = json_object_get(b->ptr, "n");
  return hl_json(json_pack("{s:I}", "twice", (json_int_t)(json_integer_value(n) * 2)));
}

Test(app_http_seed, json_body_parsed) {
  cr_assert_eq(hl_app_route(app, HL_POST, "/double", "double", echo_json, NULL, NULL), 0);
  fx_listen();
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){"-H", "Content-Type: application/json", "--data", "{\"n\": 21}",
                          (char *)url_of(url, sizeof url, "/double"), NULL});
  cr_assert_str_eq(p.in, "{\"twice\":42}");
  hl_tc_proc_free(&p);
}

/* ---- Server-Timing: present and well-formed ---- */
/* W3C: metric *( OWS "," OWS metric ), metric = token *( ";" param ),
 * here every metric carries dur=<ms with 3 decimals>. Returns the count. */
static int check_server_timing(const char *v, char names[][48], int max) {
  int n = 0;
  const char *p = v;
  while (*p) {
    const char *s = p;
    while (*p && (isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
      p++;
    cr_assert_gt(p - s, 0, "metric name expected at '%s' in '%s'", s, v);
    if (n < max)
      snprintf(names[n], 48, "%.*s", (int)(p - s), s);
    cr_assert_eq(strncmp(p, ";dur=", 5), 0, "';dur=' expected at '%s'", p);
    p += 5;
    const char *d = p;
    while (isdigit((unsigned char)*p))
      p++;
    cr_assert_gt(p - d, 0, "digits expected in '%s'", v);
    cr_assert_eq(*p, '.', "decimal point expected in '%s'", v);
    p++;
    d = p;
    while (isdigit((unsigned char)*p))
      p++;
    cr_assert_eq(p - d, 3, "three decimals expected in '%s'", v);
    n++;
    if (*p == '\0')
      break;
    cr_assert_eq(strncmp(p, ", ", 2), 0, "', ' expected at '%s'", p);
    p += 2;
  }
  return n;
}

Test(app_http_seed, server_timing_header_well_formed) {
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  route_setup_delay();
  fx_listen();
  hl_tc_proc_t p;
  curl_i(&p, "/", NULL);
  char v[1024];
  cr_assert_not_null(resp_header(p.in, "Server-Timing", v, sizeof v), "%s", p.in);
  char names[32][48];
  int n = check_server_timing(v, names, 32);
  const char *want[] = {
      "request",      "parse",     "transform", "beforeHandle.setup", "beforeHandle.delay",
      "beforeHandle", "handle.hi", "handle",    "afterHandle",        "mapResponse"};
  cr_assert_eq(n, (int)(sizeof want / sizeof want[0]), "%s", v);
  for (int i = 0; i < n; i++)
    cr_assert_str_eq(names[i], want[i], "metric %d in %s", i, v);
  hl_tc_proc_free(&p);

  /* an answered 404 carries it too */
  curl_i(&p, "/missing", NULL);
  cr_assert_eq(resp_status(p.in), 404);
  cr_assert_not_null(resp_header(p.in, "Server-Timing", v, sizeof v), "%s", p.in);
  cr_assert_gt(check_server_timing(v, names, 32), 0);
  hl_tc_proc_free(&p);
}

/* ---- the lifecycle runs in the request's HTTPINCOMINGMESSAGE context ---- */
static char types[256][24];
static void rec_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res, void *a) {
  (void)trig;
  (void)res;
  (void)a;
  if (id < 256)
    snprintf(types[id], sizeof types[id], "%s", type);
}
static char ctx_log[256];
static hl_als_t als;
static void note_ctx(const char *where) {
  hl_async_id_t id = hl_execution_async_id();
  char l[64];
  snprintf(l, sizeof l, "%s:%s:%s ", where, id < 256 ? types[id] : "?",
           (const char *)hl_als_get_store(&als));
  strcat(ctx_log, l);
}
static hl_value_t req_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_enter_with(&als, hl_ctx_strdup(ctx, "req-store")), 0);
  note_ctx("request");
  return hl_none();
}
static hl_value_t handler_ctx(hl_ctx_t *ctx, void *arg) {
  note_ctx("handle");
  return delay_fn(ctx, arg);
}
static hl_value_t after_ctx(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  note_ctx("afterHandle");
  return hl_text("ctx");
}

Test(app_http_seed, lifecycle_in_the_request_context) {
  hl_hook_t *hook;
  hl_hook_callbacks_t cbs = {.init = rec_init};
  cr_assert_eq(hl_hook_create(&loop, &cbs, NULL, &hook), 0);
  cr_assert_eq(hl_hook_enable(hook), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_REQUEST, "req", req_fn, NULL), 0);
  hl_route_t *r;
  cr_assert_eq(hl_app_route(app, HL_GET, "/ctx", "h", handler_ctx, NULL, &r), 0);
  cr_assert_eq(hl_route_on(r, HL_STAGE_AFTER_HANDLE, "after", after_ctx, NULL), 0);
  fx_listen();
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){(char *)url_of(url, sizeof url, "/ctx"), NULL});
  cr_assert_str_eq(p.in, "ctx");
  /* the handler runs in the request's context; after its promise (resolved
   * from a timer) the lifecycle goes on in a continuation of it, and the
   * store entered in the request stage follows */
  cr_assert_str_eq(ctx_log,
                   "request:HTTPINCOMINGMESSAGE:req-store "
                   "handle:HTTPINCOMINGMESSAGE:req-store "
                   "afterHandle:PROMISE:req-store ",
                   "%s", ctx_log);
  hl_tc_proc_free(&p);
  hl_hook_destroy(hook);
}
