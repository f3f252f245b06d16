/* src/io/fs.c - file-system requests (FSREQCALLBACK) over libuv's uv_fs_*,
 * and the read-file / write-file chains built from them.
 *
 * Each request is a pooled hl__fsreq_t that embeds its uv_fs_t. It is queued
 * with libuv first (the only step that can fail after validation, besides the
 * pool), then given its id with hl__async_init(): a request that could not be
 * queued never emits init. libuv calls hl__fs_done() on the loop thread, which
 * runs the callback through the one execution-context path (hl__enter /
 * hl__leave), releases libuv's memory and ends the resource (the object goes
 * back to the pool once its destroy has been emitted).
 *
 * hl_fs_read_file() and hl_fs_write_file() follow Node's ReadFileContext and
 * writeFile: a pooled hl__chain_t drives open -> fstat -> read... -> close (or
 * open -> write... -> close); each step is queued from inside the previous
 * request's callback, so each request is triggered by the one before it. The
 * user's callback runs inside the last request's callback. When a step cannot
 * be queued (out of memory), the chain closes the file and reports the error;
 * if even the close cannot be queued, the file is closed synchronously.
 */
#include <string.h>
#include <sys/stat.h>
#include "../core/internal.h"

#define HL__FS_TYPE          "FSREQCALLBACK"
#define HL__FS_PER_SLAB      32
#define HL__CHAIN_PER_SLAB   16
#define HL__IO_MAX           2147483647u    /* Node's kIoMaxLength */
#define HL__RF_CHUNK         (512u * 1024u) /* Node's kReadFileBufferLength */
#define HL__RF_UNKNOWN_CHUNK (64u * 1024u)  /* Node's kReadFileUnknownBufferLength */

#define HL__FS_O_ALL                                                                               \
  (UV_FS_O_APPEND | UV_FS_O_CREAT | UV_FS_O_DIRECT | UV_FS_O_DIRECTORY | UV_FS_O_DSYNC |           \
   UV_FS_O_EXCL | UV_FS_O_EXLOCK | UV_FS_O_NOATIME | UV_FS_O_NOCTTY | UV_FS_O_NOFOLLOW |           \
   UV_FS_O_NONBLOCK | UV_FS_O_RDONLY | UV_FS_O_RDWR | UV_FS_O_SYMLINK | UV_FS_O_SYNC |             \
   UV_FS_O_TRUNC | UV_FS_O_WRONLY)
#define HL__FS_O_ACCESS (UV_FS_O_RDONLY | UV_FS_O_WRONLY | UV_FS_O_RDWR)

typedef struct hl__fsreq_s hl__fsreq_t;
typedef struct hl__chain_s hl__chain_t;
typedef void (*hl__chain_step)(hl__chain_t *c, int64_t result, uv_fs_t *u);

enum { HL__FS_K_RESULT, HL__FS_K_STAT, HL__FS_K_DIR, HL__FS_K_CHAIN };

struct hl_fs_dir_s {
  hl__fsreq_t *req;
  int open; /* set only while the readdir callback runs */
};

struct hl__fsreq_s {
  void *pool_link;
  hl__loop_t *L;
  hl__async_t async;
  union {
    hl_fs_cb result;
    hl_fs_stat_cb stat;
    hl_fs_readdir_cb dir;
    hl__chain_step chain;
  } cb;
  void *arg;
  uint8_t kind;
  hl_fs_dir_t dir;
  uv_fs_t uv;
};

/* A read-file or write-file in progress. */
struct hl__chain_s {
  void *pool_link;
  hl__loop_t *L;
  union {
    hl_fs_read_file_cb read;
    hl_fs_write_file_cb write;
  } cb;
  void *arg;
  uint8_t writing; /* write-file, else read-file */
  uint8_t known;   /* read-file: the size came from fstat */
  hl_file_t fd;
  int err;          /* the first error */
  char *buf;        /* read-file: the data */
  const char *data; /* write-file: the caller's data */
  size_t cap;       /* read-file: buf's size, less the NUL; write-file: the length */
  size_t pos;       /* bytes read or written so far */
};

