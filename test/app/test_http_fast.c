/* test/app/test_http_fast.c - the app's fast answer over HTTP (a 200 whose only
 * header is the default Content-Type is written by the server straight into
 * the head, hl__http_res_end_lines) writes byte for byte what the general path
 * (the header array through hl_http_res_add_header + hl_http_res_end) writes:
 * the same requests, pipelined on one raw connection, go to two servers
 * attached to one app; on the second, a head listener on every response
 * keeps the server off its quiet path, so each answer takes the general
 * path. The Date header's value is masked (the two may straddle a second). */
#include <time.h>
#include <jansson.h>
#include "http_fixture.h"

TestSuite(app_http_fast, .init = fx_setup, .fini = fx_teardown);

static hl_value_t h_text(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_text("Hello, World!");
}
static hl_value_t h_empty(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_text("");
}
static hl_value_t h_none(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_none();
}
static hl_value_t h_bytes(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_bytes("\x01\x02\x03", 3, NULL);
}
static hl_value_t h_bytes_ct(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_bytes("<b>", 3, "text/html");
}
static hl_value_t h_json(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_json((struct json_t *)json_pack("{s:i, s:s}", "a", 1, "b", "x"));
}
static hl_value_t h_header(hl_ctx_t *c, void *a) { /* a header set: the general path */
  (void)a;
  hl_ctx_set_header(c, "X-Set", "1");
  return hl_text("with a header");
}
static hl_value_t h_201(hl_ctx_t *c, void *a) { /* not a 200: the general path */
  hl_ctx_set_status(c, 201);
  (void)a;
  return hl_text("created");
}
static hl_value_t h_mid(hl_ctx_t *c, void *a) { /* a 3- and a 4-digit length */
  (void)a;
  size_t n = strcmp(hl_ctx_path(c), "/k4") == 0 ? 4095 : 123;
  char *b = hl_ctx_alloc(c, n);
  memset(b, 'm', n);
  return hl_textn(b, n);
}
static hl_value_t h_big(hl_ctx_t *c, void *a) { /* over 4 KiB: the general path */
  (void)a;
  char *b = hl_ctx_alloc(c, 5000);
  memset(b, 'z', 5000);
  return hl_textn(b, 5000);
}

/* which answers recorded no header entry on the response (the fast path) */
static char fast_paths[2048];

static void on_head(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res, (void)ev, (void)arg;
}

static void req_plain(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  cr_assert_eq(hl_app_handle(app, req, res), 0);
  /* answered in the handler: the general path leaves the header entries */
  if (hl_http_res_headers_sent(res) && hl_http_res_get_header(res, "Content-Type") == NULL) {
    strcat(fast_paths, hl_http_req_path(req));
    strcat(fast_paths, " ");
  }
}
static void req_general(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_PRE_WRITE_HEAD, on_head, NULL), 0);
  cr_assert_eq(hl_app_handle(app, req, res), 0);
}

static int closed_n;
static void srv_closed(hl_http_server_t *s) {
  (void)s;
  closed_n++;
}

/* Two servers on the app: s1 with the fast path (cb), s2 with a head
 * listener that forces the general path; pair_close closes both and waits. */
/* GET routes, one per path */
typedef struct {
  const char *path;
  hl_app_fn fn;
} route_t;
static void add_routes(const route_t *routes, size_t n) {
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(hl_app_route(app, HL_GET, routes[i].path, NULL, routes[i].fn, NULL, NULL), 0);
}

static void pair_open(hl_http_server_t *s1, hl_http_server_t *s2, hl_http_request_cb cb) {
  cr_assert_eq(hl_http_server_init(&loop, s1, cb, NULL), 0);
  cr_assert_eq(hl_http_server_init(&loop, s2, req_general, NULL), 0);
  cr_assert_eq(hl_app_attach(app, s1), 0);
  cr_assert_eq(hl_app_attach(app, s2), 0);
  cr_assert_eq(hl_http_server_listen(s1, "127.0.0.1", 0, 16), 0);
  cr_assert_eq(hl_http_server_listen(s2, "127.0.0.1", 0, 16), 0);
}
static void pair_close(hl_http_server_t *s1, hl_http_server_t *s2) {
  cr_assert_eq(hl_http_server_close(s1, srv_closed), 0);
  cr_assert_eq(hl_http_server_close(s2, srv_closed), 0);
  while (closed_n < 2)
    hl_run(&loop, HL_RUN_ONCE);
}

