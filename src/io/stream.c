/* src/io/stream.c - what TCP and pipe handles share: listen, accept, read (with
 * the loop's buffer pool), write, try-write, shutdown and close, each callback
 * run in its resource's context through hl__enter/hl__leave.
 *
 * A handle gets its async type when its role is known (tcp.c, pipe.c, and
 * hl_listen/hl_accept here). Requests (WRITEWRAP, SHUTDOWNWRAP) come from
 * per-loop pools and go back there through hl__async_end, so the hot path
 * (read, write, their callbacks) allocates nothing once warm. Pool reads go
 * into one "current" 64 KiB block per loop: libuv calls alloc and read back to
 * back, one stream at a time, so a block is only replaced when the
 * application keeps it (hl_buf_keep).
 */
#include <string.h>
#include "stream_internal.h"

hl__io_t *hl__io_get(hl__loop_t *L) {
  if (HL_LIKELY(L->io != NULL))
    return L->io;
  hl__io_t *io = hl__calloc(1, sizeof *io);
  if (!io)
    return NULL;
  hl__pool_init(&io->wreq_pool, sizeof(hl__wreq_t), 64);
  hl__pool_init(&io->creq_pool, sizeof(hl__creq_t), 16);
  hl__pool_init(&io->lookup_pool, sizeof(hl__lookup_t), 16);
  L->io = io;
  return io;
}

void hl__io_free(hl__loop_t *L) {
  hl__io_t *io = L->io;
  if (!io)
    return;
  hl__pool_destroy(&io->wreq_pool);
  hl__pool_destroy(&io->creq_pool);
  hl__pool_destroy(&io->lookup_pool);
  hl__free(io->buf_cur);
  for (hl__buf_t *b = io->buf_free, *n; b; b = n) {
    n = b->next;
    hl__free(b);
  }
  for (uint32_t i = 0; i < io->kept_cap; i++)
    hl__free(io->kept[i]);
  hl__free(io->kept);
  hl__free(io);
  L->io = NULL;
}

int hl__stream_init(hl_loop_t *loop, hl_stream_t *s, int kind) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !s)
    return HL_EINVAL;
  if (!hl__io_get(L))
    return HL_ENOMEM;
  memset(s, 0, sizeof *s);
  int r = kind == HL__K_TCP ? uv_tcp_init(L->uv, &s->uv.tcp) : uv_pipe_init(L->uv, &s->uv.pipe, 0);
  if (r)
    return r;
  s->loop = L;
  s->kind = (uint8_t)kind;
  s->magic = HL__STREAM_MAGIC;
  s->async.id = -1;
  s->uv.handle.data = s;
  L->live++;
  return 0;
}

/* ---- listen / accept ------------------------------------------------------- */

static void hl__on_connection(uv_stream_t *h, int status) {
  hl_stream_t *s = h->data;
  hl__loop_t *L = s->loop;
  hl_async_id_t id = s->async.id;
  hl__loop_t *prev = hl__enter(L, &s->async);
  s->connection_cb(s, status);
  hl__leave(L, id, prev);
}

HL_EXPORT int hl_listen(hl_stream_t *s, int backlog, hl_connection_cb cb) {
  if (!hl__stream_ok(s) || !cb || backlog < 1)
    return HL_EINVAL;
  if (s->state != HL__S_OPEN)
    return HL_ECLOSED;
  if (s->role == HL__R_SOCKET)
    return HL_ESTATE;
  if (s->role == HL__R_NONE)
    hl__stream_type(s, HL__R_SERVER, s->kind == HL__K_TCP ? "TCPSERVERWRAP" : "PIPESERVERWRAP", -1);
  s->connection_cb = cb;
  return uv_listen(&s->uv.stream, backlog, hl__on_connection);
}

HL_EXPORT int hl_accept(hl_stream_t *server, hl_stream_t *client) {
  if (!hl__stream_ok(server) || !hl__stream_ok(client) || server == client ||
      server->kind != client->kind || server->loop != client->loop)
    return HL_EINVAL;
  if (server->state != HL__S_OPEN || client->state != HL__S_OPEN)
    return HL_ECLOSED;
  if (server->role != HL__R_SERVER || client->role != HL__R_NONE)
    return HL_ESTATE;
  int r = uv_accept(&server->uv.stream, &client->uv.stream);
  if (r)
    return r;
  hl__stream_type(client, HL__R_SOCKET, client->kind == HL__K_TCP ? "TCPWRAP" : "PIPEWRAP",
                  server->async.id);
  return 0;
}