/* ---- single requests ----------------------------------------------------------- */

static void hl__fs_done(uv_fs_t *u) {
  hl__fsreq_t *r = hl__container_of(u, hl__fsreq_t, uv);
  hl__loop_t *L = r->L;
  hl_async_id_t id = r->async.id;
  int64_t res = (int64_t)u->result;
  L->live--;
  hl__loop_t *prev = hl__enter(L, &r->async);
  switch (r->kind) {
  case HL__FS_K_RESULT:
    r->cb.result(res, r->arg);
    break;
  case HL__FS_K_STAT:
    r->cb.stat(res < 0 ? (int)res : 0, res < 0 ? NULL : &u->statbuf, r->arg);
    break;
  case HL__FS_K_DIR:
    r->dir.req = r;
    r->dir.open = res >= 0;
    r->cb.dir((int)res, res < 0 ? NULL : &r->dir, r->arg);
    r->dir.open = 0;
    break;
  default:
    r->cb.chain(r->arg, res, u);
    break;
  }
  hl__leave(L, id, prev);
  uv_fs_req_cleanup(u);
  hl__async_end(L, &r->async, r, &L->fs_pool);
}

static hl__fsreq_t *hl__fsreq_get(hl__loop_t *L, int kind, void *arg) {
  if (HL_UNLIKELY(!L->fs_pool.size))
    hl__pool_init(&L->fs_pool, sizeof(hl__fsreq_t), HL__FS_PER_SLAB);
  hl__fsreq_t *r = hl__pool_get(&L->fs_pool);
  if (HL_LIKELY(r != NULL)) {
    r->kind = (uint8_t)kind;
    r->arg = arg;
  }
  return r;
}

/* `err` is what the uv_fs_* call returned: the request is in flight (make it
 * a resource) or it was refused (back to the pool, no init). */
static int hl__fsreq_started(hl__loop_t *L, hl__fsreq_t *r, int err) {
  if (HL_UNLIKELY(err < 0)) {
    uv_fs_req_cleanup(&r->uv);
    hl__pool_put(&L->fs_pool, r);
    return err;
  }
  r->L = L;
  L->live++;
  hl__async_init(L, &r->async, HL__FS_TYPE, -1, r);
  return 0;
}

static int hl__flags_ok(int flags) {
  if (flags & ~HL__FS_O_ALL)
    return 0;
  int acc = flags & HL__FS_O_ACCESS;
  return acc == UV_FS_O_RDONLY || acc == UV_FS_O_WRONLY || acc == UV_FS_O_RDWR;
}

static int hl__mode_ok(int mode) {
  return mode >= 0 && mode <= 07777;
}

static int hl__rw_ok(hl_file_t file, const void *buf, size_t len, int64_t offset) {
  return file >= 0 && buf != NULL && len <= HL__IO_MAX && offset >= -1;
}

/* Take a request from the pool for callback `fn` (member `m` of cb); HL_ENOMEM
 * from the enclosing function when the pool cannot grow. */
#define HL__FS_GET(r, kind, m, fn, arg)                                                            \
  hl__fsreq_t *r = hl__fsreq_get(L, kind, arg);                                                    \
  if (HL_UNLIKELY(r == NULL))                                                                      \
    return HL_ENOMEM;                                                                              \
  r->cb.m = fn

HL_EXPORT int hl_fs_open(hl_loop_t *loop, const char *path, int flags, int mode, hl_fs_cb cb,
                         void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb || !hl__flags_ok(flags) || !hl__mode_ok(mode))
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_open(L->uv, &r->uv, path, flags, mode, hl__fs_done));
}

HL_EXPORT int hl_fs_close(hl_loop_t *loop, hl_file_t file, hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || file < 0 || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_close(L->uv, &r->uv, file, hl__fs_done));
}

