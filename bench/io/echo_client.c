/* bench/io/echo_client.c - the load generator of the io benchmark, on libuv:
 * --conns connections to 127.0.0.1:--port, each keeping --depth messages of
 * --size bytes in flight (pipelined request/response: every time a whole
 * message's worth of bytes has come back, the next message is sent). Counts
 * messages echoed per second over --secs seconds after a warm-up of a tenth
 * of that (at least 0.1 s), and checks the echoed bytes.
 *
 * Prints: "result msgs_s=<n> bytes_s=<n> conns=<c> size=<s> depth=<d> secs=<t>".
 * Exit 1 if a connection failed or the server echoed wrong bytes.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct conn_s conn_t;
typedef struct wr_s {
  uv_write_t req;
  struct wr_s *next;
  conn_t *c;
} wr_t;

struct conn_s {
  uv_tcp_t h;
  uv_connect_t creq;
  size_t rx_off; /* bytes of the current message received */
  int pending;   /* messages to send once a request is free */
  wr_t *wfree;
};

static int port = 0, nconns = 1, depth = 4;
static size_t size = 64;
static double secs = 5;
static char *msg;
static char rbuf[1 << 16];
static conn_t *conns;
static uint64_t count, count_at_start;
static uint64_t t_start;
static int measuring, failed, connected;
static uv_loop_t *L;
static uv_timer_t timer;

static void send_one(conn_t *c);
static void on_written(uv_write_t *req, int status) {
  wr_t *w = (wr_t *)req;
  conn_t *c = w->c;
  if (status && status != UV_ECANCELED)
    failed = 1;
  w->next = c->wfree;
  c->wfree = w;
  if (c->pending > 0) {
    c->pending--;
    send_one(c);
  }
}
static void send_one(conn_t *c) {
  wr_t *w = c->wfree;
  if (!w) {
    c->pending++;
    return;
  }
  c->wfree = w->next;
  uv_buf_t b = uv_buf_init(msg, (unsigned)size);
  if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, on_written))
    failed = 1;
}
static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf) {
  (void)h, (void)s;
  *buf = uv_buf_init(rbuf, sizeof rbuf);
}
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  conn_t *c = (conn_t *)s;
  if (n < 0) {
    failed = 1;
    uv_close((uv_handle_t *)s, NULL);
    return;
  }
  for (ssize_t i = 0; i < n;) {
    size_t take = size - c->rx_off;
    if ((size_t)(n - i) < take)
      take = (size_t)(n - i);
    if (memcmp(buf->base + i, msg + c->rx_off, take))
      failed = 1;
    c->rx_off += take;
    i += (ssize_t)take;
    if (c->rx_off == size) {
      c->rx_off = 0;
      count++;
      send_one(c);
    }
  }
}
static void on_connect(uv_connect_t *req, int status) {
  conn_t *c = req->data;
  if (status) {
    fprintf(stderr, "connect: %s\n", uv_strerror(status));
    failed = 1;
    uv_stop(L);
    return;
  }
  uv_tcp_nodelay(&c->h, 1);
  uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
  for (int i = 0; i < depth; i++)
    send_one(c);
  connected++;
}
static void on_timer(uv_timer_t *t) {
  if (!measuring) {
    measuring = 1;
    count_at_start = count;
    t_start = uv_hrtime();
    uv_timer_start(t, on_timer, (uint64_t)(secs * 1000), 0);
    return;
  }
  double el = (double)(uv_hrtime() - t_start) / 1e9;
  double m = (double)(count - count_at_start) / el;
  printf("result msgs_s=%.0f bytes_s=%.0f conns=%d size=%zu depth=%d secs=%.2f\n", m,
         m * (double)size, nconns, size, depth, el);
  fflush(stdout);
  exit(failed || connected != nconns ? 1 : 0);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port"))
      port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--conns"))
      nconns = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--size"))
      size = (size_t)atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--depth"))
      depth = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--secs"))
      secs = atof(argv[i + 1]);
  }
  if (port <= 0 || nconns < 1 || size < 1 || depth < 1 || secs <= 0) {
    fprintf(stderr, "usage: %s --port P [--conns C] [--size S] [--depth D] [--secs T]\n", argv[0]);
    return 2;
  }
  msg = malloc(size);
  for (size_t i = 0; i < size; i++)
    msg[i] = (char)('a' + i % 26);
  L = uv_default_loop();
  conns = calloc((size_t)nconns, sizeof *conns);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    for (int k = 0; k < depth; k++) {
      wr_t *w = calloc(1, sizeof *w);
      w->c = c;
      w->next = c->wfree;
      c->wfree = w;
    }
    uv_tcp_init(L, &c->h);
    c->creq.data = c;
    uv_tcp_connect(&c->creq, &c->h, (struct sockaddr *)&a, on_connect);
  }
  uv_timer_init(L, &timer);
  double warm = secs / 10 < 0.1 ? 0.1 : secs / 10;
  uv_timer_start(&timer, on_timer, (uint64_t)(warm * 1000), 0);
  uv_run(L, UV_RUN_DEFAULT);
  fprintf(stderr, "client: loop ended early\n");
  return 1;
}
