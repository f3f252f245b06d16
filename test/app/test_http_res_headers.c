/* test/app/test_http_res_headers.c - the HTTP response-header checks the app
 * relies on for every response it sends (hl_http_res_add_header and
 * set_header[_n]): a name must be an RFC 9110 token, a value must hold no CR,
 * LF or NUL, at any length (the check goes eight bytes a step with a byte
 * tail, long values by memchr: every path and each boundary, with the bad
 * byte first, inside and last); what is refused leaves nothing behind, what
 * is accepted is sent as given. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <string.h>
#include "http_client.h"

static hl_loop_t loop;
static hl_http_server_t server;
static int checked, srv_closed;

static void on_srv_closed(hl_http_server_t *s) {
  (void)s;
  srv_closed = 1;
}

/* A value of `len` bytes of 'v' with `bad` at `at` (or none when at < 0). */
static const char *value(char *buf, size_t len, int at, char bad) {
  memset(buf, 'v', len);
  buf[len] = '\0';
  if (at >= 0)
    buf[at] = bad;
  return buf;
}

static void handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  char buf[600];
  const size_t lens[] = {1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 64, 100, 127, 128, 129, 333, 512};
  const char bads[] = {'\r', '\n'};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    size_t n = lens[i];
    int ats[] = {0, (int)(n / 2), (int)n - 1};
    for (size_t b = 0; b < sizeof bads; b++)
      for (size_t a = 0; a < 3; a++) {
        value(buf, n, ats[a], bads[b]);
        cr_assert_eq(hl_http_res_add_header(res, "X-Bad", buf), HL_EINVAL, "len %zu", n);
        cr_assert_eq(hl_http_res_set_header(res, "X-Bad", buf), HL_EINVAL, "len %zu", n);
        value(buf, n, ats[a], '\0'); /* a NUL inside an explicit length */
        cr_assert_eq(hl_http_res_set_header_n(res, "X-Bad", 5, buf, n), HL_EINVAL, "len %zu", n);
      }
  }
  cr_assert_null(hl_http_res_get_header(res, "X-Bad"));
  /* names: tokens only, at any position */
  const char *bad_names[] = {"", "Bad Name", "a(b", "x:y", "q\"", "caf\xc3\xa9", "tab\t", "{x}"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    cr_assert_eq(hl_http_res_add_header(res, bad_names[i], "v"), HL_EINVAL, "%s", bad_names[i]);
  cr_assert_eq(hl_http_res_add_header(res, "!#$%&'*+-.^_`|~Az09", "ok"), 0);
  /* long and short good values go out as given */
  cr_assert_eq(hl_http_res_add_header(res, "X-Long", value(buf, 333, -1, 0)), 0);
  cr_assert_eq(hl_http_res_add_header(res, "X-Short", "a b;c=d, e"), 0);
  cr_assert_eq(hl_http_res_add_header(res, "X-Empty", ""), 0);
  checked = 1;
  hl_http_res_end(res, "ok", 2);
}

Test(app_http_res_headers, names_and_values_checked_at_every_length) {
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, handler, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&server, "127.0.0.1", 0, 16), 0);
  int port = hl_http_server_port(&server);
  hl_tc_raw_t c;
  const char *rq = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, rq, strlen(rq)), 0);
  hl_tc_wait(&loop, &c.closed);
  cr_assert(checked);
  cr_assert(strstr(c.in, "HTTP/1.1 200 OK\r\n"), "%s", c.in);
  cr_assert_null(strstr(c.in, "X-Bad"));
  cr_assert(strstr(c.in, "\r\n!#$%&'*+-.^_`|~Az09: ok\r\n"), "%s", c.in);
  char want[400] = "\r\nX-Long: ";
  memset(want + strlen(want), 'v', 333);
  strcpy(want + 10 + 333, "\r\n");
  cr_assert(strstr(c.in, want), "%s", c.in);
  cr_assert(strstr(c.in, "\r\nX-Short: a b;c=d, e\r\n"), "%s", c.in);
  cr_assert(strstr(c.in, "\r\nX-Empty: \r\n"), "%s", c.in);
  hl_tc_raw_free(&c);
  cr_assert_eq(hl_http_server_close(&server, on_srv_closed), 0);
  hl_tc_wait(&loop, &srv_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(hl_loop_close(&loop), 0);
}
