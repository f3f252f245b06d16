/* src/io/pipe.c - pipe handles (unix domain sockets, or any descriptor adopted
 * with hl_pipe_open): init, bind, connect (PIPECONNECTWRAP), open, names.
 * Listen, accept, read, write and close are shared with TCP (stream.c).
 */
#include <string.h>
#include <sys/un.h>
#include "stream_internal.h"

static int hl__pipe_ok(const hl_pipe_t *p) {
  const hl_stream_t *s = (const hl_stream_t *)p;
  if (!hl__stream_ok(s) || s->kind != HL__K_PIPE)
    return HL_EINVAL;
  return s->state == HL__S_OPEN ? 0 : HL_ECLOSED;
}

static int hl__path_ok(const char *path) {
  if (!path || !*path)
    return HL_EINVAL;
  if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return UV_ENAMETOOLONG;
  return 0;
}

HL_EXPORT int hl_pipe_init(hl_loop_t *loop, hl_pipe_t *pipe) {
  return hl__stream_init(loop, (hl_stream_t *)pipe, HL__K_PIPE);
}

HL_EXPORT int hl_pipe_bind(hl_pipe_t *pipe, const char *path) {
  int r = hl__pipe_ok(pipe);
  if (r || (r = hl__path_ok(path)))
    return r;
  return uv_pipe_bind(&pipe->uv.pipe, path);
}

HL_EXPORT int hl_pipe_connect(hl_pipe_t *pipe, const char *path, hl_connect_cb cb) {
  int r = hl__pipe_ok(pipe);
  if (r || (r = hl__path_ok(path)))
    return r;
  if (!cb)
    return HL_EINVAL;
  hl_stream_t *s = (hl_stream_t *)pipe;
  if (s->role == HL__R_SERVER)
    return HL_ESTATE;
  if (s->uv.stream.connect_req)
    return UV_EALREADY;
  hl__loop_t *L = s->loop;
  hl__creq_t *c = hl__pool_get(&L->io->creq_pool);
  if (!c)
    return HL_ENOMEM;
  if (s->role == HL__R_NONE)
    hl__stream_type(s, HL__R_SOCKET, "PIPEWRAP", -1);
  s->connect_cb = cb;
  c->s = s;
  hl__async_init(L, &c->async, "PIPECONNECTWRAP", s->async.id, c);
  uv_pipe_connect(&c->uv, &s->uv.pipe, path, hl__on_connect);
  return 0;
}

HL_EXPORT int hl_pipe_open(hl_pipe_t *pipe, int fd) {
  int r = hl__pipe_ok(pipe);
  if (r)
    return r;
  if (fd < 0)
    return HL_EINVAL;
  hl_stream_t *s = (hl_stream_t *)pipe;
  if (s->role != HL__R_NONE)
    return HL_ESTATE;
  r = uv_pipe_open(&s->uv.pipe, fd);
  if (r)
    return r;
  hl__stream_type(s, HL__R_SOCKET, "PIPEWRAP", -1);
  return 0;
}

typedef int (*hl__pipe_name_fn)(const uv_pipe_t *, char *, size_t *);

static int hl__pipe_name(const hl_pipe_t *pipe, char *buf, size_t *len, hl__pipe_name_fn fn) {
  int r = hl__pipe_ok(pipe);
  if (r)
    return r;
  if (!buf || !len || *len == 0)
    return HL_EINVAL;
  return fn(&pipe->uv.pipe, buf, len);
}

HL_EXPORT int hl_pipe_sockname(const hl_pipe_t *pipe, char *buf, size_t *len) {
  return hl__pipe_name(pipe, buf, len, uv_pipe_getsockname);
}

HL_EXPORT int hl_pipe_peername(const hl_pipe_t *pipe, char *buf, size_t *len) {
  return hl__pipe_name(pipe, buf, len, uv_pipe_getpeername);
}
