/* test/app/test_http_serve.c - the ways the app answers and is served over
 * HTTP: files (small, larger than one read, empty, HEAD, missing, a
 * directory), a stream written from timers (chunked), a client leaving
 * during a stream, a unix socket, a server of the application's own
 * (hl_app_attach, hl_app_handle from its request callback, and from outside
 * the request's context: refused, answered 500, nothing left held), and the public
 * API's argument and state checks (listen twice, a port in use then a retry,
 * free while listening, close twice, listen again after a close). */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "http_fixture.h"
#include "app/http_io.h" /* the app's counts (handle_outside_the_requests_context) */

TestSuite(app_http_serve, .init = fx_setup, .fini = fx_teardown);

/* ---- files ---- */
static char dir[64];
static char *big;
#define BIG_LEN (200 * 1024 + 7)

static void write_file(const char *name, const char *data, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, data, len), (ssize_t)len);
  close(fd);
}
static hl_value_t serve_file(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  return hl_file(hl_ctx_printf(ctx, "%s/%s", dir, hl_ctx_param(ctx, "*")), NULL);
}

Test(app_http_serve, files) {
  snprintf(dir, sizeof dir, "/tmp/hl_app_files_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  big = malloc(BIG_LEN + 1);
  for (size_t i = 0; i < BIG_LEN; i++)
    big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
  big[BIG_LEN] = '\0';
  write_file("hello.txt", "hello file\n", 11);
  write_file("big.bin", big, BIG_LEN);
  write_file("empty.txt", "", 0);
  char sub[128];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  cr_assert_eq(mkdir(sub, 0700), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/files/*", "file", serve_file, NULL, NULL), 0);
  fx_listen();

  hl_tc_proc_t p;
  char v[64];
  curl_i(&p, "/files/hello.txt", NULL);
  cr_assert_eq(resp_status(p.in), 200, "%s", p.in);
  cr_assert_str_eq(resp_header(p.in, "Content-Type", v, sizeof v), "text/plain; charset=utf-8");
  cr_assert_str_eq(resp_header(p.in, "Content-Length", v, sizeof v), "11");
  cr_assert_str_eq(resp_body(p.in), "hello file\n");
  hl_tc_proc_free(&p);

  curl_i(&p, "/files/big.bin", NULL);
  cr_assert_eq(resp_status(p.in), 200);
  snprintf(sub, sizeof sub, "%d", BIG_LEN);
  cr_assert_str_eq(resp_header(p.in, "Content-Length", v, sizeof v), sub);
  cr_assert_str_eq(resp_header(p.in, "Content-Type", v, sizeof v), "application/octet-stream");
  cr_assert_eq(strlen(resp_body(p.in)), BIG_LEN);
  cr_assert_eq(memcmp(resp_body(p.in), big, BIG_LEN), 0);
  hl_tc_proc_free(&p);

  curl_i(&p, "/files/big.bin", (char *[]){"-I", NULL});
  cr_assert_eq(resp_status(p.in), 200);
  cr_assert_str_eq(resp_header(p.in, "Content-Length", v, sizeof v), sub);
  cr_assert_str_eq(resp_body(p.in), "");
  hl_tc_proc_free(&p);

  curl_i(&p, "/files/empty.txt", NULL);
  cr_assert_eq(resp_status(p.in), 200);
  cr_assert_str_eq(resp_header(p.in, "Content-Length", v, sizeof v), "0");
  hl_tc_proc_free(&p);

  curl_i(&p, "/files/missing.txt", NULL);
  cr_assert_eq(resp_status(p.in), 404, "%s", p.in);
  hl_tc_proc_free(&p);
  curl_i(&p, "/files/sub", NULL);
  cr_assert_eq(resp_status(p.in), 404, "%s", p.in);
  hl_tc_proc_free(&p);

  /* keep-alive: two files on one connection */
  char u1[128], u2[128];
  curl_run(&p, (char *[]){(char *)url_of(u1, sizeof u1, "/files/hello.txt"),
                          (char *)url_of(u2, sizeof u2, "/files/hello.txt"), NULL});
  cr_assert_str_eq(p.in, "hello file\nhello file\n");
  hl_tc_proc_free(&p);

  const char *names[] = {"hello.txt", "big.bin", "empty.txt"};
  for (int i = 0; i < 3; i++) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  snprintf(sub, sizeof sub, "%s/sub", dir);
  rmdir(sub);
  rmdir(dir);
  free(big);
}

/* ---- a stream written from timers ---- */
typedef struct {
  hl_ctx_t *ctx;
  int n;
} st_t;
static int stream_write_rc, stream_done;
static void stream_tick(void *arg) {
  st_t *s = arg;
  if (s->n < 3) {
    char buf[16];
    int k = snprintf(buf, sizeof buf, "part%d;", s->n++);
    stream_write_rc = hl_ctx_stream_write(s->ctx, buf, (size_t)k);
    if (stream_write_rc == 0) {
      cr_assert_eq(hl_set_timeout(&loop, stream_tick, s, 1, NULL), 0);
      return;
    }
  }
  hl_ctx_stream_end(s->ctx);
  stream_done = 1;
}
static void stream_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  st_t *s = hl_ctx_alloc(ctx, sizeof *s);
  s->ctx = ctx;
  s->n = 0;
  stream_tick(s);
}
static hl_value_t streamer(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_stream(stream_fn, NULL, "text/plain");
}

Test(app_http_serve, stream_chunked) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/s", "s", streamer, NULL, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  raw_exchange(&c, "GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char v[64];
  cr_assert_eq(resp_status(c.in), 200, "%s", c.in);
  cr_assert_str_eq(resp_header(c.in, "Transfer-Encoding", v, sizeof v), "chunked");
  cr_assert_str_eq(resp_body(c.in), "6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n");
  cr_assert_eq(stream_done, 1);
  hl_tc_raw_free(&c);
}