/* ---- read ------------------------------------------------------------------ */

static void hl__pool_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  hl_stream_t *s = h->data;
  hl__io_t *io = s->loop->io;
  hl__buf_t *b = io->buf_cur;
  if (HL_UNLIKELY(b == NULL)) {
    if (io->buf_free) {
      b = io->buf_free;
      io->buf_free = b->next;
      io->n_free--;
    } else {
      b = hl__malloc(sizeof *b + HL__BUF_SIZE);
      if (!b) {
        *buf = uv_buf_init(NULL, 0); /* the read callback gets UV_ENOBUFS */
        return;
      }
    }
    b->next = NULL;
    io->buf_cur = b;
  }
  *buf = uv_buf_init(b->data, HL__BUF_SIZE);
}

static void hl__user_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  hl_stream_t *s = h->data;
  s->alloc_cb(s, suggested, buf);
}

static void hl__on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
  hl_stream_t *s = h->data;
  if (nread == 0 && !s->alloc_cb)
    return; /* EAGAIN: the pool block stays current */
  hl__loop_t *L = s->loop;
  hl_async_id_t id = s->async.id;
  hl__loop_t *prev = hl__enter(L, &s->async);
  s->read_cb(s, nread, buf);
  hl__leave(L, id, prev);
}

HL_EXPORT int hl_read_start(hl_stream_t *s, hl_alloc_cb alloc_cb, hl_read_cb read_cb) {
  if (!hl__stream_ok(s) || !read_cb)
    return HL_EINVAL;
  if (s->state != HL__S_OPEN)
    return HL_ECLOSED;
  if (s->role != HL__R_SOCKET)
    return UV_ENOTCONN;
  s->alloc_cb = alloc_cb;
  s->read_cb = read_cb;
  int r = uv_read_start(&s->uv.stream, alloc_cb ? hl__user_alloc : hl__pool_alloc, hl__on_read);
  if (r == UV_EALREADY) { /* reading: the new callbacks apply from the next read */
    uv_read_stop(&s->uv.stream);
    r = uv_read_start(&s->uv.stream, alloc_cb ? hl__user_alloc : hl__pool_alloc, hl__on_read);
  }
  return r;
}

HL_EXPORT int hl_read_stop(hl_stream_t *s) {
  if (!hl__stream_ok(s))
    return HL_EINVAL;
  if (s->state != HL__S_OPEN)
    return HL_ECLOSED;
  if (s->role == HL__R_NONE)
    return 0;
  return uv_read_stop(&s->uv.stream);
}

/* The kept-block set: linear probing on the block address, kept at most half
 * full; deletion shifts followers back (no tombstones). */
static uint32_t hl__kept_slot(const hl__io_t *io, const hl__buf_t *b) {
  uintptr_t h = (uintptr_t)b >> 4;
  h ^= h >> 17;
  h *= 0x9e3779b97f4a7c15ull;
  return (uint32_t)(h >> 32) & (io->kept_cap - 1);
}

static int hl__kept_add(hl__io_t *io, hl__buf_t *b) {
  if ((io->kept_n + 1) * 2 > io->kept_cap) {
    uint32_t cap = io->kept_cap ? io->kept_cap * 2 : 64;
    hl__buf_t **old = io->kept, **t = hl__calloc(cap, sizeof *t);
    if (!t)
      return HL_ENOMEM;
    uint32_t oldcap = io->kept_cap;
    io->kept = t;
    io->kept_cap = cap;
    for (uint32_t i = 0; i < oldcap; i++)
      if (old[i]) {
        uint32_t j = hl__kept_slot(io, old[i]);
        while (t[j])
          j = (j + 1) & (cap - 1);
        t[j] = old[i];
      }
    hl__free(old);
  }
  uint32_t j = hl__kept_slot(io, b);
  while (io->kept[j])
    j = (j + 1) & (io->kept_cap - 1);
  io->kept[j] = b;
  io->kept_n++;
  return 0;
}