static char *exchange(int p, const char *reqs) {
  hl_tc_raw_t c;
  cr_assert_eq(hl_tc_raw_start(&loop, &c, p, NULL, reqs, strlen(reqs)), 0);
  hl_tc_wait(&loop, &c.closed);
  char *out = strdup(c.in ? c.in : "");
  hl_tc_raw_free(&c);
  /* mask the dates */
  for (char *d = out; (d = strstr(d, "\r\nDate: ")) != NULL; d += 8)
    for (char *v = d + 8; *v && *v != '\r'; v++)
      *v = '#';
  return out;
}

Test(app_http_fast, same_bytes_as_the_general_path) {
  const route_t routes[] = {{"/text", h_text},     {"/empty", h_empty},      {"/none", h_none},
                            {"/bytes", h_bytes},   {"/bytesct", h_bytes_ct}, {"/json", h_json},
                            {"/header", h_header}, {"/201", h_201},          {"/k3", h_mid},
                            {"/k4", h_mid},        {"/big", h_big}};
  add_routes(routes, sizeof routes / sizeof routes[0]);
  hl_http_server_t s1, s2;
  pair_open(&s1, &s2, req_plain);
  /* pipelined: all but the first answer are made while an earlier one is
   * still the connection's writer (the output goes to the request's own
   * buffer); a HEAD and an HTTP/1.0 keep-alive request take the general path */
  const char *reqs = "GET /text HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /none HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /bytesct HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /header HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /201 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /k3 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /k4 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
                     "HEAD /text HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /text HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                     "GET /text HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  char *fast = exchange(hl_http_server_port(&s1), reqs);
  char *general = exchange(hl_http_server_port(&s2), reqs);
  cr_assert_str_eq(fast, general);
  cr_assert_eq(hl_tc_count(fast, "HTTP/1.1 "), 15, "%s", fast);
  cr_assert(strstr(fast, "Content-Length: 123\r\n") && strstr(fast, "Content-Length: 4095\r\n"));
  cr_assert(strstr(fast, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: "
                         "#############################\r\nContent-Length: 13\r\n\r\nHello, "
                         "World!HTTP/1.1 200 OK\r\n"),
            "%s", fast);
  /* the fast path was taken where it applies, and only there */
  cr_assert_str_eq(fast_paths, "/text /empty /none /bytes /json /k3 /k4 /text ");
  /* the app's own server (hl_app_http_request: the lifecycle started
   * directly in the request callback, the lane's straight text answer and
   * its fallback for HEAD and HTTP/1.0) writes the same */
  fx_listen();
  char *own = exchange(port, reqs);
  cr_assert_str_eq(own, general);
  free(own);
  free(fast);
  free(general);
  pair_close(&s1, &s2);
}

/* Every text length up to 130 (each of the fast head's copy sizes, a
 * length of one, two and three digits): the fast path writes what the general
 * path writes, and takes each of them. */
static hl_value_t h_len(hl_ctx_t *c, void *a) {
  (void)a;
  size_t n = (size_t)atoi(hl_ctx_param(c, "n"));
  char *b = hl_ctx_alloc(c, n + 1);
  for (size_t i = 0; i < n; i++)
    b[i] = (char)('a' + i % 26);
  return hl_textn(b, n);
}

