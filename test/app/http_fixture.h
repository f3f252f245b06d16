/* test/app/http_fixture.h - what the app-over-HTTP tests share: a loop and an
 * app listening on 127.0.0.1 (kernel-chosen port), curl run as a child
 * (uv_spawn, the loop driven until it exits: no sleeps), raw socket clients,
 * and a teardown that closes the app, frees it and checks that the loop
 * closes clean. */
#ifndef HL_TEST_APP_HTTP_FIXTURE_H
#define HL_TEST_APP_HTTP_FIXTURE_H

#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_client.h"

static hl_loop_t loop;
static hl_app_t *app;
static int port;
static int app_closed;

static void on_app_closed(hl_app_t *a) {
  cr_assert_eq(a, app);
  app_closed = 1;
}

static void fx_setup(void) {
  app_closed = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_app_new(&loop, &app), 0);
}

/* Listen once routes and hooks are registered. */
__attribute__((unused)) static void fx_listen(void) {
  cr_assert_eq(hl_app_listen(app, "127.0.0.1", 0, 128), 0);
  port = hl_app_port(app);
  cr_assert_gt(port, 0);
}

static void fx_teardown(void) {
  if (!app_closed) { /* a test may have closed the app itself */
    cr_assert_eq(hl_app_close(app, on_app_closed), 0);
    hl_tc_wait(&loop, &app_closed);
  }
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(hl_app_free(app), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

__attribute__((unused)) static const char *url_of(char *buf, size_t n, const char *path) {
  snprintf(buf, n, "http://127.0.0.1:%d%s", port, path);
  return buf;
}

/* Run curl -s -S with `args` (NULL-terminated) to completion; its stdout is in
 * p->in (free with hl_tc_proc_free()). */
__attribute__((unused)) static void curl_run(hl_tc_proc_t *p, char **args) {
  char *argv[40] = {"curl", "-s", "-S"};
  int n = 3;
  for (int i = 0; args[i] && n < 39; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  memset(p, 0, sizeof *p);
  cr_assert_eq(hl_tc_spawn(&loop, p, argv), 0, "spawn curl");
  hl_tc_wait2(&loop, &p->exited, &p->out_done);
  cr_assert_eq(p->status, 0, "curl exit status %d, output: %s", p->status, p->in ? p->in : "");
}

/* curl -i on `path`, with extra arguments before the URL. */
__attribute__((unused)) static void curl_i(hl_tc_proc_t *p, const char *path, char **extra) {
  char url[160];
  char *args[32] = {"-i"};
  int n = 1;
  for (int i = 0; extra && extra[i] && n < 30; i++)
    args[n++] = extra[i];
  args[n++] = (char *)url_of(url, sizeof url, path);
  args[n] = NULL;
  curl_run(p, args);
}

/* The value of response header `name` in a raw response (case-insensitive),
 * copied into buf; NULL when absent. */
__attribute__((unused)) static const char *resp_header(const char *resp, const char *name,
                                                       char *buf, size_t n) {
  size_t nl = strlen(name);
  const char *end = strstr(resp, "\r\n\r\n");
  for (const char *p = strstr(resp, "\r\n"); p && (!end || p < end); p = strstr(p + 2, "\r\n")) {
    const char *h = p + 2;
    if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
      const char *v = h + nl + 1;
      while (*v == ' ')
        v++;
      const char *e = strstr(v, "\r\n");
      size_t len = e ? (size_t)(e - v) : strlen(v);
      if (len >= n)
        len = n - 1;
      memcpy(buf, v, len);
      buf[len] = '\0';
      return buf;
    }
  }
  return NULL;
}

/* The status code of a raw response, or -1. */
__attribute__((unused)) static int resp_status(const char *resp) {
  int st = -1;
  if (resp == NULL || sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
    return -1;
  return st;
}

/* The body of a raw response (after the head), or "". */
__attribute__((unused)) static const char *resp_body(const char *resp) {
  const char *b = resp ? strstr(resp, "\r\n\r\n") : NULL;
  return b ? b + 4 : "";
}

/* One request on a fresh connection (the request should say Connection:
 * close), everything the server sent collected until it closed. */
__attribute__((unused)) static void raw_exchange(hl_tc_raw_t *c, const char *req) {
  memset(c, 0, sizeof *c);
  cr_assert_eq(hl_tc_raw_start(&loop, c, port, NULL, req, strlen(req)), 0);
  hl_tc_wait(&loop, &c->closed);
}

#endif
