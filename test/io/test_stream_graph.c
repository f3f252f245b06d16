/* test/io/test_stream_graph.c - the trigger graphs of Node's
 * test/async-hooks/test-graph.tcp.js, test-graph.shutdown.js,
 * test-graph.pipeconnect.js and test-graph.pipe.js, rebuilt with a real
 * client and server (127.0.0.1, kernel-chosen port; a unix socket in a mkdtemp
 * directory; pipes to a child process) and compared edge by edge with
 * TickObjects pruned as verify-graph.js does. Also the invocation counts of
 * test-tcpwrap.js / test-pipewrap.js, and that the connection callback runs
 * with the server's execution id.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "graph.h"
#include "record.h"

static hl_loop_t loop;
static hl_rec_t rec;
static hl_log_t LOG;
static hl_stream_t server, client, conn;
static int closes, connected, accepted, shutdowns, server_closed;
static hl_async_id_t exec_in_connection, resource_matches;
static char sockdir[64], sockpath[128];

static void check_graph(const hl_gnode_t *g, size_t n) {
  char err[2048];
  int e = hl_verify_graph(&LOG, g, n, err, sizeof err);
  cr_assert_eq(e, 0, "graph: %s", err);
  e = hl_check_lifecycles(&LOG, err, sizeof err);
  cr_assert_eq(e, 0, "lifecycles: %s", err);
}

static void on_close(hl_stream_t *s) {
  (void)s;
  closes++;
}
static void on_server_closed(hl_stream_t *s) {
  cr_assert_eq(hl_execution_async_id(), hl_stream_async_id(s));
  server_closed++;
}
static void read_to_eof(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  cr_assert_eq(hl_execution_async_id(), hl_stream_async_id(s), "read cb in the socket's context");
  if (nread < 0)
    hl_close(s, on_close);
}
static void on_connected(hl_stream_t *s, int status) {
  cr_assert_eq(status, 0, "connect: %s", hl_strerror(status));
  connected++;
  cr_assert_eq(hl_read_start(s, NULL, read_to_eof), 0);
}
static void on_shutdown(hl_stream_t *s, int status, void *arg) {
  (void)s;
  (void)arg;
  cr_assert_eq(status, 0);
  shutdowns++;
}
/* Node's onconnection: c.end(); this.close(). */
static void on_connection(hl_stream_t *srv, int status) {
  cr_assert_eq(status, 0);
  exec_in_connection = hl_execution_async_id();
  resource_matches = hl_execution_async_resource() == (void *)srv;
  int r = srv->uv.handle.type == UV_TCP ? hl_tcp_init(&loop, (hl_tcp_t *)&conn)
                                        : hl_pipe_init(&loop, (hl_pipe_t *)&conn);
  cr_assert_eq(r, 0);
  cr_assert_eq(hl_accept(srv, &conn), 0);
  accepted++;
  cr_assert_eq(hl_read_start(&conn, NULL, read_to_eof), 0);
  cr_assert_eq(hl_shutdown(&conn, on_shutdown, NULL), 0);
  cr_assert_eq(hl_close(srv, on_server_closed), 0);
}

