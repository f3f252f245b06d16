/* test/http/test_curl.c - the server against a real client (curl, run as a
 * child process; the server runs in the test's loop, which is driven until
 * curl exits): request fields, headers in order with repeats and
 * case-insensitive lookup, remote address, response headers, keep-alive (two
 * URLs on one connection), chunked uploads with Expect: 100-continue,
 * back-pressure (pause/resume), trailers, HTTP/1.0 and a unix socket. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

/* ---- request fields ------------------------------------------------------------ */

static struct {
  char method[16], url[64], path[64], query[64], remote[64];
  int major, minor, xa_first, xa_order_ok, requests;
  char xa1[16], xa2[16];
  hl_async_id_t conn_ids[4];
} seen;

static void fields_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  snprintf(seen.method, sizeof seen.method, "%s", hl_http_req_method(req));
  snprintf(seen.url, sizeof seen.url, "%s", hl_http_req_url(req));
  snprintf(seen.path, sizeof seen.path, "%s", hl_http_req_path(req));
  snprintf(seen.query, sizeof seen.query, "%s", hl_http_req_query(req));
  hl_http_req_version(req, &seen.major, &seen.minor);
  const char *v = hl_http_req_header(req, "X-A"); /* sent as "X-A" and "x-a" */
  snprintf(seen.xa1, sizeof seen.xa1, "%s", v ? v : "");
  size_t pos = 0;
  hl_http_req_header_next(req, "x-a", &pos);
  v = hl_http_req_header_next(req, "X-a", &pos);
  snprintf(seen.xa2, sizeof seen.xa2, "%s", v ? v : "");
  /* order: X-A before x-a before X-Other */
  int ia = -1, ib = -1, ic = -1;
  for (size_t i = 0; i < hl_http_req_header_count(req); i++) {
    const char *n, *val;
    cr_assert_eq(hl_http_req_header_at(req, i, &n, &val), 0);
    if (!strcmp(n, "X-A"))
      ia = (int)i;
    if (!strcmp(n, "x-a"))
      ib = (int)i;
    if (!strcmp(n, "X-Other"))
      ic = (int)i;
  }
  seen.xa_order_ok = ia >= 0 && ia < ib && ib < ic;
  cr_assert_eq(hl_http_req_header_at(req, hl_http_req_header_count(req), NULL, NULL), HL_EINVAL);
  struct sockaddr_storage ss;
  cr_assert_eq(hl_http_conn_remote(hl_http_req_conn(req), &ss), 0);
  uv_ip4_name((struct sockaddr_in *)&ss, seen.remote, sizeof seen.remote);
  if (seen.requests < 4)
    seen.conn_ids[seen.requests] = hl_http_conn_async_id(hl_http_req_conn(req));
  seen.requests++;
  cr_assert_eq(hl_http_res_set_header(res, "X-Rep", "a"), 0);
  cr_assert_eq(hl_http_res_add_header(res, "X-Rep", "b"), 0);
  cr_assert_eq(hl_http_res_set_header(res, "X-Gone", "z"), 0);
  cr_assert_eq(hl_http_res_remove_header(res, "x-gone"), 0);
  cr_assert_eq(hl_http_res_remove_header(res, "x-gone"), HL_ENOENT);
  cr_assert_str_eq(hl_http_res_get_header(res, "x-rep"), "a");
  cr_assert_eq(hl_http_res_status(res, 201, NULL), 0);
  cr_assert_eq(hl_http_res_end(res, "hello", 5), 0);
}

Test(http_curl, request_fields_and_response_headers) {
  srv_start(fields_handler, NULL);
  memset(&seen, 0, sizeof seen);
  char url[128];
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){"-i", "-H", "X-A: one", "-H", "x-a: two", "-H", "X-Other: y",
                          (char *)url_of(url, sizeof url, "/p/a?x=1&y=2"), NULL});
  cr_assert_str_eq(seen.method, "GET");
  cr_assert_str_eq(seen.url, "/p/a?x=1&y=2");
  cr_assert_str_eq(seen.path, "/p/a");
  cr_assert_str_eq(seen.query, "x=1&y=2");
  cr_assert_eq(seen.major, 1);
  cr_assert_eq(seen.minor, 1);
  cr_assert_str_eq(seen.xa1, "one");
  cr_assert_str_eq(seen.xa2, "two");
  cr_assert(seen.xa_order_ok, "headers not in the order sent");
  cr_assert_str_eq(seen.remote, "127.0.0.1");
  cr_assert(strstr(p.in, "HTTP/1.1 201 Created\r\n"), "%s", p.in);
  cr_assert(strstr(p.in, "X-Rep: a\r\nX-Rep: b\r\n"), "%s", p.in);
  cr_assert_null(strstr(p.in, "X-Gone"));
  cr_assert(strstr(p.in, "Content-Length: 5\r\n"), "%s", p.in);
  cr_assert(strstr(p.in, "Date: "), "%s", p.in);
  cr_assert(strstr(p.in, "\r\n\r\nhello"), "%s", p.in);
  hl_tc_proc_free(&p);
  srv_stop();
}

Test(http_curl, keep_alive_reuses_the_connection) {
  srv_start(fields_handler, NULL);
  memset(&seen, 0, sizeof seen);
  char u1[128], u2[128];
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){(char *)url_of(u1, sizeof u1, "/one"),
                          (char *)url_of(u2, sizeof u2, "/two"), NULL});
  cr_assert_eq(seen.requests, 2);
  cr_assert_eq(seen.conn_ids[0], seen.conn_ids[1], "second request on another connection");
  cr_assert_str_eq(p.in, "hellohello");
  hl_tc_proc_free(&p);
  srv_stop();
}

/* ---- uploads --------------------------------------------------------------------- */

