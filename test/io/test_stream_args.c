/* test/io/test_stream_args.c - argument and state validation of every public
 * function of include/hookloop/stream.h: NULL, uninitialized (zeroed) handles,
 * the wrong kind, out-of-range values, wrong state (listen on a socket, accept
 * into a typed handle, read on a handle with no connection); none crashes and
 * none leaks. Also the basics that need no peer: bind, names, options.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "counting.h"

static hl_loop_t loop;
static void conn_cb(hl_stream_t *s, int st) {
  (void)s;
  (void)st;
}
static void connect_cb(hl_stream_t *s, int st) {
  (void)s;
  (void)st;
}
static void read_cb(hl_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)s;
  (void)n;
  (void)b;
}

Test(stream_args, every_function) {
  hl_counting_on();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_tcp_t tcp, zero_tcp;
  hl_pipe_t pipe_, zero_pipe;
  memset(&zero_tcp, 0, sizeof zero_tcp);
  memset(&zero_pipe, 0, sizeof zero_pipe);
  hl_stream_t *zs = HL_STREAM(&zero_tcp);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  struct sockaddr un = {.sa_family = AF_UNIX};
  char buf[8] = "x";
  uv_buf_t b = uv_buf_init(buf, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  size_t plen = 8;

  /* init */
  cr_assert_eq(hl_tcp_init(NULL, &tcp), HL_EINVAL);
  cr_assert_eq(hl_tcp_init(&loop, NULL), HL_EINVAL);
  cr_assert_eq(hl_pipe_init(NULL, &pipe_), HL_EINVAL);
  cr_assert_eq(hl_pipe_init(&loop, NULL), HL_EINVAL);
  /* every function on NULL and on a zeroed (never initialized) handle */
  for (int i = 0; i < 2; i++) {
    hl_tcp_t *t = i ? &zero_tcp : NULL;
    hl_pipe_t *p = i ? &zero_pipe : NULL;
    hl_stream_t *s = i ? zs : NULL;
    cr_assert_eq(hl_tcp_bind(t, (struct sockaddr *)&a, 0), HL_EINVAL);
    cr_assert_eq(hl_tcp_connect(t, "127.0.0.1", 80, connect_cb), HL_EINVAL);
    cr_assert_eq(hl_tcp_connect_addr(t, (struct sockaddr *)&a, connect_cb), HL_EINVAL);
    cr_assert_eq(hl_tcp_nodelay(t, 1), HL_EINVAL);
    cr_assert_eq(hl_tcp_keepalive(t, 1, 10), HL_EINVAL);
    cr_assert_eq(hl_tcp_sockname(t, (struct sockaddr *)&ss, &len), HL_EINVAL);
    cr_assert_eq(hl_tcp_peername(t, (struct sockaddr *)&ss, &len), HL_EINVAL);
    cr_assert_eq(hl_tcp_port(t), HL_EINVAL);
    cr_assert_eq(hl_pipe_bind(p, "/tmp/x"), HL_EINVAL);
    cr_assert_eq(hl_pipe_connect(p, "/tmp/x", connect_cb), HL_EINVAL);
    cr_assert_eq(hl_pipe_open(p, 0), HL_EINVAL);
    cr_assert_eq(hl_pipe_sockname(p, buf, &plen), HL_EINVAL);
    cr_assert_eq(hl_pipe_peername(p, buf, &plen), HL_EINVAL);
    cr_assert_eq(hl_listen(s, 1, conn_cb), HL_EINVAL);
    cr_assert_eq(hl_accept(s, s), HL_EINVAL);
    cr_assert_eq(hl_read_start(s, NULL, read_cb), HL_EINVAL);
    cr_assert_eq(hl_read_stop(s), HL_EINVAL);
    cr_assert_eq(hl_buf_keep(s, &b), HL_EINVAL);
    cr_assert_eq(hl_write(s, &b, 1, NULL, NULL), HL_EINVAL);
    cr_assert_eq(hl_try_write(s, &b, 1), HL_EINVAL);
    cr_assert_eq(hl_shutdown(s, NULL, NULL), HL_EINVAL);
    cr_assert_eq(hl_close(s, NULL), HL_EINVAL);
    cr_assert_eq(hl_stream_write_queue_size(s), 0);
    cr_assert_eq(hl_stream_async_id(s), -1);
    cr_assert_eq(hl_stream_is_closing(s), 1);
  }
  cr_assert_eq(hl_buf_release(NULL, buf), HL_EINVAL);
  cr_assert_eq(hl_buf_release(&loop, NULL), HL_EINVAL);

  /* bad values on good handles */
  cr_assert_eq(hl_tcp_init(&loop, &tcp), 0);
  cr_assert_eq(hl_pipe_init(&loop, &pipe_), 0);
  hl_stream_t *ts = HL_STREAM(&tcp), *ps = HL_STREAM(&pipe_);
  cr_assert_eq(hl_buf_release(&loop, buf), HL_EINVAL, "not a pool buffer");
  cr_assert_eq(hl_tcp_bind(&tcp, NULL, 0), HL_EINVAL);
  cr_assert_eq(hl_tcp_bind(&tcp, &un, 0), HL_EINVAL);
  cr_assert_eq(hl_tcp_bind(&tcp, (struct sockaddr *)&a, 0x100), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect(&tcp, NULL, 80, connect_cb), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect(&tcp, "", 80, connect_cb), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect(&tcp, "127.0.0.1", 0, connect_cb), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect(&tcp, "127.0.0.1", 65536, connect_cb), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect(&tcp, "127.0.0.1", 80, NULL), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect_addr(&tcp, NULL, connect_cb), HL_EINVAL);
  cr_assert_eq(hl_tcp_connect_addr(&tcp, &un, connect_cb), HL_EINVAL);
  cr_assert_eq(hl_tcp_keepalive(&tcp, 1, 0), HL_EINVAL);
  cr_assert_eq(hl_tcp_sockname(&tcp, NULL, &len), HL_EINVAL);
  cr_assert_eq(hl_tcp_sockname(&tcp, (struct sockaddr *)&ss, NULL), HL_EINVAL);
  cr_assert_eq(hl_tcp_peername(&tcp, NULL, &len), HL_EINVAL);
  cr_assert_eq(hl_pipe_bind(&pipe_, NULL), HL_EINVAL);
  cr_assert_eq(hl_pipe_bind(&pipe_, ""), HL_EINVAL);
  char longpath[200];
  memset(longpath, 'a', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = 0;
  cr_assert_eq(hl_pipe_bind(&pipe_, longpath), UV_ENAMETOOLONG);
  cr_assert_eq(hl_pipe_connect(&pipe_, longpath, connect_cb), UV_ENAMETOOLONG);
  cr_assert_eq(hl_pipe_connect(&pipe_, "/tmp/x", NULL), HL_EINVAL);
  cr_assert_eq(hl_pipe_open(&pipe_, -1), HL_EINVAL);
  cr_assert_eq(hl_pipe_sockname(&pipe_, NULL, &plen), HL_EINVAL);
  cr_assert_eq(hl_pipe_sockname(&pipe_, buf, NULL), HL_EINVAL);
  /* the wrong kind */
  cr_assert_eq(hl_tcp_nodelay((hl_tcp_t *)&pipe_, 1), HL_EINVAL);
  cr_assert_eq(hl_pipe_bind((hl_pipe_t *)&tcp, "/tmp/x"), HL_EINVAL);
  cr_assert_eq(hl_accept(ts, ps), HL_EINVAL);
  cr_assert_eq(hl_accept(ts, ts), HL_EINVAL);
  /* bad values on the common functions */
  cr_assert_eq(hl_listen(ts, 0, conn_cb), HL_EINVAL);
  cr_assert_eq(hl_listen(ts, 1, NULL), HL_EINVAL);
  cr_assert_eq(hl_read_start(ts, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_write(ts, NULL, 1, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_write(ts, &b, 0, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_write(ts, &b, 1025, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_try_write(ts, NULL, 1), HL_EINVAL);
  cr_assert_eq(hl_buf_keep(ts, NULL), HL_EINVAL);
  cr_assert_eq(hl_buf_keep(ts, &b), HL_EINVAL, "not inside a pool read");
  /* state: no connection yet */
  cr_assert_eq(hl_read_start(ts, NULL, read_cb), UV_ENOTCONN);
  cr_assert_eq(hl_write(ts, &b, 1, NULL, NULL), UV_ENOTCONN);
  cr_assert_eq(hl_try_write(ts, &b, 1), UV_ENOTCONN);
  cr_assert_eq(hl_shutdown(ts, NULL, NULL), UV_ENOTCONN);
  cr_assert_eq(hl_read_stop(ts), 0);
  cr_assert_eq(hl_accept(ts, ts), HL_EINVAL);
  /* a server: accept needs an untyped client, a server cannot connect */
  cr_assert_eq(hl_tcp_bind(&tcp, (struct sockaddr *)&a, 0), 0);
  cr_assert_eq(hl_tcp_nodelay(&tcp, 1), 0);
  cr_assert_eq(hl_tcp_keepalive(&tcp, 1, 10), 0);
  cr_assert_eq(hl_tcp_keepalive(&tcp, 0, 0), 0);
  cr_assert_eq(hl_listen(ts, 8, conn_cb), 0);
  cr_assert_gt(hl_stream_async_id(ts), 1);
  cr_assert_gt(hl_tcp_port(&tcp), 0);
  len = sizeof ss;
  cr_assert_eq(hl_tcp_peername(&tcp, (struct sockaddr *)&ss, &len), UV_ENOTCONN);
  cr_assert_eq(hl_tcp_connect(&tcp, "127.0.0.1", 80, connect_cb), HL_ESTATE);
  hl_tcp_t other;
  cr_assert_eq(hl_tcp_init(&loop, &other), 0);
  cr_assert_eq(hl_accept(ts, HL_STREAM(&other)), UV_EAGAIN, "nothing waiting");
  cr_assert_eq(hl_accept(HL_STREAM(&other), ts), HL_ESTATE, "not a server");
  cr_assert_eq(hl_read_start(ts, NULL, read_cb), UV_ENOTCONN);
  /* a pipe opened on a socket is a socket: it cannot listen */
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  cr_assert_eq(hl_pipe_open(&pipe_, sv[0]), 0);
  cr_assert_eq(hl_pipe_open(&pipe_, sv[1]), HL_ESTATE);
  cr_assert_eq(hl_listen(ps, 1, conn_cb), HL_ESTATE);
  cr_assert_eq(hl_try_write(ps, &b, 1), 1);
  close(sv[1]);

  cr_assert_eq(hl_close(ts, NULL), 0);
  cr_assert_eq(hl_close(ps, NULL), 0);
  cr_assert_eq(hl_close(HL_STREAM(&other), NULL), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0);
  hl_counting_off();
}
