/* bench/io/echo_server.c - the TCP echo servers of the io benchmark, one
 * binary: hookloop (no hook / one hook of five empty callbacks / one
 * async-local storage in use) and the same echo written directly on libuv.
 * bench/io/node_echo.js is Node's; bench/io/echo_client.c drives each in turn
 * (bench/io/run prints the table).
 *
 * Both C echoes do the same work: read into a 64 KiB block, write that block
 * back without copying, take a new block for the next read while the write
 * holds the old one, and get it back when the write completes. hookloop does
 * it with its buffer pool (hl_read_start with no alloc callback, hl_buf_keep,
 * hl_buf_release) and pooled write requests; the raw echo keeps its own
 * block free list and write-request free list. TCP_NODELAY on both.
 *
 * Usage: hl-bench-echo-server hookloop|libuv [nohook|hook|als]
 * Listens on 127.0.0.1:0, prints "port N" and serves until killed.
 */
#include <hookloop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 65536

/* ---- hookloop ------------------------------------------------------------- */

static hl_loop_t loop;
static hl_tcp_t hserver;
static hl_als_t als;
static int use_als;
static unsigned long als_misses;

static void h_closed(hl_stream_t *s) {
  free(s);
}
static void h_written(hl_stream_t *s, int status, void *base) {
  (void)s;
  (void)status;
  hl_buf_release(&loop, base);
}
static void h_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0) {
    hl_close(s, h_closed);
    return;
  }
  if (use_als && hl_als_get_store(&als) != s)
    als_misses++;
  hl_buf_keep(s, buf);
  uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
  if (hl_write(s, &b, 1, h_written, buf->base))
    hl_buf_release(&loop, buf->base);
}
static void h_connection(hl_stream_t *srv, int status) {
  if (status)
    return;
  hl_tcp_t *c = malloc(sizeof *c);
  hl_tcp_init(&loop, c);
  if (use_als)
    hl_als_enter_with(&als, c);
  if (hl_accept(srv, HL_STREAM(c))) {
    hl_close(HL_STREAM(c), h_closed);
    return;
  }
  hl_tcp_nodelay(c, 1);
  hl_read_start(HL_STREAM(c), NULL, h_read);
}
static void e_init(hl_async_id_t id, const char *type, hl_async_id_t t, void *r, void *a) {
  (void)id, (void)type, (void)t, (void)r, (void)a;
}
static void e_id(hl_async_id_t id, void *a) {
  (void)id, (void)a;
}

static int run_hookloop(const char *mode) {
  hl_loop_init(&loop);
  if (!strcmp(mode, "hook")) {
    hl_hook_t *h;
    hl_hook_callbacks_t cb = {e_init, e_id, e_id, e_id, e_id};
    hl_hook_create(&loop, &cb, NULL, &h);
    hl_hook_enable(h);
  } else if (!strcmp(mode, "als")) {
    use_als = 1;
    hl_als_init(&loop, &als, NULL);
  }
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  hl_tcp_init(&loop, &hserver);
  if (hl_tcp_bind(&hserver, (struct sockaddr *)&a, 0) ||
      hl_listen(HL_STREAM(&hserver), 511, h_connection))
    return 1;
  printf("port %d\n", hl_tcp_port(&hserver));
  fflush(stdout);
  hl_run(&loop, HL_RUN_DEFAULT);
  return 0;
}

/* ---- raw libuv ------------------------------------------------------------ */

typedef struct blk_s {
  struct blk_s *next;
  char data[BLOCK];
} blk_t;
typedef struct wr_s {
  uv_write_t req;
  struct wr_s *next;
  blk_t *blk;
} wr_t;

static uv_loop_t *uvl;
static uv_tcp_t userver;
static blk_t *blk_cur, *blk_free;
static wr_t *wr_free;

static void u_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf) {
  (void)h, (void)sz;
  if (!blk_cur) {
    if (blk_free) {
      blk_cur = blk_free;
      blk_free = blk_cur->next;
    } else {
      blk_cur = malloc(sizeof *blk_cur);
    }
  }
  *buf = uv_buf_init(blk_cur->data, BLOCK);
}
static void u_closed(uv_handle_t *h) {
  free(h);
}
static void u_written(uv_write_t *req, int status) {
  (void)status;
  wr_t *w = (wr_t *)req;
  w->blk->next = blk_free;
  blk_free = w->blk;
  w->next = wr_free;
  wr_free = w;
}
static void u_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread <= 0) {
    if (nread < 0)
      uv_close((uv_handle_t *)s, u_closed);
    return;
  }
  wr_t *w = wr_free;
  if (w)
    wr_free = w->next;
  else
    w = malloc(sizeof *w);
  w->blk = blk_cur; /* the write keeps the block */
  blk_cur = NULL;
  uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
  if (uv_write(&w->req, s, &b, 1, u_written))
    u_written(&w->req, -1);
}
static void u_connection(uv_stream_t *srv, int status) {
  if (status)
    return;
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(uvl, c);
  if (uv_accept(srv, (uv_stream_t *)c)) {
    uv_close((uv_handle_t *)c, u_closed);
    return;
  }
  uv_tcp_nodelay(c, 1);
  uv_read_start((uv_stream_t *)c, u_alloc, u_read);
}

static int run_libuv(void) {
  uvl = uv_default_loop();
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(uvl, &userver);
  if (uv_tcp_bind(&userver, (struct sockaddr *)&a, 0) ||
      uv_listen((uv_stream_t *)&userver, 511, u_connection))
    return 1;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  uv_tcp_getsockname(&userver, (struct sockaddr *)&ss, &len);
  printf("port %d\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
  fflush(stdout);
  uv_run(uvl, UV_RUN_DEFAULT);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    fprintf(stderr, "usage: %s hookloop|libuv [nohook|hook|als]\n", argv[0]);
    return 2;
  }
  if (!strcmp(argv[1], "libuv"))
    return run_libuv();
  return run_hookloop(argc > 2 ? argv[2] : "nohook");
}