static void finish(void) {
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(connected, 1);
  cr_assert_eq(accepted, 1);
  cr_assert_eq(shutdowns, 1);
  cr_assert_eq(server_closed, 1);
  cr_assert_eq(closes, 2);
  cr_assert_eq(exec_in_connection, hl_stream_async_id(&server),
               "connection callback runs with the server's execution id");
  cr_assert(resource_matches);
  hl_hook_disable(rec.hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

static int listen_tcp(void) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  cr_assert_eq(hl_tcp_init(&loop, (hl_tcp_t *)&server), 0);
  cr_assert_eq(hl_tcp_bind((hl_tcp_t *)&server, (struct sockaddr *)&a, 0), 0);
  cr_assert_eq(hl_listen(&server, 16, on_connection), 0);
  int port = hl_tcp_port((hl_tcp_t *)&server);
  cr_assert_gt(port, 0);
  return port;
}

static void setup(void) {
  closes = connected = accepted = shutdowns = server_closed = 0;
  cr_assert_eq(hl_rec_start(&loop, &rec, &LOG, 0), 0);
}

static void mkdir_sock(void) {
  strcpy(sockdir, "/tmp/hl-io-XXXXXX");
  cr_assert_not_null(mkdtemp(sockdir));
  snprintf(sockpath, sizeof sockpath, "%s/s.sock", sockdir);
}
static void rm_sock(void) {
  unlink(sockpath);
  rmdir(sockdir);
}

/* test-graph.tcp.js: server.listen(); net.connect({port, host: address}). */
Test(stream_graph, tcp) {
  setup();
  int port = listen_tcp();
  cr_assert_eq(hl_stream_async_id(&client), -1);
  cr_assert_eq(hl_tcp_init(&loop, (hl_tcp_t *)&client), 0);
  cr_assert_eq(hl_stream_async_id(&client), -1, "no type before connect");
  cr_assert_eq(hl_tcp_connect((hl_tcp_t *)&client, "127.0.0.1", port, on_connected), 0);
  finish();
  static const hl_gnode_t g[] = {
      {"TCPSERVERWRAP", "tcpserver:1", NULL},      {"TCPWRAP", "tcp:1", NULL},
      {"TCPCONNECTWRAP", "tcpconnect:1", "tcp:1"}, {"TCPWRAP", "tcp:2", "tcpserver:1"},
      {"SHUTDOWNWRAP", "shutdown:1", "tcp:2"},
  };
  check_graph(g, sizeof g / sizeof g[0]);
  /* test-tcpwrap.js counts: server 1 before (connection) and its close; the
   * accepted socket: EOF read + close; the client: connect is its request's,
   * then EOF read + close; the connect request 1. */
  hl_async_id_t srv = hl_log_init_of(&LOG, 2) ? 2 : -1;
  cr_assert_eq(srv, 2);
  cr_assert_str_eq(hl_log_init_of(&LOG, 2)->type, "TCPSERVERWRAP");
  cr_assert_eq(hl_log_init_of(&LOG, 2)->trigger, 1);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 2), 2);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 3), 2); /* client: EOF + close */
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 4), 1); /* TCPCONNECTWRAP */
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 5), 2); /* accepted: EOF + close */
}

static void connect_by_name(void *arg) {
  (void)arg;
  cr_assert_eq(hl_tcp_init(&loop, (hl_tcp_t *)&client), 0);
  cr_assert_eq(hl_tcp_connect((hl_tcp_t *)&client, "localhost", *(int *)arg, on_connected), 0);
}
static void emit_listening(void *arg) {
  /* Node emits 'listening' on a next tick triggered by the server. */
  cr_assert_eq(hl_next_tick(&loop, connect_by_name, arg), 0);
}

/* test-graph.shutdown.js: connect(port) from the 'listening' callback, by
 * name: GETADDRINFOREQWRAP then TCPCONNECTWRAP, both triggered by the client. */
Test(stream_graph, shutdown) {
  setup();
  static int port;
  port = listen_tcp();
  cr_assert_eq(hl_default_trigger_scope(&loop, hl_stream_async_id(&server), emit_listening, &port),
               0);
  finish();
  static const hl_gnode_t g[] = {
      {"TCPSERVERWRAP", "tcpserver:1", NULL},
      {"TCPWRAP", "tcp:1", "tcpserver:1"},
      {"GETADDRINFOREQWRAP", "getaddrinforeq:1", "tcp:1"},
      {"TCPCONNECTWRAP", "tcpconnect:1", "tcp:1"},
      {"TCPWRAP", "tcp:2", "tcpserver:1"},
      {"SHUTDOWNWRAP", "shutdown:1", "tcp:2"},
  };
  check_graph(g, sizeof g / sizeof g[0]);
  cr_assert_eq(hl_log_count_type(&LOG, "TickObject"), 1, "the pruned tick was there");
}

