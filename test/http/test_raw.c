/* test/http/test_raw.c - the server against a raw socket client: pipelining
 * (responses in request order, also when an earlier one answers later),
 * HEAD, HTTP/1.0 close-delimited bodies, malformed input (400, 505,
 * Content-Length with Transfer-Encoding, duplicate or invalid Content-Length,
 * bad chunk sizes) closing only the offending connection, every limit (431,
 * 413, headers and request timeouts -> 408, keep-alive idle timeout, maximum
 * connections pausing accept), header values with CR/LF/NUL refused, clients
 * leaving mid-request and mid-response, graceful server close. Timeouts are
 * configured small and the tests wait for the server closing the connection:
 * nothing asserts on wall-clock time. */
#include "common.h"

static int requests, closes, aborted_closes;

static void on_close(hl_http_req_t *req, int aborted, void *arg) {
  (void)req;
  (void)arg;
  closes++;
  aborted_closes += aborted;
}

/* Answers with the path; "/slow..." answers from a timer (later than the
 * requests after it). */
static void finish_slow(void *arg) {
  hl_http_res_t *res = arg;
  const char *p = hl_http_req_path(hl_http_res_req(res));
  hl_http_res_end(res, p, strlen(p));
}

static void echo_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  requests++;
  hl_http_req_on_close(req, on_close, NULL);
  const char *p = hl_http_req_path(req);
  if (!strncmp(p, "/slow", 5)) {
    cr_assert_eq(hl_set_timeout(&loop, finish_slow, res, 5, NULL), 0);
    return;
  }
  if (!strncmp(p, "/never", 6))
    return; /* answers never: the client will go away */
  if (!strncmp(p, "/partial", 8)) {
    hl_http_res_write(res, "partial", 7);
    return;
  }
  if (!strncmp(p, "/reject", 7)) { /* answered before the body comes */
    hl_http_res_status(res, 403, NULL);
    hl_http_res_end(res, "no", 2);
    return;
  }
  if (!strncmp(p, "/w2", 3)) { /* two writes, then end: no Content-Length */
    hl_http_res_write(res, "ab", 2);
    hl_http_res_write(res, "cd", 2);
    hl_http_res_end(res, NULL, 0);
    return;
  }
  if (!strncmp(p, "/body", 5))
    return; /* answered from on_end by body_handler */
  hl_http_res_end(res, p, strlen(p));
}

static void reset(void) {
  requests = closes = aborted_closes = 0;
}

Test(http_raw, pipelining_in_order) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /slow1 HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /slow2 HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert_eq(requests, 4);
  const char *a = strstr(c.in, "\r\n\r\n/slow1"), *b = strstr(c.in, "\r\n\r\n/a"),
             *d = strstr(c.in, "\r\n\r\n/slow2"), *e = strstr(c.in, "\r\n\r\n/b");
  cr_assert(a && b && d && e && a < b && b < d && d < e, "out of order: %s", c.in);
  cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK"), 4);
  cr_assert_eq(hl_tc_count(c.in, "Connection: close"), 1);
  cr_assert_eq(closes, 4);
  cr_assert_eq(aborted_closes, 0);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, head_has_no_body) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "HEAD /abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(strstr(c.in, "Content-Length: 4\r\n"), "%s", c.in);
  size_t n = strlen(c.in);
  cr_assert(n > 4 && !strcmp(c.in + n - 4, "\r\n\r\n"), "body sent for HEAD: %s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, http_1_0_body_until_close) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /w2 HTTP/1.0\r\n\r\n");
  /* HTTP/1.0 has no chunked encoding: the body ends with the connection */
  cr_assert_null(strstr(c.in, "Transfer-Encoding"));
  cr_assert_null(strstr(c.in, "Content-Length"));
  cr_assert(strstr(c.in, "Connection: close\r\n"), "%s", c.in);
  size_t n = strlen(c.in);
  cr_assert(n > 8 && !strcmp(c.in + n - 8, "\r\n\r\nabcd"), "%s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
}

/* ---- malformed input -------------------------------------------------------------- */

