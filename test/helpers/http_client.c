/* test/helpers/http_client.c - see http_client.h. */
#include "http_client.h"
#include <stdlib.h>
#include <string.h>

static void grow(char **buf, size_t *len, size_t *cap, const char *d, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t nc = *cap ? *cap : 4096;
    while (nc < *len + n + 1)
      nc *= 2;
    *buf = realloc(*buf, nc);
    if (!*buf)
      abort();
    *cap = nc;
  }
  memcpy(*buf + *len, d, n);
  *len += n;
  (*buf)[*len] = 0;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h;
  (void)hint;
  static char buf[65536];
  *b = uv_buf_init(buf, sizeof buf);
}

static void raw_closed(uv_handle_t *h) {
  hl_tc_raw_t *c = h->data;
  c->closed = 1;
  c->eof = 1;
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  hl_tc_raw_t *c = s->data;
  if (n > 0) {
    grow(&c->in, &c->len, &c->cap, b->base, (size_t)n);
  } else if (n < 0) {
    if (n != UV_EOF)
      c->err = (int)n;
    c->eof = 1;
    uv_read_stop(s);
    if (!uv_is_closing(&c->io.h))
      uv_close(&c->io.h, raw_closed);
  }
}

typedef struct {
  uv_write_t w;
  hl_tc_raw_t *c;
  char data[];
} wreq_t;

static void raw_written(uv_write_t *w, int status) {
  wreq_t *r = (wreq_t *)w;
  if (status == 0)
    r->c->writes_done++;
  free(r);
}

int hl_tc_raw_send(hl_tc_raw_t *c, const char *data, size_t len) {
  if (!c->connected) {
    c->pending = realloc(c->pending, c->pending_len + len);
    if (!c->pending)
      abort();
    memcpy(c->pending + c->pending_len, data, len);
    c->pending_len += len;
    return 0;
  }
  if (uv_is_closing(&c->io.h))
    return UV_EPIPE;
  wreq_t *r = malloc(sizeof *r + len);
  if (!r)
    abort();
  r->c = c;
  memcpy(r->data, data, len);
  uv_buf_t b = uv_buf_init(r->data, (unsigned)len);
  c->writes++;
  int e = uv_write(&r->w, &c->io.s, &b, 1, raw_written);
  if (e)
    free(r);
  return e;
}

static void raw_connected(uv_connect_t *cr, int status) {
  hl_tc_raw_t *c = cr->data;
  if (status < 0) {
    c->err = status;
    c->eof = 1;
    if (!uv_is_closing(&c->io.h))
      uv_close(&c->io.h, raw_closed);
    return;
  }
  c->connected = 1;
  uv_read_start(&c->io.s, alloc_cb, raw_read);
  if (c->pending_len)
    hl_tc_raw_send(c, c->pending, c->pending_len);
  free(c->pending);
  c->pending = NULL;
  c->pending_len = 0;
}

int hl_tc_raw_start(hl_loop_t *loop, hl_tc_raw_t *c, int port, const char *path, const char *data,
                    size_t len) {
  memset(c, 0, sizeof *c);
  uv_loop_t *uv = hl_loop_uv(loop);
  int e;
  c->cr.data = c;
  if (port >= 0) {
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_init(uv, &c->io.tcp);
    c->io.h.data = c;
    e = uv_tcp_connect(&c->cr, &c->io.tcp, (struct sockaddr *)&a, raw_connected);
  } else {
    uv_pipe_init(uv, &c->io.pipe, 0);
    c->io.h.data = c;
    uv_pipe_connect(&c->cr, &c->io.pipe, path, raw_connected);
    e = 0;
  }
  if (e == 0 && data && len) {
    c->pending = malloc(len);
    memcpy(c->pending, data, len);
    c->pending_len = len;
  }
  return e;
}

void hl_tc_raw_close(hl_tc_raw_t *c) {
  if (!uv_is_closing(&c->io.h))
    uv_close(&c->io.h, raw_closed);
}

void hl_tc_raw_free(hl_tc_raw_t *c) {
  free(c->in);
  free(c->pending);
  c->in = c->pending = NULL;
}

int hl_tc_count(const char *hay, const char *needle) {
  int n = 0;
  size_t nl = strlen(needle);
  if (!hay)
    return 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += nl)
    n++;
  return n;
}

static void proc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  hl_tc_proc_t *p = s->data;
  if (n > 0) {
    grow(&p->in, &p->len, &p->cap, b->base, (size_t)n);
  } else if (n < 0) {
    uv_read_stop(s);
    uv_close((uv_handle_t *)s, NULL);
    p->out_done = 1;
  }
}

static void proc_exit(uv_process_t *proc, int64_t status, int sig) {
  hl_tc_proc_t *p = proc->data;
  p->status = sig ? 128 + sig : (int)status;
  p->exited = 1;
  uv_close((uv_handle_t *)proc, NULL);
}

int hl_tc_spawn(hl_loop_t *loop, hl_tc_proc_t *p, char **argv) {
  memset(p, 0, sizeof *p);
  uv_loop_t *uv = hl_loop_uv(loop);
  uv_pipe_init(uv, &p->out, 0);
  p->out.data = p;
  p->proc.data = p;
  uv_stdio_container_t io[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&p->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {
      .exit_cb = proc_exit, .file = argv[0], .args = argv, .stdio_count = 3, .stdio = io};
  int e = uv_spawn(uv, &p->proc, &o);
  if (e) {
    uv_close((uv_handle_t *)&p->out, NULL);
    uv_close((uv_handle_t *)&p->proc, NULL);
    return e;
  }
  uv_read_start((uv_stream_t *)&p->out, alloc_cb, proc_read);
  return 0;
}

void hl_tc_proc_free(hl_tc_proc_t *p) {
  free(p->in);
  p->in = NULL;
}

void hl_tc_wait(hl_loop_t *loop, const int *flag) {
  while (!*flag)
    hl_run(loop, HL_RUN_ONCE);
}

void hl_tc_wait2(hl_loop_t *loop, const int *a, const int *b) {
  while (!*a || !*b)
    hl_run(loop, HL_RUN_ONCE);
}