static void pipe_connect_tick(void *arg) {
  (void)arg;
  cr_assert_eq(hl_pipe_init(&loop, (hl_pipe_t *)&client), 0);
  cr_assert_eq(hl_pipe_connect((hl_pipe_t *)&client, sockpath, on_connected), 0);
}
static void pipe_listening(void *arg) {
  cr_assert_eq(hl_next_tick(&loop, pipe_connect_tick, arg), 0);
}

/* test-graph.pipeconnect.js on a unix socket. */
Test(stream_graph, pipeconnect) {
  setup();
  mkdir_sock();
  cr_assert_eq(hl_pipe_init(&loop, (hl_pipe_t *)&server), 0);
  cr_assert_eq(hl_pipe_bind((hl_pipe_t *)&server, sockpath), 0);
  cr_assert_eq(hl_listen(&server, 16, on_connection), 0);
  char name[128];
  size_t len = sizeof name;
  cr_assert_eq(hl_pipe_sockname((hl_pipe_t *)&server, name, &len), 0);
  cr_assert_str_eq(name, sockpath);
  cr_assert_eq(hl_default_trigger_scope(&loop, hl_stream_async_id(&server), pipe_listening, NULL),
               0);
  finish();
  rm_sock();
  static const hl_gnode_t g[] = {
      {"PIPESERVERWRAP", "pipeserver:1", NULL},       {"PIPEWRAP", "pipe:1", "pipeserver:1"},
      {"PIPECONNECTWRAP", "pipeconnect:1", "pipe:1"}, {"PIPEWRAP", "pipe:2", "pipeserver:1"},
      {"SHUTDOWNWRAP", "shutdown:1", "pipe:2"},
  };
  check_graph(g, sizeof g / sizeof g[0]);
}

/* test-graph.pipe.js / test-pipewrap.js: a child's stdin, stdout and stderr
 * as three PIPEWRAPs created at top level (triggered by the root). */
static hl_stream_t pio[3];
static int out_reads, err_reads;
static void pipe_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  if (s == &pio[1])
    out_reads++;
  else
    err_reads++;
  if (nread < 0)
    hl_close(s, on_close);
}

Test(stream_graph, pipe) {
  setup();
  int in[2], out[2], errp[2];
  cr_assert_eq(pipe(in), 0);
  cr_assert_eq(pipe(out), 0);
  cr_assert_eq(pipe(errp), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(errp[1], 2);
    for (int i = 3; i < 64; i++)
      close(i);
    (void)!write(1, "v0.1.0\n", 7);
    _exit(0);
  }
  close(in[0]);
  close(out[1]);
  close(errp[1]);
  int fds[3] = {in[1], out[0], errp[0]};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(hl_pipe_init(&loop, (hl_pipe_t *)&pio[i]), 0);
    cr_assert_eq(hl_pipe_open((hl_pipe_t *)&pio[i], fds[i]), 0);
  }
  cr_assert_eq(hl_read_start(&pio[1], NULL, pipe_read), 0);
  cr_assert_eq(hl_read_start(&pio[2], NULL, pipe_read), 0);
  cr_assert_eq(hl_close(&pio[0], on_close), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  int st;
  waitpid(pid, &st, 0);
  cr_assert_eq(closes, 3);
  hl_hook_disable(rec.hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
  static const hl_gnode_t g[] = {
      {"PIPEWRAP", "pipe:1", NULL},
      {"PIPEWRAP", "pipe:2", NULL},
      {"PIPEWRAP", "pipe:3", NULL},
  };
  check_graph(g, 3);
  for (hl_async_id_t id = 2; id <= 4; id++)
    cr_assert_eq(hl_log_init_of(&LOG, id)->trigger, 1, "created at top level");
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 2), 1, "stdin: its close only");
  cr_assert_geq(hl_log_count(&LOG, EV_BEFORE, 3), 3, "stdout: data, EOF, close");
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 3), out_reads + 1);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, 4), 2, "stderr: EOF and close");
  cr_assert_eq(err_reads, 1);
}