static int after_ran;
static hl_value_t after_fn(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  after_ran = 1;
  return hl_none();
}
static void slow_tick(void *arg) {
  st_t *s = arg;
  stream_write_rc = hl_ctx_stream_write(s->ctx, "x", 1);
  if (stream_write_rc == 0 && s->n++ < 100000) {
    cr_assert_eq(hl_set_timeout(&loop, slow_tick, s, 1, NULL), 0);
    return;
  }
  hl_ctx_stream_end(s->ctx);
  stream_done = 1;
}
static void slow_stream_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  st_t *s = hl_ctx_alloc(ctx, sizeof *s);
  s->ctx = ctx;
  s->n = 0;
  slow_tick(s);
}
static hl_value_t slow_streamer(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_stream(slow_stream_fn, NULL, NULL);
}

Test(app_http_serve, client_leaves_during_stream) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/s", "s", slow_streamer, NULL, NULL), 0);
  cr_assert_eq(hl_app_on(app, HL_STAGE_AFTER_RESPONSE, "after", after_fn, NULL), 0);
  fx_listen();
  hl_tc_raw_t c;
  const char *req = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, req, strlen(req)), 0);
  while (c.in == NULL || strstr(c.in, "\r\n\r\n") == NULL) /* the head and a first chunk */
    hl_run(&loop, HL_RUN_ONCE);
  hl_tc_raw_close(&c);
  hl_tc_wait(&loop, &after_ran);
  hl_tc_wait(&loop, &stream_done); /* the stream's next write fails, it ends */
  cr_assert_eq(stream_write_rc, HL_ESTATE);
  hl_tc_raw_free(&c);
}

/* ---- a unix socket ---- */
static hl_value_t hello(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("Hello, World!");
}

Test(app_http_serve, unix_socket) {
  char d[64], path[96];
  snprintf(d, sizeof d, "/tmp/hl_app_sock_XXXXXX");
  cr_assert_not_null(mkdtemp(d));
  snprintf(path, sizeof path, "%s/app.sock", d);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hello", hello, NULL, NULL), 0);
  cr_assert_eq(hl_app_listen_unix(app, path, 0), 0);
  cr_assert_eq(hl_app_port(app), HL_ESTATE);
  cr_assert_not_null(hl_app_server(app));
  hl_tc_proc_t p;
  curl_run(&p, (char *[]){"--unix-socket", path, "http://localhost/", NULL});
  cr_assert_str_eq(p.in, "Hello, World!");
  hl_tc_proc_free(&p);
  cr_assert_eq(hl_app_close(app, on_app_closed), 0);
  hl_tc_wait(&loop, &app_closed);
  unlink(path);
  rmdir(d);
}