HL_EXPORT int hl_fs_read(hl_loop_t *loop, hl_file_t file, void *buf, size_t len, int64_t offset,
                         hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || !hl__rw_ok(file, buf, len, offset))
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  uv_buf_t b = uv_buf_init(buf, (unsigned)len);
  return hl__fsreq_started(L, r, uv_fs_read(L->uv, &r->uv, file, &b, 1, offset, hl__fs_done));
}

HL_EXPORT int hl_fs_write(hl_loop_t *loop, hl_file_t file, const void *buf, size_t len,
                          int64_t offset, hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || !hl__rw_ok(file, buf, len, offset))
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  return hl__fsreq_started(L, r, uv_fs_write(L->uv, &r->uv, file, &b, 1, offset, hl__fs_done));
}

HL_EXPORT int hl_fs_stat(hl_loop_t *loop, const char *path, hl_fs_stat_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_STAT, stat, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_stat(L->uv, &r->uv, path, hl__fs_done));
}

HL_EXPORT int hl_fs_lstat(hl_loop_t *loop, const char *path, hl_fs_stat_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_STAT, stat, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_lstat(L->uv, &r->uv, path, hl__fs_done));
}

HL_EXPORT int hl_fs_fstat(hl_loop_t *loop, hl_file_t file, hl_fs_stat_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || file < 0 || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_STAT, stat, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_fstat(L->uv, &r->uv, file, hl__fs_done));
}

HL_EXPORT int hl_fs_rename(hl_loop_t *loop, const char *from, const char *to, hl_fs_cb cb,
                           void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !from || !to || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_rename(L->uv, &r->uv, from, to, hl__fs_done));
}

HL_EXPORT int hl_fs_unlink(hl_loop_t *loop, const char *path, hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_unlink(L->uv, &r->uv, path, hl__fs_done));
}

HL_EXPORT int hl_fs_mkdir(hl_loop_t *loop, const char *path, int mode, hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb || !hl__mode_ok(mode))
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_mkdir(L->uv, &r->uv, path, mode, hl__fs_done));
}

HL_EXPORT int hl_fs_rmdir(hl_loop_t *loop, const char *path, hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_rmdir(L->uv, &r->uv, path, hl__fs_done));
}

HL_EXPORT int hl_fs_fsync(hl_loop_t *loop, hl_file_t file, hl_fs_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || file < 0 || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_RESULT, result, cb, arg);
  return hl__fsreq_started(L, r, uv_fs_fsync(L->uv, &r->uv, file, hl__fs_done));
}

HL_EXPORT int hl_fs_readdir(hl_loop_t *loop, const char *path, hl_fs_readdir_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb)
    return HL_EINVAL;
  HL__FS_GET(r, HL__FS_K_DIR, dir, cb, arg);
  r->dir.open = 0;
  return hl__fsreq_started(L, r, uv_fs_scandir(L->uv, &r->uv, path, 0, hl__fs_done));
}

HL_EXPORT int hl_fs_dir_next(hl_fs_dir_t *dir, hl_dirent_t *ent) {
  if (!dir || !ent)
    return HL_EINVAL;
  if (!dir->open)
    return HL_ESTATE;
  return uv_fs_scandir_next(&dir->req->uv, ent);
}

HL_EXPORT void hl_fs_free(void *data) {
  hl__free(data);
}

/* ---- chains: read-file and write-file ------------------------------------------ */

static int hl__chain_open(hl__chain_t *c, const char *path, int flags, int mode,
                          hl__chain_step step) {
  hl__loop_t *L = c->L;
  HL__FS_GET(r, HL__FS_K_CHAIN, chain, step, c);
  return hl__fsreq_started(L, r, uv_fs_open(L->uv, &r->uv, path, flags, mode, hl__fs_done));
}

static int hl__chain_fstat(hl__chain_t *c, hl__chain_step step) {
  hl__loop_t *L = c->L;
  HL__FS_GET(r, HL__FS_K_CHAIN, chain, step, c);
  return hl__fsreq_started(L, r, uv_fs_fstat(L->uv, &r->uv, c->fd, hl__fs_done));
}

