/* bench/http/ceiling.c PORT - the ceiling for bench/http: raw libuv, no
 * parsing. Each request is recognised only by its terminating blank line and
 * answered with a canned response; everything one read holds is answered by
 * one write (as the hookloop server coalesces pipelined responses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

typedef struct {
  uv_tcp_t tcp;
  int state; /* how much of "\r\n\r\n" was matched at the end of the last read */
} conn_t;

static char resp[160];
static size_t resp_len;
static char rbuf[65536];
static char *wbuf;
static size_t wcap;

static void make_resp(void) {
  char date[40];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  resp_len = (size_t)snprintf(resp, sizeof resp,
                              "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Length: 13\r\n\r\n"
                              "Hello, World!",
                              date);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  (void)hint;
  *b = uv_buf_init(rbuf, sizeof rbuf);
}

static void closed(uv_handle_t *h) {
  free(h);
}

typedef struct {
  uv_write_t w;
  char data[];
} wr_t;

static void written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  conn_t *c = (conn_t *)s;
  if (n < 0) {
    uv_close((uv_handle_t *)s, closed);
    return;
  }
  static const char term[] = "\r\n\r\n";
  int reqs = 0;
  for (ssize_t i = 0; i < n; i++) {
    if (b->base[i] == term[c->state]) {
      if (++c->state == 4) {
        reqs++;
        c->state = 0;
      }
    } else {
      c->state = b->base[i] == '\r' ? 1 : 0;
    }
  }
  if (!reqs)
    return;
  size_t len = resp_len * (size_t)reqs;
  if (len > wcap) {
    wcap = len * 2;
    wbuf = realloc(wbuf, wcap);
  }
  for (int i = 0; i < reqs; i++)
    memcpy(wbuf + resp_len * (size_t)i, resp, resp_len);
  uv_buf_t wb = uv_buf_init(wbuf, (unsigned)len);
  int r = uv_try_write(s, &wb, 1);
  if (r < 0)
    r = 0;
  if ((size_t)r < len) {
    wr_t *w = malloc(sizeof *w + len - (size_t)r);
    memcpy(w->data, wbuf + r, len - (size_t)r);
    uv_buf_t rest = uv_buf_init(w->data, (unsigned)(len - (size_t)r));
    uv_write(&w->w, s, &rest, 1, written);
  }
}

static void on_conn(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  conn_t *c = calloc(1, sizeof *c);
  uv_tcp_init(server->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void tick(uv_timer_t *t) {
  (void)t;
  make_resp();
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in a;
  make_resp();
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, tick, 1000, 1000);
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", port, &a);
  if (uv_tcp_bind(&server, (struct sockaddr *)&a, 0) ||
      uv_listen((uv_stream_t *)&server, 511, on_conn)) {
    fprintf(stderr, "ceiling: cannot listen on %d\n", port);
    return 1;
  }
  fprintf(stderr, "listening %d\n", port);
  return uv_run(loop, UV_RUN_DEFAULT);
}