static int hl__kept_remove(hl__io_t *io, hl__buf_t *b) {
  if (!io->kept_n)
    return 0;
  uint32_t mask = io->kept_cap - 1, j = hl__kept_slot(io, b);
  while (io->kept[j] && io->kept[j] != b)
    j = (j + 1) & mask;
  if (!io->kept[j])
    return 0;
  io->kept[j] = NULL;
  io->kept_n--;
  for (uint32_t k = (j + 1) & mask; io->kept[k]; k = (k + 1) & mask) {
    hl__buf_t *e = io->kept[k];
    uint32_t home = hl__kept_slot(io, e);
    /* move e back into the hole unless its home lies cyclically in (j, k] */
    if ((k > j && (home <= j || home > k)) || (k < j && home <= j && home > k)) {
      io->kept[j] = e;
      io->kept[k] = NULL;
      j = k;
    }
  }
  return 1;
}

HL_EXPORT int hl_buf_keep(hl_stream_t *s, const uv_buf_t *buf) {
  if (!hl__stream_ok(s) || !buf || !buf->base)
    return HL_EINVAL;
  hl__io_t *io = s->loop->io;
  hl__buf_t *b = io->buf_cur;
  if (!b || buf->base != b->data)
    return HL_EINVAL;
  if (hl__kept_add(io, b))
    return HL_ENOMEM;
  io->buf_cur = NULL;
  return 0;
}

HL_EXPORT int hl_buf_release(hl_loop_t *loop, void *base) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !base || !L->io || (uintptr_t)base < offsetof(hl__buf_t, data))
    return HL_EINVAL;
  hl__io_t *io = L->io;
  hl__buf_t *b = (hl__buf_t *)((uintptr_t)base - offsetof(hl__buf_t, data));
  if (!hl__kept_remove(io, b)) /* compares addresses only: b is never read */
    return HL_EINVAL;
  if (!io->buf_cur) {
    io->buf_cur = b;
    b->next = NULL;
  } else if (io->n_free < HL__BUF_CACHE) {
    b->next = io->buf_free;
    io->buf_free = b;
    io->n_free++;
  } else {
    hl__free(b);
  }
  return 0;
}

/* ---- connect ---------------------------------------------------------------- */

void hl__on_connect(uv_connect_t *req, int status) {
  hl__creq_t *c = hl__container_of(req, hl__creq_t, uv);
  hl_stream_t *s = c->s;
  hl__loop_t *L = s->loop;
  hl_async_id_t id = c->async.id;
  hl__loop_t *prev = hl__enter(L, &c->async);
  s->connect_cb(s, status);
  hl__leave(L, id, prev);
  hl__async_end(L, &c->async, c, &L->io->creq_pool);
}

/* ---- write / shutdown ------------------------------------------------------ */

/* A write or shutdown request is done: its callback (hl_write_cb and
 * hl_shutdown_cb have one signature) in its own context, then its end. */
static void hl__wreq_done(hl__wreq_t *w, int status) {
  hl__loop_t *L = w->s->loop;
  hl_write_cb cb = (hl_write_cb)w->cb;
  if (cb) {
    hl_async_id_t id = w->async.id;
    hl__loop_t *prev = hl__enter(L, &w->async);
    cb(w->s, status, w->arg);
    hl__leave(L, id, prev);
  }
  hl__async_end(L, &w->async, w, &L->io->wreq_pool);
}

static void hl__on_write(uv_write_t *req, int status) {
  hl__wreq_done(hl__container_of(req, hl__wreq_t, uv.w), status);
}

static int hl__stream_usable(const hl_stream_t *s) {
  if (!hl__stream_ok(s))
    return HL_EINVAL;
  if (s->state != HL__S_OPEN)
    return HL_ECLOSED;
  if (s->role != HL__R_SOCKET)
    return UV_ENOTCONN;
  return 0;
}