static int hl__chain_rw(hl__chain_t *c, char *buf, size_t len, int writing, hl__chain_step step) {
  hl__loop_t *L = c->L;
  HL__FS_GET(r, HL__FS_K_CHAIN, chain, step, c);
  uv_buf_t b = uv_buf_init(buf, (unsigned)len);
  int err = writing ? uv_fs_write(L->uv, &r->uv, c->fd, &b, 1, -1, hl__fs_done)
                    : uv_fs_read(L->uv, &r->uv, c->fd, &b, 1, -1, hl__fs_done);
  return hl__fsreq_started(L, r, err);
}

static hl__chain_t *hl__chain_get(hl__loop_t *L) {
  if (HL_UNLIKELY(!L->fs_chain_pool.size))
    hl__pool_init(&L->fs_chain_pool, sizeof(hl__chain_t), HL__CHAIN_PER_SLAB);
  hl__chain_t *c = hl__pool_get(&L->fs_chain_pool);
  if (c) {
    c->L = L;
    c->fd = -1;
    c->err = 0;
    c->buf = NULL;
    c->data = NULL;
    c->cap = c->pos = 0;
    c->known = 0;
  }
  return c;
}

/* Report to the application (inside the current request's callback) and give
 * the chain back. */
static void hl__chain_finish(hl__chain_t *c) {
  hl__loop_t *L = c->L;
  hl__chain_t done = *c;
  hl__pool_put(&L->fs_chain_pool, c);
  if (done.writing) {
    done.cb.write(done.err, done.arg);
  } else if (done.err) {
    hl__free(done.buf);
    done.cb.read(done.err, NULL, 0, done.arg);
  } else {
    done.buf[done.pos] = 0;
    done.cb.read(0, done.buf, done.pos, done.arg);
  }
}

static void hl__chain_closed(hl__chain_t *c, int64_t res, uv_fs_t *u) {
  (void)u;
  if (res < 0 && !c->err)
    c->err = (int)res;
  hl__chain_finish(c);
}

static void hl__chain_close(hl__chain_t *c) {
  hl__loop_t *L = c->L;
  hl__fsreq_t *r = hl__fsreq_get(L, HL__FS_K_CHAIN, c);
  if (r) {
    r->cb.chain = hl__chain_closed;
    if (hl__fsreq_started(L, r, uv_fs_close(L->uv, &r->uv, c->fd, hl__fs_done)) == 0)
      return;
  }
  /* No memory to queue the close: do it now rather than leak the descriptor. */
  uv_fs_t sync;
  uv_fs_close(L->uv, &sync, c->fd, NULL);
  uv_fs_req_cleanup(&sync);
  hl__chain_finish(c);
}

static void hl__chain_fail(hl__chain_t *c, int err) {
  if (!c->err)
    c->err = err;
  hl__chain_close(c);
}

/* read-file: open -> fstat -> read... -> close */

static void hl__rf_read_done(hl__chain_t *c, int64_t res, uv_fs_t *u);

static void hl__rf_read_next(hl__chain_t *c) {
  if (!c->known && c->pos == c->cap) { /* unknown size and the buffer is full: grow */
    size_t cap = c->cap * 2 > HL__IO_MAX ? HL__IO_MAX : c->cap * 2;
    if (cap == c->cap) {
      hl__chain_fail(c, UV_EFBIG);
      return;
    }
    char *buf = hl__realloc(c->buf, cap + 1);
    if (!buf) {
      hl__chain_fail(c, HL_ENOMEM);
      return;
    }
    c->buf = buf;
    c->cap = cap;
  }
  size_t n = c->cap - c->pos;
  if (c->known && n > HL__RF_CHUNK)
    n = HL__RF_CHUNK;
  int err = hl__chain_rw(c, c->buf + c->pos, n, 0, hl__rf_read_done);
  if (err)
    hl__chain_fail(c, err);
}

static void hl__rf_read_done(hl__chain_t *c, int64_t res, uv_fs_t *u) {
  (void)u;
  if (res < 0) {
    hl__chain_fail(c, (int)res);
    return;
  }
  c->pos += (size_t)res;
  if (res == 0 || (c->known && c->pos == c->cap))
    hl__chain_close(c);
  else
    hl__rf_read_next(c);
}