/* ---- the application's own server ---- */
static hl_http_server_t own;
static int own_closed;
static void on_own_closed(hl_http_server_t *s) {
  (void)s;
  own_closed = 1;
}

Test(app_http_serve, attach_to_own_server) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hello", hello, NULL, NULL), 0);
  cr_assert_eq(hl_http_server_init(&loop, &own, hl_app_http_request, NULL), 0);
  cr_assert_eq(hl_app_attach(app, &own), 0);
  cr_assert_eq(own.data, app);
  cr_assert_eq(hl_http_server_listen(&own, "127.0.0.1", 0, 0), 0);
  port = hl_http_server_port(&own);
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){(char *)url_of(url, sizeof url, "/"), NULL});
  cr_assert_str_eq(p.in, "Hello, World!");
  hl_tc_proc_free(&p);
  cr_assert_null(hl_app_server(app)); /* not the app's own */
  cr_assert_eq(hl_http_server_close(&own, on_own_closed), 0);
  hl_tc_wait(&loop, &own_closed);
}

static hl_app_t *handle_app;
static void mixed_cb(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  if (strcmp(hl_http_req_path(req), "/plain") == 0) {
    hl_http_res_end(res, "plain", 5);
    return;
  }
  cr_assert_eq(hl_app_handle(handle_app, req, res), 0);
}

Test(app_http_serve, handle_from_own_callback) {
  handle_app = app;
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hello", hello, NULL, NULL), 0);
  cr_assert_eq(hl_http_server_init(&loop, &own, mixed_cb, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&own, "127.0.0.1", 0, 0), 0);
  port = hl_http_server_port(&own);
  hl_tc_proc_t p;
  char u1[128], u2[128], u3[128];
  curl_run(&p,
           (char *[]){(char *)url_of(u1, sizeof u1, "/plain"), (char *)url_of(u2, sizeof u2, "/"),
                      (char *)url_of(u3, sizeof u3, "/plain"), NULL});
  cr_assert_str_eq(p.in, "plainHello, World!plain");
  hl_tc_proc_free(&p);
  cr_assert_eq(hl_http_server_close(&own, on_own_closed), 0);
  hl_tc_wait(&loop, &own_closed);
}

/* hl_app_handle outside the request's context (from an immediate, after the
 * server's callback returned): refused (the lifecycle cannot enter the
 * request's context), the client gets a bare 500, and the request the app
 * took goes back to the pool once the server lets go of it: the app closes
 * and frees (fx_teardown) with nothing left in flight. The next request, in
 * context, is answered from the same pool. */
static hl_http_req_t *late_req;
static hl_http_res_t *late_res;
static int late_rc = 1, late_done;
static void late_handle(void *arg) {
  (void)arg;
  late_rc = hl_app_handle(handle_app, late_req, late_res);
  late_done = 1;
}
static void late_cb(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  if (strcmp(hl_http_req_path(req), "/late") != 0) {
    cr_assert_eq(hl_app_handle(handle_app, req, res), 0);
    return;
  }
  late_req = req;
  late_res = res;
  cr_assert_eq(hl_set_immediate(&loop, late_handle, NULL, NULL), 0);
}

