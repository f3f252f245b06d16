/* test/io/test_stream_als.c - async-local storage across streams: a store
 * entered in a connection callback (before hl_accept) is the accepted socket's
 * store in its read, write and close callbacks, and never another
 * connection's; 100 connections at once, echoing concurrently. The same for
 * a store set with hl_als_run around the init and accept. Also: the
 * connection callback itself starts with no store (one connection's store does
 * not leak into the server's next callback).
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "counting.h"

#define N 100

typedef struct conn_s {
  hl_tcp_t h; /* first: the handle */
  int idx;
  int reads, writes, closed, bad;
  char wbuf[16];
} conn_t;

typedef struct cli_s {
  hl_tcp_t h;
  int idx;
  char msg[16];
  char got[16];
  size_t ngot;
  int done;
} cli_t;

static hl_loop_t loop;
static hl_als_t als;
static hl_tcp_t server;
static conn_t conns[N];
static cli_t clis[N];
static int naccepted, nclosed_conn, nclosed_cli, conn_cb_saw_store, use_run;

static void conn_closed(hl_stream_t *s) {
  conn_t *c = (conn_t *)s;
  if (hl_als_get_store(&als) != c)
    c->bad++;
  c->closed++;
  nclosed_conn++;
  if (nclosed_conn == N)
    hl_close(HL_STREAM(&server), NULL);
}

static void conn_wrote(hl_stream_t *s, int status, void *arg) {
  conn_t *c = (conn_t *)s;
  cr_assert_eq(status, 0);
  cr_assert_eq(arg, c);
  if (hl_als_get_store(&als) != c)
    c->bad++;
  c->writes++;
}

static void conn_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = (conn_t *)s;
  if (hl_als_get_store(&als) != c)
    c->bad++;
  if (nread < 0) {
    hl_close(s, conn_closed);
    return;
  }
  c->reads++;
  cr_assert_lt((size_t)nread, sizeof c->wbuf);
  memcpy(c->wbuf, buf->base, (size_t)nread);
  uv_buf_t b = uv_buf_init(c->wbuf, (unsigned)nread);
  cr_assert_eq(hl_write(s, &b, 1, conn_wrote, c), 0);
}

static void accept_one(void *arg) {
  conn_t *c = arg;
  cr_assert_eq(hl_tcp_init(&loop, &c->h), 0);
  cr_assert_eq(hl_accept(HL_STREAM(&server), HL_STREAM(&c->h)), 0);
  cr_assert_eq(hl_read_start(HL_STREAM(&c->h), NULL, conn_read), 0);
}

static void on_connection(hl_stream_t *srv, int status) {
  cr_assert_eq(status, 0);
  if (hl_als_get_store(&als) != NULL)
    conn_cb_saw_store++;
  conn_t *c = &conns[naccepted];
  c->idx = naccepted++;
  (void)srv;
  if (use_run) {
    cr_assert_eq(hl_als_run(&als, c, accept_one, c), 0);
  } else {
    cr_assert_eq(hl_als_enter_with(&als, c), 0);
    accept_one(c);
  }
}

static void cli_closed(hl_stream_t *s) {
  (void)s;
  nclosed_cli++;
}

static void cli_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  cli_t *c = (cli_t *)s;
  cr_assert_eq(hl_als_get_store(&als), NULL, "clients never see a server connection's store");
  if (nread < 0) {
    hl_close(s, cli_closed);
    return;
  }
  memcpy(c->got + c->ngot, buf->base, (size_t)nread);
  c->ngot += (size_t)nread;
  if (c->ngot == strlen(c->msg)) {
    c->done = 1;
    hl_close(s, cli_closed); /* the server side sees EOF and closes */
  }
}

static void cli_connected(hl_stream_t *s, int status) {
  cli_t *c = (cli_t *)s;
  cr_assert_eq(status, 0, "connect: %s", hl_strerror(status));
  uv_buf_t b = uv_buf_init(c->msg, (unsigned)strlen(c->msg));
  cr_assert_eq(hl_write(s, &b, 1, NULL, NULL), 0);
  cr_assert_eq(hl_read_start(s, NULL, cli_read), 0);
}

static void run_echo(int run_mode) {
  hl_counting_on();
  use_run = run_mode;
  naccepted = nclosed_conn = nclosed_cli = conn_cb_saw_store = 0;
  memset(conns, 0, sizeof conns);
  memset(clis, 0, sizeof clis);
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  cr_assert_eq(hl_tcp_init(&loop, &server), 0);
  cr_assert_eq(hl_tcp_bind(&server, (struct sockaddr *)&a, 0), 0);
  cr_assert_eq(hl_listen(HL_STREAM(&server), 128, on_connection), 0);
  int port = hl_tcp_port(&server);
  for (int i = 0; i < N; i++) {
    clis[i].idx = i;
    snprintf(clis[i].msg, sizeof clis[i].msg, "hello %d", i);
    cr_assert_eq(hl_tcp_init(&loop, &clis[i].h), 0);
    cr_assert_eq(hl_tcp_connect(&clis[i].h, "127.0.0.1", port, cli_connected), 0);
  }
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "open handles keep the loop busy");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(naccepted, N);
  cr_assert_eq(nclosed_cli, N);
  cr_assert_eq(nclosed_conn, N);
  cr_assert_eq(conn_cb_saw_store, 0);
  for (int i = 0; i < N; i++) {
    cr_assert(clis[i].done);
    cr_assert_eq(memcmp(clis[i].got, clis[i].msg, strlen(clis[i].msg)), 0);
    cr_assert_gt(conns[i].reads, 0);
    cr_assert_eq(conns[i].writes, conns[i].reads);
    cr_assert_eq(conns[i].closed, 1);
    cr_assert_eq(conns[i].bad, 0, "connection %d saw another store", i);
  }
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "leaked %ld allocations", hl_counting_live());
  hl_counting_off();
}

Test(stream_als, enter_with_in_connection_callback_100) {
  run_echo(0);
}

Test(stream_als, run_around_accept_100) {
  run_echo(1);
}