Test(app_http_fast, every_short_length) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/len/:n", NULL, h_len, NULL, NULL), 0);
  hl_http_server_t s1, s2;
  pair_open(&s1, &s2, req_plain);
  enum { N = 131 };
  char *reqs = malloc((N + 1) * 64);
  cr_assert_not_null(reqs);
  size_t w = 0;
  for (int i = 0; i < N; i++)
    w += (size_t)sprintf(reqs + w, "GET /len/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
  strcpy(reqs + w, "GET /len/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char *fast = exchange(hl_http_server_port(&s1), reqs);
  char *general = exchange(hl_http_server_port(&s2), reqs);
  cr_assert_str_eq(fast, general);
  cr_assert_eq(hl_tc_count(fast, "HTTP/1.1 200 OK\r\n"), N + 1, "%s", fast);
  cr_assert(strstr(fast, "Content-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n"));
  cr_assert(strstr(fast, "Content-Length: 9\r\n\r\nabcdefghiHTTP/1.1 200 OK\r\n"));
  cr_assert(strstr(fast, "Content-Length: 130\r\n\r\nabcdefghijklmnopqrstuvwxyzabcd"));
  /* all answered fast (the last, Connection: close, not) */
  cr_assert_eq(hl_tc_count(fast_paths, "/len/"), N, "%s", fast_paths);
  free(reqs);
  free(fast);
  free(general);
  pair_close(&s1, &s2);
}

/* The first answer on a connection (the writer: straight into the
 * connection's output) with the client's request read in one piece. */
Test(app_http_fast, single_request) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/", NULL, h_text, NULL, NULL), 0);
  fx_listen();
  char *out = exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: "
                             "x\r\nConnection: close\r\n\r\n");
  cr_assert(!strncmp(out,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: "
                     "#############################\r\nContent-Length: 13\r\n\r\nHello, World!",
                     strlen("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: "
                            "#############################\r\nContent-Length: 13\r\n\r\nHello, "
                            "World!")),
            "%s", out);
  free(out);
}

/* A text without bytes (hl_text(NULL): NULL data, length 0) goes the fast
 * way as an empty text does (the lane hands the server its NULL body) and
 * writes the same bytes. */
static hl_value_t h_null(hl_ctx_t *c, void *a) {
  (void)c, (void)a;
  return hl_text(NULL);
}
Test(app_http_fast, null_text_as_empty) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/null", NULL, h_null, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/empty", NULL, h_empty, NULL, NULL), 0);
  fx_listen();
  char *out = exchange(port, "GET /null HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /null HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const char *one = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: "
                    "#############################\r\nContent-Length: 0\r\n\r\n";
  size_t n = strlen(one);
  cr_assert(strlen(out) > 2 * n && !strncmp(out, one, n) && !strncmp(out + n, one, n), "%s", out);
  free(out);
}

/* The server keeps the fast head's start (status line, the app's literal
 * Content-Type line, Date, the Content-Length name) and reuses it: it follows
 * the Date. Each connection sends a fast GET (the kept start made or reused),
 * a HEAD (the general path, the Date of the moment), a fast GET again and a
 * last GET that closes (the general path): the third answer's Date is never
 * older than the HEAD's, also across a change of second (a kept start not
 * renewed with the Date would carry the old one).
 * The connections go on until the Date changed twice (real exchanges, about
 * a second to two). */
static time_t date_of(const char *resp, int k) { /* the k-th answer's Date */
  const char *d = resp;
  for (int i = 0; i <= k; i++) {
    d = strstr(d, "\r\nDate: ");
    cr_assert_not_null(d, "%s", resp);
    d += 8;
  }
  struct tm tm = {0};
  const char *end = strptime(d, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  cr_assert(end && end[0] == '\r', "%s", resp);
  return timegm(&tm);
}
Test(app_http_fast, kept_head_start_follows_the_date) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/", NULL, h_text, NULL, NULL), 0);
  fx_listen();
  const char *reqs = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                     "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  time_t first = 0, last = 0;
  int changes = 0;
  for (long n = 0; changes < 2; n++) {
    cr_assert_lt(n, 1000000, "the Date never changed");
    hl_tc_raw_t c;
    cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, reqs, strlen(reqs)), 0);
    hl_tc_wait(&loop, &c.closed);
    cr_assert_not_null(c.in);
    cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; "
                                   "charset=utf-8\r\nDate: "),
                 4, "%s", c.in);
    time_t head = date_of(c.in, 1), fast = date_of(c.in, 2);
    cr_assert_geq(fast, head, "%s", c.in);
    cr_assert_geq(head, date_of(c.in, 0), "%s", c.in);
    if (first == 0)
      first = last = fast;
    if (fast != last)
      changes++;
    last = fast;
    hl_tc_raw_free(&c);
  }
  cr_assert_gt(last, first);
}