static struct {
  size_t bytes, data_calls;
  uint32_t sum;
  int expects, ended, paused, pauses, data_while_paused;
  hl_http_req_t *req;
} up;

static void up_resume(void *arg) {
  hl_http_req_t *req = arg;
  up.paused = 0;
  cr_assert_eq(hl_http_req_resume(req), 0);
}

static void up_data(hl_http_req_t *req, const char *d, size_t n, void *arg) {
  if (up.paused)
    up.data_while_paused++;
  up.bytes += n;
  up.data_calls++;
  for (size_t i = 0; i < n; i++)
    up.sum = up.sum * 31 + (unsigned char)d[i];
  if (arg) { /* back-pressure: pause after every piece, resume from an immediate */
    up.paused = 1;
    up.pauses++;
    cr_assert_eq(hl_http_req_pause(req), 0);
    cr_assert_eq(hl_set_immediate(&loop, up_resume, req, NULL), 0);
  }
}

static void up_end(hl_http_req_t *req, void *arg) {
  (void)arg;
  up.ended = 1;
  char body[64];
  int n = snprintf(body, sizeof body, "%zu %u", up.bytes, up.sum);
  hl_http_res_t *res = NULL;
  /* the response of this request: kept by the handler */
  res = hl_http_req_get_data(req);
  cr_assert_eq(hl_http_res_end(res, body, (size_t)n), 0);
}

static int up_pause;
static void up_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  up.expects = hl_http_req_expects_continue(req);
  hl_http_req_set_data(req, res);
  cr_assert_eq(hl_http_req_on_body(req, up_data, up_end, up_pause ? &up : NULL), 0);
}

static void make_file(char *dir, char *path, size_t size, uint32_t *sum) {
  strcpy(dir, "/tmp/hl-http-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  sprintf(path, "%s/body", dir);
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  char *b = malloc(size);
  *sum = 0;
  for (size_t i = 0; i < size; i++) {
    b[i] = (char)('a' + (i * 7) % 26);
    *sum = *sum * 31 + (unsigned char)b[i];
  }
  cr_assert_eq(write(fd, b, size), (ssize_t)size);
  close(fd);
  free(b);
}

static void upload(int pause) {
  up_pause = pause;
  memset(&up, 0, sizeof up);
  srv_start(up_handler, NULL);
  char dir[64], path[96], data[128], url[128], want[64];
  uint32_t sum;
  size_t size = 300000;
  make_file(dir, path, size, &sum);
  snprintf(data, sizeof data, "@%s", path);
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){"-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                          "--data-binary", data, (char *)url_of(url, sizeof url, "/up"), NULL});
  snprintf(want, sizeof want, "%zu %u", size, sum);
  cr_assert_str_eq(p.in, want);
  cr_assert_eq(up.expects, 1);
  cr_assert_eq(up.ended, 1);
  cr_assert_eq(up.data_while_paused, 0, "data delivered while paused");
  if (pause)
    cr_assert_gt(up.pauses, 1);
  hl_tc_proc_free(&p);
  unlink(path);
  rmdir(dir);
  srv_stop();
}

Test(http_curl, chunked_upload_with_100_continue) {
  upload(0);
}

Test(http_curl, pause_resume_back_pressure) {
  upload(1);
}

/* ---- trailers, HTTP/1.0, unix socket ------------------------------------------ */

static void trailer_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  cr_assert_eq(hl_http_res_add_trailer(res, "X-Checksum", "abc"), 0);
  cr_assert_eq(hl_http_res_write(res, "part1-", 6), 0);
  cr_assert_eq(hl_http_res_headers_sent(res), 1);
  cr_assert_eq(hl_http_res_set_header(res, "X-Late", "1"), HL_ESTATE);
  cr_assert_eq(hl_http_res_write(res, "part2", 5), 0);
  cr_assert_eq(hl_http_res_end(res, NULL, 0), 0);
  cr_assert_eq(hl_http_res_end(res, NULL, 0), HL_ESTATE);
}

Test(http_curl, chunked_response_with_trailers) {
  srv_start(trailer_handler, NULL);
  char url[128];
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){"-i", "--raw", (char *)url_of(url, sizeof url, "/"), NULL});
  cr_assert(strstr(p.in, "Transfer-Encoding: chunked\r\n"), "%s", p.in);
  cr_assert(strstr(p.in, "\r\n\r\n6\r\npart1-\r\n5\r\npart2\r\n0\r\nX-Checksum: abc\r\n\r\n"), "%s",
            p.in);
  hl_tc_proc_free(&p);
  srv_stop();
}

Test(http_curl, http_1_0) {
  srv_start(fields_handler, NULL);
  memset(&seen, 0, sizeof seen);
  char url[128];
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){"-i", "--http1.0", (char *)url_of(url, sizeof url, "/"), NULL});
  cr_assert_eq(seen.minor, 0);
  cr_assert(strstr(p.in, "Connection: close\r\n"), "%s", p.in);
  cr_assert(strstr(p.in, "\r\n\r\nhello"), "%s", p.in);
  hl_tc_proc_free(&p);
  srv_stop();
}

static void hello_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  hl_http_res_end(res, "over unix", 9);
}

Test(http_curl, unix_socket) {
  char dir[64], path[96];
  strcpy(dir, "/tmp/hl-http-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/sock", dir);
  server_closed = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, hello_handler, NULL), 0);
  cr_assert_eq(hl_http_server_listen_unix(&server, path, 16), 0);
  cr_assert_eq(hl_http_server_port(&server), HL_ESTATE);
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){"--unix-socket", path, "http://localhost/", NULL});
  cr_assert_str_eq(p.in, "over unix");
  hl_tc_proc_free(&p);
  srv_stop();
  unlink(path);
  rmdir(dir);
}
