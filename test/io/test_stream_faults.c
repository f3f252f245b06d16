/* test/io/test_stream_faults.c - streams under faults, each its own test and
 * each checked for leaks with the counting allocator (and by ASan in the
 * sanitizer build): the peer resets in the middle of a write; write (and the
 * rest) after close; close twice; connect to a closed port and to a missing
 * unix socket; a host name that does not resolve; close while the name lookup
 * of a connect runs; accept when the process is out of file descriptors
 * (in a child with a low RLIMIT_NOFILE: the server keeps serving the
 * connections it has, drops what it cannot accept, and accepts again once
 * descriptors free up); hl_loop_close while handles are open.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hookloop.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child.h"
#include "counting.h"
#include "graph.h"
#include "record.h"

static hl_loop_t loop;
static hl_tcp_t server, client, conn;
static int closes, write_status, writes_done, connect_status, connects, accepted;

static void reset_counters(void) {
  closes = writes_done = connects = accepted = 0;
  write_status = connect_status = 1;
}

static void start(void) {
  reset_counters();
  hl_counting_on();
  cr_assert_eq(hl_loop_init(&loop), 0);
}

static void finish(void) {
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "leaked %ld allocations", hl_counting_live());
  hl_counting_off();
}

static void on_close(hl_stream_t *s) {
  (void)s;
  closes++;
}

static int listen_on(hl_connection_cb cb) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  cr_assert_eq(hl_tcp_init(&loop, &server), 0);
  cr_assert_eq(hl_tcp_bind(&server, (struct sockaddr *)&a, 0), 0);
  cr_assert_eq(hl_listen(HL_STREAM(&server), 64, cb), 0);
  return hl_tcp_port(&server);
}

/* ---- peer reset in the middle of a write ---------------------------------- */

#define BIG (32u << 20)
static char *big;

static void big_written(hl_stream_t *s, int status, void *arg) {
  cr_assert_eq(arg, big);
  write_status = status;
  writes_done++;
  hl_close(s, on_close);
}

static void reset_connection(hl_stream_t *srv, int status) {
  cr_assert_eq(status, 0);
  cr_assert_eq(hl_tcp_init(&loop, &conn), 0);
  cr_assert_eq(hl_accept(srv, HL_STREAM(&conn)), 0);
  accepted++;
  uv_buf_t b = uv_buf_init(big, BIG);
  cr_assert_eq(hl_write(HL_STREAM(&conn), &b, 1, big_written, big), 0);
  cr_assert_gt(hl_stream_write_queue_size(HL_STREAM(&conn)), 0,
               "the write is still in flight: the peer reads nothing");
  /* The peer goes away abortively (SO_LINGER 0: RST), mid-write. */
  uv_os_fd_t fd;
  cr_assert_eq(uv_fileno(&client.uv.handle, &fd), 0);
  struct linger lg = {1, 0};
  cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  cr_assert_eq(hl_close(HL_STREAM(&client), on_close), 0);
  cr_assert_eq(hl_close(srv, on_close), 0);
}

static void reset_client_connected(hl_stream_t *s, int status) {
  (void)s;
  connects++;
  connect_status = status; /* 0, or ECANCELED when the reset came first */
}