/* A route with an afterResponse function is not ended at the fast answer:
 * the function runs once per request, after the server's close callback
 * (the transport's request is gone by then), with the answer sent fast. */
static int after_n;
static hl_value_t after_fn(hl_ctx_t *c, void *a) {
  (void)a;
  after_n++;
  cr_assert_null(hl_ctx_path(c));
  return hl_none();
}

Test(app_http_fast, after_response_still_runs) {
  hl_route_t *rt;
  cr_assert_eq(hl_app_route(app, HL_GET, "/a", NULL, h_text, NULL, &rt), 0);
  cr_assert_eq(hl_route_on(rt, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/b", NULL, h_text, NULL, NULL), 0);
  fx_listen();
  char *out = exchange(port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: "
                             "x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(hl_tc_count(out, "Hello, World!"), 4, "%s", out);
  hl_run(&loop, HL_RUN_NOWAIT);
  cr_assert_eq(after_n, 2);
  free(out);
}

/* An afterResponse function the handler adds to its route runs for that
 * request: the fast answer is not ended early (the stage masks are read
 * after the handler). */
static hl_route_t *late_rt;
static int late_added;
static hl_value_t late_h(hl_ctx_t *c, void *a) {
  (void)a;
  if (!late_added++ && hl_route_on(late_rt, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL) != 0)
    cr_assert_fail();
  return h_text(c, NULL);
}

Test(app_http_fast, after_response_added_by_the_handler_runs) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/a", NULL, late_h, NULL, &late_rt), 0);
  fx_listen();
  /* the first answer is a fast one (keep-alive) */
  char *out = exchange(port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: "
                             "x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(hl_tc_count(out, "Hello, World!"), 2, "%s", out);
  hl_run(&loop, HL_RUN_NOWAIT);
  cr_assert_eq(after_n, 2);
  free(out);
}

/* ---- traced: Server-Timing as a ready line ----
 * A traced request with Server-Timing whose answer is a plain 200 text and
 * whose only header is the app's own Server-Timing is written straight into
 * the head too (the traced lane's tl_send), with that header line before the
 * default Content-Type's: the bytes the general path writes. The metrics'
 * durations are masked (they differ between two runs). A mapResponse listener
 * that sets Server-Timing itself, or any other header, keeps the general
 * path. */
static void mask_durations(char *s) {
  for (char *d = s; (d = strstr(d, ";dur=")) != NULL; d += 5)
    for (char *v = d + 5; (*v >= '0' && *v <= '9') || *v == '.'; v++)
      *v = '#';
}

static hl_ctx_t *st_ctx;
static hl_promise_t *st_replace(const hl_trace_end_t *e, void *arg) {
  (void)e, (void)arg;
  if (strcmp(hl_ctx_path(st_ctx), "/replaced") == 0)
    cr_assert_eq(hl_ctx_set_header(st_ctx, "Server-Timing", "mine;dur=1.000"), 0);
  return NULL;
}
static void st_map_stage(hl_trace_stage_t *st, void *arg) {
  cr_assert_eq(hl_trace_stage_on_stop(st, st_replace, arg), 0);
}
static void st_trace(hl_trace_t *t, void *arg) {
  st_ctx = t->ctx;
  cr_assert_eq(hl_trace_on(t, HL_STAGE_MAP_RESPONSE, st_map_stage, arg), 0);
}

static char st_fast[512];
static void req_plain_st(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  cr_assert_eq(hl_app_handle(app, req, res), 0);
  if (hl_http_res_headers_sent(res) && hl_http_res_get_header(res, "Server-Timing") == NULL &&
      hl_http_res_get_header(res, "Content-Type") == NULL) {
    strcat(st_fast, hl_http_req_path(req));
    strcat(st_fast, " ");
  }
}

Test(app_http_fast, traced_server_timing_same_bytes_as_the_general_path) {
  const route_t routes[] = {{"/text", h_text},     {"/empty", h_empty},   {"/none", h_none},
                            {"/json", h_json},     {"/header", h_header}, {"/201", h_201},
                            {"/replaced", h_text}, {"/big", h_big}};
  add_routes(routes, sizeof routes / sizeof routes[0]);
  cr_assert_eq(hl_app_trace(app, st_trace, NULL), 0);
  cr_assert_eq(hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS), 0);
  hl_http_server_t s1, s2;
  pair_open(&s1, &s2, req_plain_st);
  const char *reqs = "GET /text HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /none HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /json HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /header HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /201 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /replaced HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
                     "HEAD /text HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /text HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                     "GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  char *fast = exchange(hl_http_server_port(&s1), reqs);
  char *general = exchange(hl_http_server_port(&s2), reqs);
  mask_durations(fast);
  mask_durations(general);
  cr_assert_str_eq(fast, general);
  cr_assert_eq(hl_tc_count(fast, "HTTP/1.1 "), 11, "%s", fast);
  cr_assert_eq(hl_tc_count(fast, "\r\nServer-Timing: request;dur=#####, parse;dur="), 10, "%s",
               fast);
  cr_assert(strstr(fast, "HTTP/1.1 200 OK\r\nServer-Timing: request;dur=#####, parse;dur=#####, "
                         "transform;dur=#####, beforeHandle;dur=#####, handle.anonymous;dur=#####, "
                         "handle;dur=#####, afterHandle;dur=#####, mapResponse;dur=#####\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\nDate: "
                         "#############################\r\nContent-Length: 13\r\n\r\nHello, "
                         "World!HTTP/1.1 200 OK\r\n"),
            "%s", fast);
  cr_assert(strstr(fast, "\r\nServer-Timing: mine;dur=#####\r\n"), "%s", fast);
  /* the ready line was taken where it applies, and only there */
  cr_assert_str_eq(st_fast, "/text /empty ");
  fx_listen();
  char *own = exchange(port, reqs);
  mask_durations(own);
  cr_assert_str_eq(own, general);
  free(own);
  free(fast);
  free(general);
  pair_close(&s1, &s2);
}

/* The fast answer of a request that holds memory of its own (an arena chunk
 * past the inline part) is not the fast end: the request is released the
 * long way, and it still goes back to the pool, the adapter's part done with
 * it (the next request on the connection gets the same object, as the pool
 * hands back the last one put). */
static hl_ctx_t *chunk_ctx[2];
static int chunk_n;
static hl_value_t h_chunk(hl_ctx_t *c, void *a) {
  (void)a;
  char *b = hl_ctx_alloc(c, 20000); /* past the inline arena: a chunk */
  cr_assert_not_null(b);
  memset(b, 'c', 20000);
  if (chunk_n < 2)
    chunk_ctx[chunk_n++] = c;
  return hl_text("chunk");
}

Test(app_http_fast, answer_with_a_chunk_goes_back_to_the_pool) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/", NULL, h_chunk, NULL, NULL), 0);
  fx_listen();
  char *out = exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: "
                             "x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(chunk_n, 2);
  const char *first = strstr(out, "\r\n\r\nchunk");
  cr_assert_not_null(first, "%s", out);
  cr_assert_not_null(strstr(first + 9, "\r\n\r\nchunk"), "%s", out);
  cr_assert_eq(chunk_ctx[0], chunk_ctx[1], "the first request did not go back to the pool");
  free(out);
}