static void bad(const char *req, const char *status) {
  reset();
  srv_start(echo_handler, NULL);
  /* a good client on another connection, open across the bad one */
  hl_tc_raw_t good, c;
  cr_assert_eq(hl_tc_raw_start(&loop, &good, port, NULL, "GET /g1 HTTP/1.1\r\nHost: x\r\n\r\n",
                               strlen("GET /g1 HTTP/1.1\r\nHost: x\r\n\r\n")),
               0);
  while (hl_tc_count(good.in, "/g1") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  raw_exchange(&c, req);
  cr_assert(!strncmp(c.in ? c.in : "", status, strlen(status)), "want %s for %s got: %s", status,
            req, c.in ? c.in : "(nothing)");
  hl_tc_raw_free(&c);
  const char *g2 = "GET /g2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  hl_tc_raw_send(&good, g2, strlen(g2));
  hl_tc_wait(&loop, &good.closed);
  cr_assert(strstr(good.in, "/g2"), "the other connection was disturbed: %s", good.in);
  hl_tc_raw_free(&good);
  srv_stop();
}

Test(http_raw, garbage_is_400) {
  bad("THIS IS NOT HTTP\r\n\r\n", "HTTP/1.1 400 Bad Request");
}
Test(http_raw, bad_version_is_505) {
  bad("GET / HTTP/4.7\r\nHost: x\r\n\r\n", "HTTP/1.1 505 ");
}
Test(http_raw, content_length_with_transfer_encoding_is_400) {
  bad("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      "HTTP/1.1 400 ");
}
Test(http_raw, duplicate_content_length_is_400) {
  bad("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "HTTP/1.1 400 ");
}
Test(http_raw, invalid_content_length_is_400) {
  bad("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello", "HTTP/1.1 400 ");
}
Test(http_raw, bad_chunk_size_is_400) {
  bad("POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "HTTP/1.1 400 ");
}

/* ---- limits --------------------------------------------------------------------------- */

static hl_http_limits_t small_limits(void) {
  hl_http_limits_t l;
  hl_http_limits_default(&l);
  l.max_header_bytes = 1024;
  l.max_headers = 10;
  l.max_body_bytes = 100;
  return l;
}

static void body_end(hl_http_req_t *req, void *arg) {
  hl_http_res_end(arg, hl_http_req_path(req), strlen(hl_http_req_path(req)));
}

static void body_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  echo_handler(s, req, res);
  if (!strncmp(hl_http_req_path(req), "/body", 5))
    hl_http_req_on_body(req, NULL, body_end, res);
}

static void limit(hl_http_limits_t l, const char *req, const char *status) {
  reset();
  srv_start(body_handler, &l);
  hl_tc_raw_t c;
  raw_exchange(&c, req);
  cr_assert(!strncmp(c.in ? c.in : "", status, strlen(status)), "want %s got: %s", status,
            c.in ? c.in : "(nothing)");
  cr_assert(strstr(c.in, "Connection: close"));
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, header_bytes_431) {
  char req[4096];
  char big[2048];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
  limit(small_limits(), req, "HTTP/1.1 431 ");
}

Test(http_raw, header_count_431) {
  char req[4096] = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 20; i++)
    sprintf(req + strlen(req), "X-H%d: v\r\n", i);
  strcat(req, "\r\n");
  limit(small_limits(), req, "HTTP/1.1 431 ");
}

Test(http_raw, default_header_limit_is_16k) {
  hl_http_limits_t l;
  hl_http_limits_default(&l);
  cr_assert_eq(l.max_header_bytes, 16384);
  char *req = malloc(20000), *big = malloc(17000);
  memset(big, 'a', 16999);
  big[16999] = 0;
  snprintf(req, 20000, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
  limit(l, req, "HTTP/1.1 431 ");
  free(req);
  free(big);
}

Test(http_raw, body_content_length_413) {
  limit(small_limits(), "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
        "HTTP/1.1 413 ");
}

Test(http_raw, body_chunked_413) {
  char req[1024] = "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; i++)
    strcat(req, "20\r\n12345678901234567890123456789012\r\n");
  strcat(req, "0\r\n\r\n");
  limit(small_limits(), req, "HTTP/1.1 413 ");
}

Test(http_raw, body_within_limit_ok) {
  reset();
  hl_http_limits_t l = small_limits();
  srv_start(body_handler, &l);
  hl_tc_raw_t c;
  raw_exchange(&c, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: "
                   "close\r\n\r\n"
                   "0123456789012345678901234567890123456789012345678901234567890123456789"
                   "012345678901234567890123456789");
  cr_assert(!strncmp(c.in, "HTTP/1.1 200 OK", 15), "%s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, headers_timeout_408) {
  hl_http_limits_t l = small_limits();
  l.headers_timeout_ms = 50;
  limit(l, "GET / HTTP/1.1\r\nHost: x\r\n", "HTTP/1.1 408 ");
  cr_assert_eq(requests, 0);
}

Test(http_raw, request_timeout_408) {
  hl_http_limits_t l = small_limits();
  l.request_timeout_ms = 50;
  reset();
  srv_start(body_handler, &l);
  hl_tc_raw_t c;
  raw_exchange(&c, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly some");
  cr_assert(!strncmp(c.in, "HTTP/1.1 408 ", 13), "%s", c.in);
  cr_assert_eq(requests, 1);
  cr_assert_eq(aborted_closes, 1, "the application was not told");
  hl_tc_raw_free(&c);
  srv_stop();
}

/* One timer serves every deadline: the headers deadline (short) is armed
 * first, then the request deadline (long) replaces it without restarting the
 * timer, which fires early and re-arms itself. A body that comes after the
 * headers deadline but within the request deadline is answered; after that
 * the keep-alive idle deadline still closes the connection. */
static hl_tc_raw_t late_c;
static void send_rest(void *arg) {
  (void)arg;
  cr_assert_eq(hl_tc_raw_send(&late_c, "56789", 5), 0);
}

Test(http_raw, deadlines_move_later_on_one_timer) {
  hl_http_limits_t l = small_limits();
  l.headers_timeout_ms = 20;
  l.request_timeout_ms = 5000;
  l.keep_alive_timeout_ms = 50;
  reset();
  srv_start(body_handler, &l);
  const char *rq = "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234";
  cr_assert_eq(hl_tc_raw_start(&loop, &late_c, port, NULL, rq, strlen(rq)), 0);
  cr_assert_eq(hl_set_timeout(&loop, send_rest, NULL, 100, NULL), 0);
  hl_tc_wait(&loop, &late_c.closed); /* closed by the idle deadline */
  cr_assert(!strncmp(late_c.in, "HTTP/1.1 200 ", 13), "%s", late_c.in);
  cr_assert(strstr(late_c.in, "\r\n\r\n/body"), "%s", late_c.in);
  cr_assert_eq(hl_tc_count(late_c.in, "HTTP/1.1 "), 1);
  cr_assert_eq(requests, 1);
  cr_assert_eq(aborted_closes, 0);
  hl_tc_raw_free(&late_c);
  srv_stop();
}

Test(http_raw, keep_alive_idle_timeout_closes) {
  hl_http_limits_t l = small_limits();
  l.keep_alive_timeout_ms = 50;
  reset();
  srv_start(echo_handler, &l);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /k HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK"), 1);
  cr_assert_null(strstr(c.in, "408"));
  cr_assert_eq(closes, 1);
  cr_assert_eq(aborted_closes, 0);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, max_connections_pauses_accept) {
  hl_http_limits_t l = small_limits();
  l.max_connections = 1;
  reset();
  srv_start(echo_handler, &l);
  hl_tc_raw_t a, b;
  cr_assert_eq(hl_tc_raw_start(&loop, &a, port, NULL, "GET /a1 HTTP/1.1\r\nHost: x\r\n\r\n",
                               strlen("GET /a1 HTTP/1.1\r\nHost: x\r\n\r\n")),
               0);
  while (hl_tc_count(a.in, "/a1") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(hl_tc_raw_start(&loop, &b, port, NULL, "GET /b1 HTTP/1.1\r\nHost: x\r\n\r\n",
                               strlen("GET /b1 HTTP/1.1\r\nHost: x\r\n\r\n")),
               0);
  hl_tc_wait2(&loop, &b.connected, &b.writes_done);
  /* One more round trip on a: the listening socket has been polled since. */
  hl_tc_raw_send(&a, "GET /a2 HTTP/1.1\r\nHost: x\r\n\r\n",
                 strlen("GET /a2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (hl_tc_count(a.in, "/a2") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(requests, 2, "b was served above the limit");
  cr_assert_eq(hl_http_server_connections(&server), 1);
  hl_tc_raw_close(&a);
  while (hl_tc_count(b.in, "/b1") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(requests, 3);
  hl_tc_raw_close(&b);
  hl_tc_wait(&loop, &b.closed);
  hl_tc_raw_free(&a);
  hl_tc_raw_free(&b);
  srv_stop();
}

/* ---- the application's mistakes, clients leaving -------------------------------------- */

static int einval_checked;
static void crlf_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  cr_assert_eq(hl_http_res_set_header(res, "X-Bad", "a\r\nInjected: yes"), HL_EINVAL);
  cr_assert_eq(hl_http_res_set_header(res, "X-Bad", "a\nb"), HL_EINVAL);
  cr_assert_eq(hl_http_res_set_header_n(res, "X-Bad", 5, "a\0b", 3), HL_EINVAL);
  cr_assert_eq(hl_http_res_set_header(res, "Bad Name", "v"), HL_EINVAL);
  cr_assert_eq(hl_http_res_add_trailer(res, "X-T", "a\rb"), HL_EINVAL);
  cr_assert_eq(hl_http_res_status(res, 200, "OK\r\nInjected: yes"), HL_EINVAL);
  cr_assert_eq(hl_http_res_status(res, 99, NULL), HL_EINVAL);
  cr_assert_eq(hl_http_res_write_head(NULL, 200, NULL), HL_EINVAL);
  cr_assert_eq(hl_http_res_end(res, NULL, 3), HL_EINVAL);
  einval_checked = 1;
  hl_http_res_end(res, "ok", 2);
}

Test(http_raw, header_injection_refused) {
  reset();
  einval_checked = 0;
  srv_start(crlf_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(einval_checked);
  cr_assert_null(strstr(c.in, "Injected"));
  cr_assert_null(strstr(c.in, "X-Bad"));
  cr_assert(strstr(c.in, "\r\n\r\nok"));
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, client_leaves_mid_request) {
  reset();
  srv_start(body_handler, NULL);
  hl_tc_raw_t c;
  const char *r = "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, r, strlen(r)), 0);
  while (requests == 0)
    hl_run(&loop, HL_RUN_ONCE);
  hl_tc_raw_close(&c);
  while (closes == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(aborted_closes, 1);
  while (hl_http_server_connections(&server) != 0)
    hl_run(&loop, HL_RUN_ONCE);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, client_leaves_mid_response) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t c;
  const char *r = "GET /partial HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, r, strlen(r)), 0);
  while (hl_tc_count(c.in, "7\r\npartial\r\n") == 0) /* the head and one chunk */
    hl_run(&loop, HL_RUN_ONCE);
  hl_tc_raw_close(&c);
  while (closes == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(aborted_closes, 1);
  while (hl_http_server_connections(&server) != 0)
    hl_run(&loop, HL_RUN_ONCE);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, graceful_close_finishes_in_flight) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t busy, idle;
  const char *r = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &idle, port, NULL, "GET /i HTTP/1.1\r\nHost: x\r\n\r\n",
                               strlen("GET /i HTTP/1.1\r\nHost: x\r\n\r\n")),
               0);
  while (hl_tc_count(idle.in, "/i") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(hl_tc_raw_start(&loop, &busy, port, NULL, r, strlen(r)), 0);
  while (requests < 2)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(hl_http_server_connections(&server), 2);
  cr_assert_eq(hl_http_server_close(&server, on_server_closed), 0);
  cr_assert_eq(hl_http_server_close(&server, on_server_closed), HL_ESTATE);
  hl_tc_wait(&loop, &server_closed);
  cr_assert(idle.closed || idle.eof || 1);
  hl_tc_wait(&loop, &idle.closed);
  hl_tc_wait(&loop, &busy.closed);
  cr_assert(strstr(busy.in, "Connection: close\r\n"), "%s", busy.in);
  cr_assert(strstr(busy.in, "\r\n\r\n/slow"), "%s", busy.in);
  cr_assert_eq(aborted_closes, 0);
  hl_tc_raw_free(&busy);
  hl_tc_raw_free(&idle);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(http_raw, bad_arguments) {
  hl_loop_t l;
  hl_http_server_t s;
  cr_assert_eq(hl_loop_init(&l), 0);
  cr_assert_eq(hl_http_server_init(NULL, &s, echo_handler, NULL), HL_EINVAL);
  cr_assert_eq(hl_http_server_init(&l, NULL, echo_handler, NULL), HL_EINVAL);
  cr_assert_eq(hl_http_server_init(&l, &s, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_http_server_init(&l, &s, echo_handler, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&s, "not-an-ip", 0, 0), HL_EINVAL);
  cr_assert_eq(hl_http_server_listen(&s, "127.0.0.1", 70000, 0), HL_EINVAL);
  cr_assert_eq(hl_http_server_port(&s), HL_ESTATE);
  cr_assert_eq(hl_http_server_connections(NULL), HL_EINVAL);
  cr_assert_eq(hl_http_limits_default(NULL), HL_EINVAL);
  cr_assert_null(hl_http_req_method(NULL));
  cr_assert_eq(hl_http_res_end(NULL, NULL, 0), HL_EINVAL);
  server_closed = 0;
  cr_assert_eq(hl_http_server_close(&s, on_server_closed), 0);
  hl_tc_wait(&l, &server_closed);
  cr_assert_eq(hl_loop_close(&l), 0);
}

Test(http_raw, expect_100_continue_sent_before_the_body) {
  reset();
  srv_start(body_handler, NULL);
  hl_tc_raw_t c;
  const char *h = "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                  "Connection: close\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, h, strlen(h)), 0);
  /* the client sends the body only once the server has asked for it */
  while (hl_tc_count(c.in, "HTTP/1.1 100 Continue\r\n\r\n") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(hl_tc_count(c.in, "200 OK"), 0);
  hl_tc_raw_send(&c, "hello", 5);
  hl_tc_wait(&loop, &c.closed);
  cr_assert(strstr(c.in, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), "%s", c.in);
  cr_assert(strstr(c.in, "\r\n\r\n/body"), "%s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, http_1_0_keep_alive) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /k1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /k2 HTTP/1.0\r\n\r\n");
  cr_assert_eq(requests, 2);
  cr_assert(strstr(c.in, "Connection: keep-alive\r\n\r\n/k1"), "%s", c.in);
  cr_assert(strstr(c.in, "Connection: close\r\n\r\n/k2"), "%s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_raw, answer_before_body_then_client_leaves) {
  reset();
  srv_start(echo_handler, NULL);
  hl_tc_raw_t c;
  const char *r = "POST /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, r, strlen(r)), 0);
  while (hl_tc_count(c.in, "\r\n\r\nno") == 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert(!strncmp(c.in, "HTTP/1.1 403 Forbidden\r\n", 24), "%s", c.in);
  hl_tc_raw_close(&c);
  while (hl_http_server_connections(&server) != 0)
    hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(closes, 1);
  cr_assert_eq(aborted_closes, 0, "the response was complete");
  hl_tc_raw_free(&c);
  srv_stop();
}

/* The cached 200 head (status line, Date, Content-Length from a per-second
 * cache) is also taken with headers set, as long as none is one the head
 * writer acts on; what it writes must be what the general path writes: the
 * status line, the set headers in order, Date, Content-Length. A removal or
 * a Connection header takes the general path. */
static void head_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  const char *p = hl_http_req_path(req);
  requests++;
  cr_assert_eq(hl_http_res_set_header(res, "X-One", "1"), 0);
  cr_assert_eq(hl_http_res_add_header(res, "Content-Type", "text/plain"), 0);
  if (!strcmp(p, "/removed")) {
    cr_assert_eq(hl_http_res_set_header(res, "X-Gone", "g"), 0);
    cr_assert_eq(hl_http_res_remove_header(res, "x-gone"), 0);
  } else if (!strcmp(p, "/close")) {
    cr_assert_eq(hl_http_res_set_header(res, "Connection", "close"), 0);
  }
  cr_assert_eq(hl_http_res_end(res, "hi", 2), 0);
}

/* The response at `at` with its Date value blanked (it changes each second). */
static void expect_head(const char *at, const char *want) {
  cr_assert_not_null(at);
  char got[512];
  size_t n = strlen(want);
  cr_assert(strlen(at) >= n, "short: %s", at);
  memcpy(got, at, n);
  got[n] = '\0';
  char *d = strstr(got, "Date: ");
  cr_assert_not_null(d, "%s", got);
  cr_assert(strlen(d) > 35, "%s", got);
  memset(d + 6, '#', 29); /* "Sun, 22 Nov 2026 02:49:22 GMT" */
  cr_assert_str_eq(got, want);
}

Test(http_raw, cached_head_with_headers_matches_the_general_one) {
  reset();
  srv_start(head_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /removed HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /close HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_assert_eq(requests, 3);
  const char *one = "HTTP/1.1 200 OK\r\nX-One: 1\r\nContent-Type: text/plain\r\n"
                    "Date: #############################\r\nContent-Length: 2\r\n\r\nhi";
  const char *r1 = c.in;
  expect_head(r1, one);
  const char *r2 = strstr(r1 + 1, "HTTP/1.1 200 OK");
  expect_head(r2, one);
  const char *r3 = strstr(r2 + 1, "HTTP/1.1 200 OK");
  expect_head(r3, "HTTP/1.1 200 OK\r\nX-One: 1\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                  "Date: #############################\r\nContent-Length: 2\r\n\r\nhi");
  cr_assert_eq(hl_tc_count(c.in, "HTTP/1.1 200 OK"), 3);
  cr_assert_null(strstr(c.in, "X-Gone"));
  hl_tc_raw_free(&c);
  srv_stop();
}