static void hl__rf_stat_done(hl__chain_t *c, int64_t res, uv_fs_t *u) {
  if (res < 0) {
    hl__chain_fail(c, (int)res);
    return;
  }
  /* Not a regular file (a pipe, /proc): size unknown, read until end of file. */
  uint64_t size = (u->statbuf.st_mode & S_IFMT) == S_IFREG ? u->statbuf.st_size : 0;
  if (size > HL__IO_MAX) {
    hl__chain_fail(c, UV_EFBIG);
    return;
  }
  c->known = size > 0;
  c->cap = size > 0 ? (size_t)size : HL__RF_UNKNOWN_CHUNK;
  c->buf = hl__malloc(c->cap + 1);
  if (!c->buf) {
    hl__chain_fail(c, HL_ENOMEM);
    return;
  }
  hl__rf_read_next(c);
}

static void hl__rf_open_done(hl__chain_t *c, int64_t res, uv_fs_t *u) {
  (void)u;
  if (res < 0) { /* nothing to close */
    c->err = (int)res;
    hl__chain_finish(c);
    return;
  }
  c->fd = (hl_file_t)res;
  int err = hl__chain_fstat(c, hl__rf_stat_done);
  if (err)
    hl__chain_fail(c, err);
}

HL_EXPORT int hl_fs_read_file(hl_loop_t *loop, const char *path, hl_fs_read_file_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb)
    return HL_EINVAL;
  hl__chain_t *c = hl__chain_get(L);
  if (!c)
    return HL_ENOMEM;
  c->writing = 0;
  c->cb.read = cb;
  c->arg = arg;
  int err = hl__chain_open(c, path, UV_FS_O_RDONLY, 0, hl__rf_open_done);
  if (err)
    hl__pool_put(&L->fs_chain_pool, c);
  return err;
}

/* write-file: open -> write... -> close */

static void hl__wf_write_done(hl__chain_t *c, int64_t res, uv_fs_t *u);

static void hl__wf_write_next(hl__chain_t *c) {
  if (c->pos == c->cap) {
    hl__chain_close(c);
    return;
  }
  size_t n = c->cap - c->pos;
  if (n > HL__IO_MAX)
    n = HL__IO_MAX;
  int err = hl__chain_rw(c, (char *)c->data + c->pos, n, 1, hl__wf_write_done);
  if (err)
    hl__chain_fail(c, err);
}

static void hl__wf_write_done(hl__chain_t *c, int64_t res, uv_fs_t *u) {
  (void)u;
  if (res <= 0) { /* 0 bytes for a non-empty write would never finish */
    hl__chain_fail(c, res < 0 ? (int)res : UV_EIO);
    return;
  }
  c->pos += (size_t)res;
  hl__wf_write_next(c);
}

static void hl__wf_open_done(hl__chain_t *c, int64_t res, uv_fs_t *u) {
  (void)u;
  if (res < 0) {
    c->err = (int)res;
    hl__chain_finish(c);
    return;
  }
  c->fd = (hl_file_t)res;
  hl__wf_write_next(c);
}

HL_EXPORT int hl_fs_write_file(hl_loop_t *loop, const char *path, const void *data, size_t len,
                               int flags, int mode, hl_fs_write_file_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !path || !cb || (!data && len > 0) || !hl__flags_ok(flags) || !hl__mode_ok(mode) ||
      (flags & HL__FS_O_ACCESS) == UV_FS_O_RDONLY)
    return HL_EINVAL;
  hl__chain_t *c = hl__chain_get(L);
  if (!c)
    return HL_ENOMEM;
  c->writing = 1;
  c->cb.write = cb;
  c->arg = arg;
  c->data = data;
  c->cap = len;
  int err = hl__chain_open(c, path, flags, mode, hl__wf_open_done);
  if (err)
    hl__pool_put(&L->fs_chain_pool, c);
  return err;
}
