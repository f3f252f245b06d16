/* test/http/common.h - the fixture the HTTP tests share: a loop, a server on
 * 127.0.0.1 with a kernel-chosen port, and teardown that closes the server
 * gracefully and checks that the loop closes clean (nothing leaked). */
#ifndef HL_TEST_HTTP_COMMON_H
#define HL_TEST_HTTP_COMMON_H

#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_client.h"

static hl_loop_t loop;
static hl_http_server_t server;
static int port;
static int server_closed;

static void on_server_closed(hl_http_server_t *s) {
  (void)s;
  server_closed = 1;
}

static void srv_start(hl_http_request_cb cb, const hl_http_limits_t *lim) {
  server_closed = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, cb, lim), 0);
  cr_assert_eq(hl_http_server_listen(&server, "127.0.0.1", 0, 128), 0);
  port = hl_http_server_port(&server);
  cr_assert_gt(port, 0);
}

static void srv_stop(void) {
  cr_assert_eq(hl_http_server_close(&server, on_server_closed), 0);
  hl_tc_wait(&loop, &server_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* Send `req` on a fresh connection and collect everything until the server
 * closes it. The caller frees with hl_tc_raw_free(). */
__attribute__((unused)) static void raw_exchange(hl_tc_raw_t *c, const char *req) {
  cr_assert_eq(hl_tc_raw_start(&loop, c, port, NULL, req, strlen(req)), 0);
  hl_tc_wait(&loop, &c->closed);
}

/* Send n pipelined `GET /<k>` requests in one write (the last with
 * Connection: close) and collect every response, as raw_exchange(). */
__attribute__((unused)) static void pipelined_gets(hl_tc_raw_t *c, int n) {
  char *buf = malloc((size_t)n * 64);
  cr_assert_not_null(buf);
  size_t len = 0;
  for (int k = 0; k < n; k++)
    len +=
        (size_t)snprintf(buf + len, (size_t)n * 64 - len, "GET /%d HTTP/1.1\r\nHost: x\r\n%s\r\n",
                         k, k == n - 1 ? "Connection: close\r\n" : "");
  cr_assert_eq(hl_tc_raw_start(&loop, c, port, NULL, buf, len), 0);
  free(buf); /* the client copied it */
  hl_tc_wait(&loop, &c->closed);
  cr_assert_eq(hl_tc_count(c->in, "HTTP/1.1 200 OK"), n);
}

/* Run curl with the given arguments (NULL-terminated) to completion. */
__attribute__((unused)) static void curl_run(hl_tc_proc_t *p, char **args) {
  char *argv[32] = {"curl", "-s", "-S"};
  int n = 3;
  for (int i = 0; args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  cr_assert_eq(hl_tc_spawn(&loop, p, argv), 0, "spawn curl");
  hl_tc_wait2(&loop, &p->exited, &p->out_done);
  cr_assert_eq(p->status, 0, "curl exit status %d, output: %s", p->status, p->in ? p->in : "");
}

__attribute__((unused)) static const char *url_of(char *buf, size_t n, const char *path) {
  snprintf(buf, n, "http://127.0.0.1:%d%s", port, path);
  return buf;
}

#endif