HL_EXPORT int hl_write(hl_stream_t *s, const uv_buf_t bufs[], unsigned nbufs, hl_write_cb cb,
                       void *arg) {
  if (!bufs || nbufs == 0 || nbufs > 1024)
    return HL_EINVAL;
  int r = hl__stream_usable(s);
  if (HL_UNLIKELY(r))
    return r;
  hl__loop_t *L = s->loop;
  hl__wreq_t *w = hl__pool_get(&L->io->wreq_pool);
  if (HL_UNLIKELY(!w))
    return HL_ENOMEM;
  w->s = s;
  w->cb = (void *)cb;
  w->arg = arg;
  hl__async_init(L, &w->async, "WRITEWRAP", s->async.id, w);
  r = uv_write(&w->uv.w, &s->uv.stream, bufs, nbufs, hl__on_write);
  if (HL_UNLIKELY(r))
    hl__async_end(L, &w->async, w, &L->io->wreq_pool);
  return r;
}

HL_EXPORT int hl_try_write(hl_stream_t *s, const uv_buf_t bufs[], unsigned nbufs) {
  if (!bufs || nbufs == 0 || nbufs > 1024)
    return HL_EINVAL;
  int r = hl__stream_usable(s);
  if (r)
    return r;
  return uv_try_write(&s->uv.stream, bufs, nbufs);
}

static void hl__on_shutdown(uv_shutdown_t *req, int status) {
  hl__wreq_done(hl__container_of(req, hl__wreq_t, uv.sd), status);
}

HL_EXPORT int hl_shutdown(hl_stream_t *s, hl_shutdown_cb cb, void *arg) {
  int r = hl__stream_usable(s);
  if (r)
    return r;
  hl__loop_t *L = s->loop;
  hl__wreq_t *w = hl__pool_get(&L->io->wreq_pool);
  if (!w)
    return HL_ENOMEM;
  w->s = s;
  w->cb = (void *)cb;
  w->arg = arg;
  hl__async_init(L, &w->async, "SHUTDOWNWRAP", s->async.id, w);
  r = uv_shutdown(&w->uv.sd, &s->uv.stream, hl__on_shutdown);
  if (r)
    hl__async_end(L, &w->async, w, &L->io->wreq_pool);
  return r;
}

/* ---- close ----------------------------------------------------------------- */

static void hl__on_close(uv_handle_t *h) {
  hl_stream_t *s = h->data;
  hl__loop_t *L = s->loop;
  hl_close_cb cb = s->close_cb;
  s->state = HL__S_CLOSED;
  L->live--;
  if (s->role == HL__R_NONE) { /* never typed: no resource, run at top level */
    if (cb) {
      hl__loop_t *prev = hl__current;
      hl__current = L;
      cb(s);
      hl__after_callback(L);
      hl__current = prev ? prev : L;
    }
    return;
  }
  hl_async_id_t id = s->async.id;
  /* End the resource before the callback, which may free s; the context
   * pushed by enter holds its own reference to the storage frame. */
  hl__loop_t *prev = hl__enter(L, &s->async);
  hl__async_end(L, &s->async, NULL, NULL);
  if (cb)
    cb(s);
  hl__leave(L, id, prev);
}

/* Also called by a connect-by-name lookup that held back the close. */
void hl__stream_do_close(hl_stream_t *s) {
  uv_close(&s->uv.handle, hl__on_close);
}

HL_EXPORT int hl_close(hl_stream_t *s, hl_close_cb cb) {
  if (!hl__stream_ok(s))
    return HL_EINVAL;
  if (s->state != HL__S_OPEN)
    return HL_ECLOSED;
  s->state = HL__S_CLOSING;
  s->close_cb = cb;
  if (s->lookup) { /* the lookup holds s: close once it has returned */
    s->deferred_close = 1;
    uv_cancel((uv_req_t *)&s->lookup->uv.ai);
    return 0;
  }
  hl__stream_do_close(s);
  return 0;
}

HL_EXPORT size_t hl_stream_write_queue_size(const hl_stream_t *s) {
  if (!hl__stream_ok(s) || s->state == HL__S_CLOSED)
    return 0;
  return uv_stream_get_write_queue_size(&s->uv.stream);
}

HL_EXPORT hl_async_id_t hl_stream_async_id(const hl_stream_t *s) {
  if (!hl__stream_ok(s) || s->role == HL__R_NONE)
    return -1;
  return s->async.id;
}

HL_EXPORT int hl_stream_is_closing(const hl_stream_t *s) {
  return !hl__stream_ok(s) || s->state != HL__S_OPEN;
}
