/* test/app/test_http_res_headers.c - the HTTP response-header checks the app
 * relies on for every response it sends (hl_http_res_add_header and
 * set_header[_n]): a name must be an RFC 9110 token, a value must hold no CR,
 * LF or NUL, at any length (the check goes eight bytes a step with a byte
 * tail, long values by memchr: every path and each boundary, with the bad
 * byte first, inside and last); what is refused leaves nothing behind, what
 * is accepted is sent as given. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdlib.h>
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

/* ---- set replaces case-insensitively, add keeps repeats, remove takes every
 * one of a name (and only that name: not one it is a prefix of); the headers
 * the server itself acts on (Date, Content-Length, Connection,
 * Transfer-Encoding) are told apart in any case, and a name of the same
 * length that is not one of them is an ordinary header ---- */
static int sem_checked;
static void sem_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  const char *path = hl_http_req_path(req);
  if (strcmp(path, "/set") == 0) {
    cr_assert_eq(hl_http_res_set_header(res, "X-Abc", "1"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "X-Ab", "prefix"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "x-aBC", "2"), 0); /* replaces X-Abc */
    cr_assert_eq(hl_http_res_add_header(res, "X-Rep", "a"), 0);
    cr_assert_eq(hl_http_res_add_header(res, "x-rep", "b"), 0);
    cr_assert_eq(hl_http_res_add_header(res, "X-Gone", "g"), 0);
    cr_assert_eq(hl_http_res_add_header(res, "X-GONE", "h"), 0);
    cr_assert_str_eq(hl_http_res_get_header(res, "X-ABC"), "2");
    cr_assert_str_eq(hl_http_res_get_header(res, "x-ab"), "prefix");
    cr_assert_null(hl_http_res_get_header(res, "X-A"));
    cr_assert_null(hl_http_res_get_header(res, "X-Abcd"));
    cr_assert_str_eq(hl_http_res_get_header(res, "X-REP"), "a"); /* the first */
    cr_assert_eq(hl_http_res_remove_header(res, "x-gone"), 0);   /* both */
    cr_assert_eq(hl_http_res_remove_header(res, "X-Gone"), HL_ENOENT);
    cr_assert_eq(hl_http_res_remove_header(res, "X-A"), HL_ENOENT); /* a prefix: nothing */
    cr_assert_null(hl_http_res_get_header(res, "X-Gone"));
    cr_assert_eq(hl_http_res_header_count(res), 4);
    const char *n, *v;
    cr_assert_eq(hl_http_res_header_at(res, 0, &n, &v), 0);
    cr_assert_str_eq(n, "X-Ab");
    cr_assert_str_eq(v, "prefix");
    cr_assert_eq(hl_http_res_header_at(res, 1, &n, &v), 0);
    cr_assert_str_eq(n, "x-aBC"); /* spelled as last set */
    cr_assert_str_eq(v, "2");
    /* set over repeats leaves one */
    cr_assert_eq(hl_http_res_set_header(res, "X-REP", "c"), 0);
    cr_assert_eq(hl_http_res_header_count(res), 3);
    cr_assert_eq(hl_http_res_set_header_n(res, "X-Len", 5, "abc", 3), 0);
    /* same lengths as the special names, but ordinary */
    cr_assert_eq(hl_http_res_set_header(res, "Dat3", "d"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "Connectiox", "c"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "Content-Lengtx", "7"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "Transfer-Encodinx", "chunked"), 0);
    sem_checked++;
    hl_http_res_end(res, "ok", 2);
  } else if (strcmp(path, "/special") == 0) {
    cr_assert_eq(hl_http_res_set_header(res, "DATE", "Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "content-LENGTH", "2"), 0);
    cr_assert_eq(hl_http_res_set_header(res, "CONNECTION", "close"), 0);
    sem_checked++;
    hl_http_res_end(res, "ok", 2);
  } else { /* /chunked */
    cr_assert_eq(hl_http_res_set_header(res, "transfer-ENCODING", "chunked"), 0);
    cr_assert_eq(hl_http_res_write(res, "abc", 3), 0);
    sem_checked++;
    hl_http_res_end(res, NULL, 0);
  }
}

static char *sem_get(int port, const char *req) {
  hl_tc_raw_t c;
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, req, strlen(req)), 0);
  hl_tc_wait(&loop, &c.closed);
  char *in = strdup(c.in ? c.in : "");
  hl_tc_raw_free(&c);
  return in;
}

Test(app_http_res_headers, set_replace_remove_and_the_special_names_in_any_case) {
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, sem_handler, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&server, "127.0.0.1", 0, 16), 0);
  int port = hl_http_server_port(&server);

  char *in = sem_get(port, "GET /set HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(strstr(in, "HTTP/1.1 200 OK\r\n"), "%s", in);
  /* in order; a set after repeats goes last */
  cr_assert(strstr(in, "\r\nX-Ab: prefix\r\nx-aBC: 2\r\nX-REP: c\r\nX-Len: abc\r\n"), "%s", in);
  cr_assert_eq(hl_tc_count(in, "X-Abc") + hl_tc_count(in, "x-aBC"), 1, "%s", in);
  cr_assert(strstr(in, "\r\nX-REP: c\r\n"), "%s", in);
  cr_assert_eq(hl_tc_count(in, ": a\r\n") + hl_tc_count(in, ": b\r\n"), 0, "%s", in);
  cr_assert_null(strstr(in, "X-Gone"), "%s", in);
  cr_assert_null(strstr(in, "X-GONE"), "%s", in);
  /* the look-alikes went out as they are, and the server still added its own */
  cr_assert(strstr(in, "\r\nDat3: d\r\n") && strstr(in, "\r\nDate: "), "%s", in);
  cr_assert(strstr(in, "\r\nConnectiox: c\r\n") && strstr(in, "\r\nContent-Lengtx: 7\r\n"), "%s",
            in);
  cr_assert(strstr(in, "\r\nContent-Length: 2\r\n") && strstr(in, "\r\n\r\nok"), "%s", in);
  cr_assert(strstr(in, "\r\nTransfer-Encodinx: chunked\r\n"), "%s", in);
  cr_assert_null(strstr(in, "\r\nTransfer-Encoding:"), "%s", in);
  free(in);

  /* keep-alive asked, but the response's own CONNECTION: close wins; its
   * Date and Content-Length are the only ones */
  in = sem_get(port, "GET /special HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_assert(strstr(in, "\r\nDATE: Thu, 01 Jan 1970 00:00:00 GMT\r\n"), "%s", in);
  cr_assert_eq(hl_tc_count(in, "ate: "), 0, "%s", in);
  cr_assert(strstr(in, "\r\ncontent-LENGTH: 2\r\n"), "%s", in);
  cr_assert_eq(hl_tc_count(in, "ength: "), 0, "%s", in);
  cr_assert(strstr(in, "\r\nCONNECTION: close\r\n"), "%s", in);
  cr_assert_eq(hl_tc_count(in, "onnection: "), 0, "%s", in);
  cr_assert(strstr(in, "\r\n\r\nok"), "%s", in);
  free(in); /* and the server closed: sem_get returned on the close */

  in = sem_get(port, "GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(strstr(in, "\r\ntransfer-ENCODING: chunked\r\n"), "%s", in);
  cr_assert_null(strstr(in, "Content-Length"), "%s", in);
  cr_assert(strstr(in, "\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "%s", in);
  free(in);
  cr_assert_eq(sem_checked, 3);

  cr_assert_eq(hl_http_server_close(&server, on_srv_closed), 0);
  hl_tc_wait(&loop, &srv_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(hl_loop_close(&loop), 0);
}