Test(stream_faults, peer_reset_mid_write) {
  start();
  big = calloc(1, BIG);
  int port = listen_on(reset_connection);
  cr_assert_eq(hl_tcp_init(&loop, &client), 0);
  cr_assert_eq(hl_tcp_connect(&client, "127.0.0.1", port, reset_client_connected), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(accepted, 1);
  cr_assert_eq(writes_done, 1, "the write callback runs exactly once");
  cr_assert_lt(write_status, 0, "the write fails (%d)", write_status);
  cr_assert(write_status == UV_ECONNRESET || write_status == UV_EPIPE, "got %s",
            hl_err_name(write_status));
  cr_assert_eq(connects, 1);
  cr_assert_eq(closes, 3);
  free(big);
  finish();
}

/* ---- write after close, close twice ---------------------------------------- */

static int cancelled_writes;
static void pending_write_cb(hl_stream_t *s, int status, void *arg) {
  (void)arg;
  cr_assert(hl_stream_is_closing(s));
  if (status == UV_ECANCELED)
    cancelled_writes++;
  writes_done++;
}
static void pending_shutdown_cb(hl_stream_t *s, int status, void *arg) {
  (void)s;
  (void)arg;
  cr_assert_eq(status, UV_ECANCELED);
  writes_done++;
}

static char chunk[1 << 20];
static void close_with_pending(hl_stream_t *srv, int status) {
  cr_assert_eq(status, 0);
  cr_assert_eq(hl_tcp_init(&loop, &conn), 0);
  cr_assert_eq(hl_accept(srv, HL_STREAM(&conn)), 0);
  hl_stream_t *c = HL_STREAM(&conn);
  uv_buf_t b = uv_buf_init(chunk, sizeof chunk);
  /* Fill the socket so that writes stay queued, then close. */
  for (int i = 0; i < 64 && hl_stream_write_queue_size(c) == 0; i++)
    cr_assert_eq(hl_write(c, &b, 1, pending_write_cb, NULL), 0);
  cr_assert_eq(hl_write(c, &b, 1, pending_write_cb, NULL), 0);
  cr_assert_eq(hl_shutdown(c, pending_shutdown_cb, NULL), 0);
  cr_assert_gt(hl_stream_write_queue_size(c), 0);
  cr_assert_eq(hl_close(c, on_close), 0);
  /* Everything after close is refused, nothing crashes. */
  cr_assert_eq(hl_write(c, &b, 1, pending_write_cb, NULL), HL_ECLOSED);
  cr_assert_eq(hl_try_write(c, &b, 1), HL_ECLOSED);
  cr_assert_eq(hl_shutdown(c, pending_shutdown_cb, NULL), HL_ECLOSED);
  cr_assert_eq(hl_read_start(c, NULL, (hl_read_cb)1), HL_ECLOSED);
  cr_assert_eq(hl_read_stop(c), HL_ECLOSED);
  cr_assert_eq(hl_tcp_nodelay(&conn, 1), HL_ECLOSED);
  cr_assert_eq(hl_close(c, on_close), HL_ECLOSED, "close twice");
  cr_assert_eq(hl_close(srv, on_close), 0);
  cr_assert_eq(hl_close(HL_STREAM(&client), on_close), 0);
}
static void plain_connected(hl_stream_t *s, int status) {
  (void)s;
  connects++;
  connect_status = status;
}

Test(stream_faults, write_after_close) {
  start();
  int port = listen_on(close_with_pending);
  cr_assert_eq(hl_tcp_init(&loop, &client), 0);
  cr_assert_eq(hl_tcp_connect(&client, "127.0.0.1", port, plain_connected), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(closes, 3, "each close callback once");
  cr_assert_gt(cancelled_writes, 0, "queued writes complete with UV_ECANCELED");
  /* After the close callback: still refused. */
  uv_buf_t b = uv_buf_init(chunk, 1);
  cr_assert_eq(hl_write(HL_STREAM(&conn), &b, 1, NULL, NULL), HL_ECLOSED);
  cr_assert_eq(hl_close(HL_STREAM(&conn), on_close), HL_ECLOSED);
  cr_assert_eq(hl_stream_write_queue_size(HL_STREAM(&conn)), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(closes, 3);
  finish();
}

Test(stream_faults, close_twice) {
  start();
  hl_log_t *log = calloc(1, sizeof *log);
  hl_rec_t rec;
  cr_assert_eq(hl_rec_create(&loop, &rec, log, 0), 0);
  cr_assert_eq(hl_hook_enable(rec.hook), 0);
  listen_on(close_with_pending);
  cr_assert_eq(hl_close(HL_STREAM(&server), on_close), 0);
  cr_assert_eq(hl_close(HL_STREAM(&server), on_close), HL_ECLOSED);
  /* a handle that never got a type: no resource, its close still runs once */
  cr_assert_eq(hl_tcp_init(&loop, &client), 0);
  cr_assert_eq(hl_close(HL_STREAM(&client), on_close), 0);
  cr_assert_eq(hl_close(HL_STREAM(&client), NULL), HL_ECLOSED);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "closing handles keep the loop busy");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(closes, 2);
  cr_assert_eq(hl_close(HL_STREAM(&server), on_close), HL_ECLOSED);
  cr_assert_eq(hl_log_count_type(log, "TCPSERVERWRAP"), 1);
  cr_assert_eq(hl_log_count_type(log, "TCPWRAP"), 0, "the untyped handle is no resource");
  char err[512];
  cr_assert_eq(hl_check_lifecycles(log, err, sizeof err), 0, "%s", err);
  hl_hook_destroy(rec.hook);
  free(log);
  finish();
}

/* ---- connect failures ------------------------------------------------------ */

static void failed_connect(hl_stream_t *s, int status) {
  connects++;
  connect_status = status;
  cr_assert_eq(hl_close(s, on_close), 0);
}

Test(stream_faults, connect_to_closed_port) {
  start();
  /* a port that was just free: bind, read it, close */
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  cr_assert_eq(hl_tcp_init(&loop, &server), 0);
  cr_assert_eq(hl_tcp_bind(&server, (struct sockaddr *)&a, 0), 0);
  int port = hl_tcp_port(&server);
  cr_assert_gt(port, 0);
  cr_assert_eq(hl_close(HL_STREAM(&server), on_close), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_tcp_init(&loop, &client), 0);
  cr_assert_eq(hl_tcp_connect(&client, "127.0.0.1", port, failed_connect), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(connects, 1);
  cr_assert_eq(connect_status, UV_ECONNREFUSED, "got %s", hl_err_name(connect_status));
  cr_assert_eq(closes, 2);
  finish();
}

Test(stream_faults, connect_to_missing_unix_socket) {
  start();
  char dir[] = "/tmp/hl-io-XXXXXX", path[128];
  cr_assert_not_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/none.sock", dir);
  hl_pipe_t p;
  cr_assert_eq(hl_pipe_init(&loop, &p), 0);
  cr_assert_eq(hl_pipe_connect(&p, path, failed_connect), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(connects, 1);
  cr_assert_eq(connect_status, UV_ENOENT, "got %s", hl_err_name(connect_status));
  cr_assert_eq(closes, 1);
  rmdir(dir);
  finish();
}

Test(stream_faults, name_that_does_not_resolve) {
  start();
  hl_log_t *log = calloc(1, sizeof *log);
  hl_rec_t rec;
  cr_assert_eq(hl_rec_create(&loop, &rec, log, 0), 0);
  cr_assert_eq(hl_hook_enable(rec.hook), 0);
  cr_assert_eq(hl_tcp_init(&loop, &client), 0);
  cr_assert_eq(hl_tcp_connect(&client, "no-such-host.invalid", 80, failed_connect), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(connects, 1);
  cr_assert_lt(connect_status, 0);
  cr_assert_neq(connect_status, UV_ECONNREFUSED);
  cr_assert_eq(closes, 1);
  /* the lookup ran (triggered by the socket); no connect request was made */
  static const hl_gnode_t g[] = {
      {"TCPWRAP", "tcp:1", NULL},
      {"GETADDRINFOREQWRAP", "getaddrinforeq:1", "tcp:1"},
  };
  char err[512];
  cr_assert_eq(hl_verify_graph(log, g, 2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(hl_check_lifecycles(log, err, sizeof err), 0, "%s", err);
  hl_hook_destroy(rec.hook);
  free(log);
  finish();
}

Test(stream_faults, close_during_connect_lookup) {
  start();
  cr_assert_eq(hl_tcp_init(&loop, &client), 0);
  cr_assert_eq(hl_tcp_connect(&client, "localhost", 9, plain_connected), 0);
  cr_assert_eq(hl_close(HL_STREAM(&client), on_close), 0);
  cr_assert_eq(hl_close(HL_STREAM(&client), on_close), HL_ECLOSED);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(connects, 1, "the connect callback runs once");
  cr_assert_eq(connect_status, UV_ECANCELED);
  cr_assert_eq(closes, 1);
  finish();
}

/* ---- accept when out of file descriptors (in a child) ---------------------- */

static int emfile_errors;
static hl_tcp_t emconns[8];
static int nemconns;

static void em_closed(hl_stream_t *s) {
  (void)s;
  closes++;
}
static void em_written(hl_stream_t *s, int status, void *arg) {
  (void)s;
  (void)status;
  cr_assert_eq(hl_buf_release(&loop, arg), 0);
}
static void em_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0) {
    hl_close(s, em_closed);
    return;
  }
  if (nread == 1 && buf->base[0] == 'q') { /* the driver is done */
    for (int i = 0; i < nemconns; i++)
      if (!hl_stream_is_closing(HL_STREAM(&emconns[i])))
        hl_close(HL_STREAM(&emconns[i]), em_closed);
    hl_close(HL_STREAM(&server), em_closed);
    return;
  }
  cr_assert_eq(hl_buf_keep(s, buf), 0);
  uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
  cr_assert_eq(hl_write(s, &b, 1, em_written, buf->base), 0); /* zero-copy echo */
}
static void em_connection(hl_stream_t *srv, int status) {
  if (status < 0) {
    emfile_errors++;
    printf("accept error %s\n", hl_err_name(status));
    return;
  }
  hl_tcp_t *c = &emconns[nemconns++];
  cr_assert_eq(hl_tcp_init(&loop, c), 0);
  int r = hl_accept(srv, HL_STREAM(c));
  if (r) {
    printf("hl_accept %s\n", hl_err_name(r));
    hl_close(HL_STREAM(c), em_closed);
    return;
  }
  accepted++;
  cr_assert_eq(hl_read_start(HL_STREAM(c), NULL, em_read), 0);
}

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  if (connect(fd, (struct sockaddr *)&a, sizeof a))
    _exit(10);
  return fd;
}
static int echo_ok(int fd, char c) {
  char got;
  return send(fd, &c, 1, 0) == 1 && recv(fd, &got, 1, 0) == 1 && got == c;
}

/* The client side, in its own process (its descriptors do not count). */
static void driver(int port) {
  int c1 = dial(port), c2 = dial(port);
  if (!echo_ok(c1, 'a') || !echo_ok(c2, 'b'))
    _exit(11);
  /* the server is out of descriptors now: this one is dropped */
  int c3 = dial(port);
  char x;
  ssize_t n = recv(c3, &x, 1, 0);
  if (n != 0 && !(n < 0 && errno == ECONNRESET))
    _exit(12);
  /* it still serves the connections it has */
  if (!echo_ok(c1, 'c') || !echo_ok(c2, 'd'))
    _exit(13);
  /* free one descriptor: half-close, wait for the server to close its end */
  shutdown(c1, SHUT_WR);
  if (recv(c1, &x, 1, 0) != 0)
    _exit(14);
  /* and it accepts again */
  int c4 = dial(port);
  if (!echo_ok(c4, 'e') || !echo_ok(c2, 'f'))
    _exit(15);
  if (send(c4, "q", 1, 0) != 1)
    _exit(16);
  close(c1);
  close(c2);
  close(c3);
  close(c4);
  _exit(0);
}

static void emfile_scenario(void *arg) {
  (void)arg;
  start();
  int port = listen_on(em_connection);
  /* leave exactly two descriptors for accepted connections */
  int free_seen = 0, limit = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) < 0 && ++free_seen == 2) {
      limit = fd + 1;
      break;
    }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0)
    driver(port);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = (rlim_t)limit;
  if (setrlimit(RLIMIT_NOFILE, &rl))
    exit(20);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  int st = 0;
  waitpid(pid, &st, 0);
  printf("driver %d accepted %d closes %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1, accepted,
         closes);
  finish();
}

Test(stream_faults, accept_out_of_descriptors) {
  hl_child_result_t *r = calloc(1, sizeof *r);
  hl_child_run(emfile_scenario, NULL, r);
  cr_assert(r->exited, "child died by signal %d: %s", r->signal, r->err);
  cr_assert_eq(r->code, 0, "child exit %d: %s %s", r->code, r->out, r->err);
  cr_assert_not_null(strstr(r->out, "driver 0 accepted 3 closes 4"), "out: %s err: %s", r->out,
                     r->err);
  free(r);
}