/* Writes: a WRITEWRAP per write, triggered by its socket; the write callback
 * runs in the request's context (execution id: the WRITEWRAP, trigger: the
 * socket); the read callback in the socket's. Client writes "ping", the server
 * echoes it, the client closes, the server closes on EOF. */
static int wcb_ok, writes; /* reset by each test process */
static void wrote(hl_stream_t *s, int status, void *arg) {
  cr_assert_eq(status, 0);
  cr_assert_eq(arg, s);
  const hl_ev_t *init = hl_log_init_of(&LOG, hl_execution_async_id());
  wcb_ok +=
      init && !strcmp(init->type, "WRITEWRAP") && hl_trigger_async_id() == hl_stream_async_id(s);
  writes++;
}
static void echo_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  cr_assert_eq(hl_execution_async_id(), hl_stream_async_id(s));
  if (nread < 0) {
    hl_close(s, on_close);
    return;
  }
  cr_assert_eq(hl_buf_keep(s, buf), 0);
  static uv_buf_t b;
  b = uv_buf_init(buf->base, (unsigned)nread);
  cr_assert_eq(hl_write(s, &b, 1, wrote, s), 0);
}
static void wrote_client(hl_stream_t *s, int status, void *arg) {
  (void)arg;
  wrote(s, status, s);
}
static void echo_connection(hl_stream_t *srv, int status) {
  cr_assert_eq(status, 0);
  cr_assert_eq(hl_tcp_init(&loop, (hl_tcp_t *)&conn), 0);
  cr_assert_eq(hl_accept(srv, &conn), 0);
  cr_assert_eq(hl_read_start(&conn, NULL, echo_read), 0);
  cr_assert_eq(hl_close(srv, on_server_closed), 0);
}
static void client_got(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  cr_assert_gt(nread, 0);
  cr_assert_eq(memcmp(buf->base, "ping", 4), 0);
  hl_close(s, on_close);
}
static void ping_connected(hl_stream_t *s, int status) {
  cr_assert_eq(status, 0);
  static uv_buf_t b[2];
  b[0] = uv_buf_init("pi", 2);
  b[1] = uv_buf_init("ng", 2);
  cr_assert_eq(hl_write(s, b, 2, wrote_client, NULL), 0);
  cr_assert_eq(hl_read_start(s, NULL, client_got), 0);
}

Test(stream_graph, writes) {
  setup();
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  cr_assert_eq(hl_tcp_init(&loop, (hl_tcp_t *)&server), 0);
  cr_assert_eq(hl_tcp_bind((hl_tcp_t *)&server, (struct sockaddr *)&a, 0), 0);
  cr_assert_eq(hl_listen(&server, 16, echo_connection), 0);
  int port = hl_tcp_port((hl_tcp_t *)&server);
  uv_ip4_addr("127.0.0.1", port, &a);
  cr_assert_eq(hl_tcp_init(&loop, (hl_tcp_t *)&client), 0);
  cr_assert_eq(hl_tcp_connect_addr((hl_tcp_t *)&client, (struct sockaddr *)&a, ping_connected), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(writes, 2);
  cr_assert_eq(wcb_ok, 2);
  cr_assert_eq(closes, 2);
  hl_hook_disable(rec.hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
  static const hl_gnode_t g[] = {
      {"TCPSERVERWRAP", "tcpserver:1", NULL},      {"TCPWRAP", "tcp:1", NULL},
      {"TCPCONNECTWRAP", "tcpconnect:1", "tcp:1"}, {"TCPWRAP", "tcp:2", "tcpserver:1"},
      {"WRITEWRAP", "write:1", "tcp:1"},           {"WRITEWRAP", "write:2", "tcp:2"},
  };
  check_graph(g, sizeof g / sizeof g[0]);
}