Test(app_http_serve, handle_outside_the_requests_context) {
  handle_app = app;
  cr_assert_eq(hl_app_route(app, HL_GET, "/late", "hello", hello, NULL, NULL), 0);
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hello", hello, NULL, NULL), 0);
  cr_assert_eq(hl_http_server_init(&loop, &own, late_cb, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&own, "127.0.0.1", 0, 0), 0);
  port = hl_http_server_port(&own);
  hl_tc_proc_t p;
  char u1[128], u2[128];
  curl_run(&p, (char *[]){"-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} ",
                          (char *)url_of(u1, sizeof u1, "/late"),
                          (char *)url_of(u2, sizeof u2, "/"), NULL});
  cr_assert_eq(late_done, 1);
  cr_assert_eq(late_rc, HL_ESTATE);
  cr_assert_str_eq(p.in, "500 200 ", "%s", p.in);
  hl_tc_proc_free(&p);
  cr_assert_eq(hl_http_server_close(&own, on_own_closed), 0);
  hl_tc_wait(&loop, &own_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  /* nothing of the refused request is left: in its lifecycle, held, or
   * counted by the adapter (fx_teardown then closes and frees the app) */
  cr_assert_eq(app->live, 0);
  cr_assert_eq(app->held, 0);
  cr_assert_eq(app->http->ios, 0);
}

/* ---- argument and state checks ---- */
Test(app_http_serve, api_checks) {
  cr_assert_eq(hl_app_listen(NULL, "127.0.0.1", 0, 0), HL_EINVAL);
  cr_assert_eq(hl_app_listen(app, NULL, 0, 0), HL_EINVAL);
  cr_assert_eq(hl_app_listen(app, "127.0.0.1", -1, 0), HL_EINVAL);
  cr_assert_eq(hl_app_listen(app, "127.0.0.1", 65536, 0), HL_EINVAL);
  cr_assert_eq(hl_app_listen(app, "not-an-ip", 0, 0), HL_EINVAL);
  cr_assert_eq(hl_app_listen_unix(app, "", 0), HL_EINVAL);
  cr_assert_eq(hl_app_listen_unix(NULL, "/tmp/x", 0), HL_EINVAL);
  cr_assert_eq(hl_app_port(NULL), HL_EINVAL);
  cr_assert_eq(hl_app_port(app), HL_ESTATE);
  cr_assert_null(hl_app_server(NULL));
  cr_assert_null(hl_app_server(app));
  cr_assert_eq(hl_app_attach(NULL, &own), HL_EINVAL);
  cr_assert_eq(hl_app_attach(app, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_handle(app, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_close(NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_app_set_limits(NULL, NULL), HL_EINVAL);
  hl_app_http_request(NULL, NULL, NULL); /* ignored */

  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hello", hello, NULL, NULL), 0);
  fx_listen();
  cr_assert_eq(hl_app_listen(app, "127.0.0.1", 0, 0), HL_ESTATE);
  cr_assert_eq(hl_app_free(app), HL_EBUSY);
  /* a port in use: the error, nothing left listening, a retry works */
  hl_app_t *other;
  cr_assert_eq(hl_app_new(&loop, &other), 0);
  cr_assert_eq(hl_app_listen(other, "127.0.0.1", port, 0), UV_EADDRINUSE);
  cr_assert_eq(hl_app_port(other), HL_ESTATE);
  cr_assert_eq(hl_app_free(other), 0);
  /* close; a second close while closing */
  cr_assert_eq(hl_app_close(app, on_app_closed), 0);
  cr_assert_eq(hl_app_close(app, on_app_closed), HL_ESTATE);
  cr_assert_eq(hl_app_listen(app, "127.0.0.1", 0, 0), HL_ESTATE);
  cr_assert_eq(app_closed, 0); /* never inside hl_app_close */
  hl_tc_wait(&loop, &app_closed);
  /* and serve again */
  app_closed = 0;
  fx_listen();
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){(char *)url_of(url, sizeof url, "/"), NULL});
  cr_assert_str_eq(p.in, "Hello, World!");
  hl_tc_proc_free(&p);
}

/* The app may be freed from its close callback. */
static void free_in_cb(hl_app_t *a) {
  cr_assert_eq(hl_app_free(a), 0);
  app_closed = 1;
}
Test(app_http_serve, free_in_close_callback) {
  cr_assert_eq(hl_app_route(app, HL_GET, "/", "hello", hello, NULL, NULL), 0);
  fx_listen();
  hl_tc_proc_t p;
  char url[128];
  curl_run(&p, (char *[]){(char *)url_of(url, sizeof url, "/"), NULL});
  hl_tc_proc_free(&p);
  cr_assert_eq(hl_app_close(app, free_in_cb), 0);
  hl_tc_wait(&loop, &app_closed);
  cr_assert_eq(hl_app_new(&loop, &app), 0); /* for the teardown */
}
