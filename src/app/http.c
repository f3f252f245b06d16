/* src/app/http.c - the app over HTTP: the adapter from the HTTP server's
 * request/response (include/hookloop/http.h) to the app's transport interface
 * (src/app/io.h), and the public hl_app_listen / hl_app_attach / hl_app_handle
 * / hl_app_close.
 *
 * One adapter state (`hio_t`, part of the app's request object, hl_ctx_t.hio)
 * per HTTP request: one pooled object for both sides. It is made in
 * the server's request callback, which runs in the request's
 * HTTPINCOMINGMESSAGE context, and dispatched to the app there, so `run` is a
 * direct call and every later callback the server makes (body, finish, close)
 * is already in that context. The body is collected from the request callback
 * on (the server drops bytes that arrive with no data callback), whatever the
 * app does meanwhile; the server enforces max_body_bytes (413 and close).
 *
 * Completion: the response's FINISH event (last byte handed to the kernel)
 * reports hl__app_io_closed(req, 0); the request's close callback with
 * `aborted` reports HL_ECLIENTGONE. The HTTP request and response are freed by
 * the server after its close callback, so the adapter forgets them there; the
 * adapter's part (reference count hio.refs) lives until the app released it,
 * the server's close callback ran and no file read is in flight, and the
 * shared object goes back to the app's pool when the lifecycle let go too.
 *
 * The fast answer (respond_lines): a 200 with only the app's default
 * Content-Type line is written by the server straight into the head
 * (hl__http_res_end_lines) when the response is untouched and quiet; when the
 * app needs no completion and the request had no body, the adapter lets go of
 * the server's request at once (no close callback) and the app ends the
 * request there.
 *
 * Files: the HTTP server owns the socket and writes every response through its
 * ordered output buffer, and its API takes no file descriptor, so a file is not
 * sent with sendfile(2) here: it is opened and checked synchronously (the
 * interface wants "cannot open" answered at once), then read in 64 KiB pieces
 * through the thread pool (hl_fs_read: FSREQCALLBACK resources triggered from
 * the request) and written as they arrive, with Content-Length from fstat.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "app_internal.h"
#include "http_io.h"
#include "hookloop/fs.h"
#include "http/http_internal.h"
#include "hookloop/timer.h"

#define FILE_CHUNK 65536u

/* ---- the adapter object ---------------------------------------------------------- */

static void file_done(hio_t *io) {
  if (io->fd1)
    close(io->fd1 - 1);
  io->fd1 = 0;
  if (io->fbuf) { /* (no call for the usual none) */
    hl__free(io->fbuf);
    io->fbuf = NULL;
  }
}

/* The last reference went: back to the pool. */
HL_INLINE void io_put(hio_t *io) {
  file_done(io);
  hl__app_http_io_recycle(io);
}

static void io_unref(hio_t *io) {
  if (--io->refs == 0)
    io_put(io);
}

/* The app's request until it released the adapter, else NULL. */
HL_INLINE hl__req_t *areq(hio_t *io) {
  return io->released ? NULL : HIO_CTX(io);
}

/* Tell the app once that the response is done (0) or the client left. */
static void report(hio_t *io, int status) {
  if (io->reported || io->released)
    return;
  io->reported = 1;
  io->body_cb = NULL;
  hl__app_io_closed(HIO_CTX(io), status);
}

/* ---- server callbacks (all in the request's context) --------------------------------- */

static void on_data(hl_http_req_t *req, const char *data, size_t len, void *arg) {
  (void)req;
  hio_t *io = arg;
  hl_ctx_t *r = HIO_CTX(io);
  if (io->body_err || io->reported || io->released)
    return; /* nobody will read it */
  if (io->blen + len > r->hio_bcap) {
    size_t cap = r->hio_bcap ? r->hio_bcap : 4096;
    while (cap < io->blen + len)
      cap *= 2;
    char *nb = hl__realloc(r->hio_body, cap);
    if (nb == NULL) {
      io->body_err = HL_ENOMEM;
      return;
    }
    r->hio_body = nb;
    r->hio_bcap = cap;
  }
  memcpy(r->hio_body + io->blen, data, len);
  io->blen += len;
}

static void on_end(hl_http_req_t *req, void *arg) {
  (void)req;
  hio_t *io = arg;
  io->body_end = 1;
  hl__app_body_cb cb = io->body_cb;
  if (cb && !io->reported && !io->released) {
    hl_ctx_t *r = HIO_CTX(io);
    io->body_cb = NULL;
    cb(r, io->body_err, r->hio_body ? r->hio_body : "", io->blen);
  }
}

static void on_finish(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res;
  (void)ev;
  report(arg, 0);
}

void hl__app_http_on_close(hl_http_req_t *req, int aborted, void *arg) {
  (void)req;
  hio_t *io = arg;
  io->req = NULL;
  io->res = NULL;
  io->refs++;
  report(io, aborted ? HL_ECLIENTGONE : 0);
  io->refs--;
  io_unref(io); /* the server's reference */
}

/* ---- the transport interface --------------------------------------------------------- */

static const char *v_method(void *p) {
  hio_t *io = p;
  return io->req ? hl_http_req_method(io->req) : NULL;
}
static const char *v_path(void *p) {
  hio_t *io = p;
  return io->req ? hl_http_req_path(io->req) : NULL;
}
static const char *v_query(void *p) {
  hio_t *io = p;
  const char *q = io->req ? hl_http_req_query(io->req) : NULL;
  return q && *q ? q : NULL;
}
static const char *v_header(void *p, const char *name) {
  hio_t *io = p;
  return io->req ? hl_http_req_header(io->req, name) : NULL;
}
static int v_header_at(void *p, size_t i, const char **name, const char **value) {
  hio_t *io = p;
  if (io->req == NULL)
    return HL_ESTATE;
  if (i >= hl_http_req_header_count(io->req))
    return HL_ENOENT;
  return hl_http_req_header_at(io->req, i, name, value);
}

static int v_read_body(void *p, hl__req_t *req, hl__app_body_cb cb) {
  hio_t *io = p;
  if (io->req == NULL || io->reported)
    return HL_ECLIENTGONE;
  if (io->body_end) {
    const char *b = HIO_CTX(io)->hio_body;
    cb(req, io->body_err, b ? b : "", io->blen);
    return 0;
  }
  io->body_cb = cb;
  return 0;
}

/* Status and headers onto the server's response (not written yet). On an
 * error the headers added here are removed again: nothing is left behind. */
static int set_head(hio_t *io, int status, const hl_header_t *h, size_t n) {
  int rc = hl__http_res_status_std(io->res, status);
  const hl__req_t *ar = areq(io);
  size_t i = 0;
  for (; rc == 0 && i < n; i++) {
    int own = -1; /* a header the app made itself (see hl_ctx_t.own_hv) */
    for (int k = 0; ar && k < 2; k++)
      if (((ar->own_set >> k) & 1) && h[i].value == ar->own_hv[k] && h[i].name == ar->own_hn[k] &&
          h[i].value)
        own = k;
    rc = own >= 0 ? hl__http_res_add_header_trusted(io->res, h[i].name, ar->own_hn_len[own],
                                                    h[i].value, ar->own_hv_len[own])
                  : hl_http_res_add_header(io->res, h[i].name, h[i].value);
  }
  if (rc) {
    for (size_t j = 0; j + 1 < i; j++)
      hl_http_res_remove_header(io->res, h[j].name);
    return rc;
  }
  io->head_set = 1;
  return 0;
}

static int v_respond(void *p, int status, const hl_header_t *h, size_t n, const void *body,
                     size_t len) {
  hio_t *io = p;
  if (io->res == NULL)
    return HL_ECLIENTGONE;
  int rc = set_head(io, status, h, n);
  if (rc)
    return rc;
  /* The request was read whole: hl__app_http_on_close reports the completion (see
   * app_handle), the FINISH listener goes */
  if (io->body_end && io->finish_on) {
    io->finish_on = 0;
    hl__http_res_off(io->res, on_finish, io);
  }
  io->refs++; /* the finish may come at once and the app release us inside */
  rc = hl_http_res_end(io->res, body, len);
  io_unref(io);
  return rc;
}

/* respond() for a 200 with only the app's own header lines, written by the
 * server straight into the head (no header entries): 1 when the server's
 * fast path does not apply (nothing done, the app calls respond). */
int hl__app_http_respond_lines(void *p, const char *lines, size_t llen, const void *body,
                               size_t len, int early) {
  hio_t *io = p;
  if (io->res == NULL)
    return 1;
  /* as in v_respond: the request was read whole, hl__app_http_on_close reports the
   * completion (should the fast path not apply, v_respond finds it gone) */
  if (io->finish_on && io->body_end) {
    io->finish_on = 0;
    hl__http_res_off(io->res, on_finish, io);
  }
  io->refs++; /* the finish may come at once and the app release us inside */
  /* The app needs no completion and no body callback can come (the request
   * had none): the adapter lets go of the server's request with the answer,
   * its close callback is not needed (nor the context switch the server makes
   * for it); the server removes it (drop_close) */
  int let_go = early && !io->has_body && !io->reported;
  int rc =
      hl__http_res_end_lines(io->res, lines, llen, body, len, let_go ? HL__ENDL_DROP_CLOSE : 0);
  if (rc == 0) {
    io->head_set = 1;
    if (let_go && io->refs == 3 && io->fd1 == 0 && io->fbuf == NULL) {
      /* the usual: the server's, the app's and ours were all there are (no
       * file): back to the pool at once (what follows, without its stores) */
      hl__app_http_io_recycle(io);
      return 2;
    }
    if (let_go) {
      io->req = NULL;
      io->res = NULL;
      io->reported = 1;
      io->body_cb = NULL;
      /* 2 is also the app's release: the io_unref() below puts us back in
       * the pool */
      io->released = 1;
      /* the server's (its close callback will not come), the app's and ours */
      if ((io->refs -= 3) == 0)
        io_put(io);
      return 2;
    }
  }
  io_unref(io);
  return rc;
}

static void file_read_cb(int64_t result, void *arg);

static int file_read_next(hio_t *io) {
  hl_ctx_t *r = HIO_CTX(io);
  uint64_t left = r->hio_fsize - r->hio_foff;
  size_t want = left < FILE_CHUNK ? (size_t)left : FILE_CHUNK;
  int rc =
      hl_fs_read(r->app->loop, io->fd1 - 1, io->fbuf, want, (int64_t)r->hio_foff, file_read_cb, io);
  if (rc == 0)
    io->refs++; /* the read's */
  return rc;
}

/* The file cannot be sent as promised. Before the head: a bare 500. After it,
 * the response is ended short; the HTTP API offers no way to abort the
 * connection, so the client sees a body shorter than Content-Length. */
static void file_fail(hio_t *io) {
  file_done(io);
  if (io->res == NULL)
    return;
  if (!hl_http_res_headers_sent(io->res)) {
    hl_http_res_remove_header(io->res, "Content-Length");
    hl_http_res_remove_header(io->res, "Content-Type");
    hl_http_res_status(io->res, 500, NULL);
  }
  hl_http_res_end(io->res, NULL, 0);
}

static void file_read_cb(int64_t result, void *arg) {
  hio_t *io = arg;
  if (io->res == NULL || io->fd1 == 0) { /* the client went away meanwhile */
    file_done(io);
  } else if (result <= 0) {
    file_fail(io); /* a read error, or the file shrank */
  } else {
    hl_ctx_t *r = HIO_CTX(io);
    r->hio_foff += (uint64_t)result;
    if (r->hio_foff >= r->hio_fsize) {
      hl_http_res_end(io->res, io->fbuf, (size_t)result);
      file_done(io);
    } else if (hl_http_res_write(io->res, io->fbuf, (size_t)result) != 0 ||
               file_read_next(io) != 0) {
      file_fail(io);
    }
  }
  io_unref(io);
}

static int v_respond_file(void *p, int status, const hl_header_t *h, size_t n, const char *path) {
  hio_t *io = p;
  if (io->res == NULL)
    return HL_ECLIENTGONE;
  if (io->fd1)
    return HL_ESTATE;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT || errno == ENOTDIR ? HL_ENOENT : -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd); /* a directory or a device is no file to send */
    return HL_ENOENT;
  }
  int rc = set_head(io, status, h, n);
  char cl[24];
  snprintf(cl, sizeof cl, "%llu", (unsigned long long)st.st_size);
  if (rc == 0 && (rc = hl_http_res_set_header(io->res, "Content-Length", cl)) != 0)
    for (size_t j = 0; j < n; j++)
      hl_http_res_remove_header(io->res, h[j].name);
  if (rc) {
    close(fd);
    return rc;
  }
  const char *m = hl_http_req_method(io->req);
  hl_ctx_t *r = HIO_CTX(io);
  io->fd1 = fd + 1;
  r->hio_fsize = (uint64_t)st.st_size;
  r->hio_foff = 0;
  if (r->hio_fsize == 0 || (m && strcmp(m, "HEAD") == 0)) { /* nothing to read */
    file_done(io);
    io->refs++;
    rc = hl_http_res_end(io->res, NULL, 0);
    io_unref(io);
    return rc;
  }
  io->fbuf = hl__malloc(r->hio_fsize < FILE_CHUNK ? (size_t)r->hio_fsize : FILE_CHUNK);
  if (io->fbuf == NULL || (rc = file_read_next(io)) != 0) {
    file_done(io);
    for (size_t j = 0; j < n; j++)
      hl_http_res_remove_header(io->res, h[j].name);
    hl_http_res_remove_header(io->res, "Content-Length");
    return io->fbuf ? rc : HL_ENOMEM;
  }
  return 0;
}

static int v_stream_start(void *p, int status, const hl_header_t *h, size_t n) {
  hio_t *io = p;
  if (io->res == NULL)
    return HL_ECLIENTGONE;
  int rc = set_head(io, status, h, n);
  if (rc)
    return rc;
  return hl_http_res_write_head(io->res, 0, NULL);
}
static int v_stream_write(void *p, const void *data, size_t len) {
  hio_t *io = p;
  if (io->res == NULL)
    return HL_ECLIENTGONE;
  return len ? hl_http_res_write(io->res, data, len) : 0;
}
static int v_stream_end(void *p) {
  hio_t *io = p;
  if (io->res == NULL)
    return HL_ECLIENTGONE;
  io->refs++;
  int rc = hl_http_res_end(io->res, NULL, 0);
  io_unref(io);
  return rc;
}

/* Only the dispatch uses run(), from the server's request callback, which is
 * already in the request's context: a direct call. Anywhere else: HL_ESTATE. */
static int v_run(void *p, hl_fn fn, void *arg) {
  hio_t *io = p;
  if (io->req == NULL || hl_execution_async_id() != hl_http_req_async_id(io->req))
    return HL_ESTATE;
  fn(arg);
  return 0;
}

static void v_release(void *p) {
  hio_t *io = p;
  if (io->released)
    return;
  io->released = 1;
  io->body_cb = NULL;
  io_unref(io); /* the app's reference */
}

const hl__app_io_t hl__app_http_vt = {v_method,       v_path,
                                      v_query,        v_header,
                                      v_header_at,    v_read_body,
                                      v_respond,      v_respond_file,
                                      v_stream_start, v_stream_write,
                                      v_stream_end,   v_run,
                                      v_release,      hl__app_http_respond_lines};

/* ---- the app's HTTP state ----------------------------------------------------------------- */

static hl__app_http_t *http_state(hl_app_t *app) {
  if (app->http == NULL) {
    hl__app_http_t *H = hl__calloc(1, sizeof(*H));
    if (H == NULL)
      return NULL;
    H->app = app;
    app->http = H;
  }
  return app->http;
}

int hl__app_http_busy(const hl_app_t *app) {
  const hl__app_http_t *H = app->http;
  return H && (H->srv || H->closing || H->ios);
}

void hl__app_http_free(hl_app_t *app) {
  hl__app_http_t *H = app->http;
  if (H == NULL)
    return;
  hl__free(H);
  app->http = NULL;
}

/* Answer a request the app could not take (out of memory) with a bare 500. */
void hl__app_http_answer_500(hl_http_res_t *res) {
  if (hl_http_res_headers_sent(res))
    return;
  hl_http_res_status(res, 500, NULL);
  hl_http_res_set_header(res, "Connection", "close");
  hl_http_res_end(res, NULL, 0);
}

/* A request with its adapter part set up. NULL: no memory (answered 500). */
hl_ctx_t *hl__app_http_ctx_new(hl_app_t *app, hl_http_res_t *res) {
  hl__app_http_t *H = http_state(app);
  hl_ctx_t *r = H ? hl__pool_get(&app->pool) : NULL;
  if (r == NULL) {
    hl__app_http_answer_500(res);
    return NULL;
  }
  hl__ctx_reset(r); /* hio_body and hio_bcap stay (a new object is all zero) */
  r->app = app;
  H->ios++;
  return r;
}

/* Back to the pool: the request could not be taken (nothing registered). */
void hl__app_http_ctx_drop(hl_ctx_t *r) {
  hl_app_t *app = r->app;
  hl__pool_put(&app->pool, r);
  app->http->ios--;
}

int hl__app_http_body_on(hio_t *io, hl_http_req_t *req, hl_http_res_t *res, int here) {
  int rc = hl_http_res_on(res, HL_HTTP_RES_FINISH, on_finish, io);
  if (rc != 0) {
    if (here)
      hl_http_req_on_close(req, NULL, NULL);
    hl__app_http_ctx_drop(HIO_CTX(io)); /* the response's listener slots are full */
    hl__app_http_answer_500(res);
    return rc;
  }
  io->finish_on = 1;
  io->has_body = 1;
  hl_http_req_on_body(req, on_data, on_end, io);
  return 0;
}

/* The application hands the request over itself (maybe later than the
 * server's request callback; hl_app_http_request, in lifecycle.c, is that
 * callback's inline version): io (hl__app_http_io_new) takes it. The
 * completion: a request read whole gets its close callback right after the
 * finish, in the same step (the finish of a request whose message is
 * complete releases it), so hl__app_http_on_close reports it and no FINISH
 * listener is needed (a response without listeners takes the server's quiet
 * path). One with a body may still be arriving when the response finishes:
 * FINISH tells (v_respond drops the listener if the body was all there by
 * then). */
HL_EXPORT int hl_app_handle(hl_app_t *app, hl_http_req_t *req, hl_http_res_t *res) {
  if (app == NULL || req == NULL || res == NULL || hl_http_res_req(res) != req ||
      hl_http_res_headers_sent(res))
    return HL_EINVAL;
  hl_ctx_t *r = hl__app_http_ctx_new(app, res);
  if (r == NULL)
    return HL_ENOMEM;
  hio_t *io = &r->hio;
  io->req = req;
  io->res = res;
  int rc;
  if (hl__http_req_has_body(req)) {
    if ((rc = hl__app_http_body_on(io, req, res, 0)) != 0)
      return rc;
  } else { /* whole now: the lifecycle need not wait for the end-of-message callback */
    io->body_end = 1;
  }
  hl_http_req_on_close(req, hl__app_http_on_close, io);
  io->refs = 2; /* the server's (until its close callback) and the app's (until release) */
  rc = hl__app_dispatch_http(r, app, 0);
  if (rc) { /* nothing started: the app will not release (its part waits for the close) */
    io->released = 1;
    io->refs--;
    hl__app_http_answer_500(res);
  }
  return rc;
}

/* hl_app_http_request(), the server's request callback, is in lifecycle.c, inline
 * with the dispatch (http_io.h). */

HL_EXPORT int hl_app_attach(hl_app_t *app, hl_http_server_t *server) {
  if (app == NULL || server == NULL || server->impl == NULL)
    return HL_EINVAL;
  if (http_state(app) == NULL)
    return HL_ENOMEM;
  server->data = app;
  return 0;
}

HL_EXPORT int hl_app_set_limits(hl_app_t *app, const hl_http_limits_t *limits) {
  if (app == NULL)
    return HL_EINVAL;
  hl__app_http_t *H = http_state(app);
  if (H == NULL)
    return HL_ENOMEM;
  if (H->srv || H->closing)
    return HL_ESTATE;
  H->has_limits = limits != NULL;
  if (limits)
    H->limits = *limits;
  return 0;
}

static void failed_srv_closed(hl_http_server_t *s) {
  hl__free(s);
}

static int listen_common(hl_app_t *app, const char *host, int port, const char *path, int backlog) {
  hl__app_http_t *H = http_state(app);
  if (H == NULL)
    return HL_ENOMEM;
  if (H->srv || H->closing)
    return HL_ESTATE;
  hl_http_server_t *s = hl__calloc(1, sizeof(*s));
  if (s == NULL)
    return HL_ENOMEM;
  int rc =
      hl_http_server_init(app->loop, s, hl_app_http_request, H->has_limits ? &H->limits : NULL);
  if (rc) {
    hl__free(s);
    return rc;
  }
  s->data = app;
  rc = path ? hl_http_server_listen_unix(s, path, backlog)
            : hl_http_server_listen(s, host, port, backlog);
  if (rc) {
    hl_http_server_close(s, failed_srv_closed); /* frees itself once closed */
    return rc;
  }
  H->srv = s;
  return 0;
}

HL_EXPORT int hl_app_listen(hl_app_t *app, const char *host, int port, int backlog) {
  if (app == NULL || host == NULL || port < 0 || port > 65535)
    return HL_EINVAL;
  return listen_common(app, host, port, NULL, backlog);
}

HL_EXPORT int hl_app_listen_unix(hl_app_t *app, const char *path, int backlog) {
  if (app == NULL || path == NULL || *path == '\0')
    return HL_EINVAL;
  return listen_common(app, NULL, 0, path, backlog);
}

HL_EXPORT int hl_app_port(const hl_app_t *app) {
  if (app == NULL)
    return HL_EINVAL;
  if (app->http == NULL || app->http->srv == NULL || app->http->srv_closing)
    return HL_ESTATE;
  return hl_http_server_port(app->http->srv);
}

HL_EXPORT hl_http_server_t *hl_app_server(const hl_app_t *app) {
  return app && app->http && !app->http->srv_closing ? app->http->srv : NULL;
}

/* The close completes from an immediate: the last adapter object is released
 * from inside the app's lifecycle, where the app cannot be freed yet. */
static void notify_closed(void *arg) {
  hl__app_http_t *H = arg;
  H->notify_pending = 0;
  if (!H->closing || H->srv || H->ios)
    return; /* a request came in meanwhile (an attached server): the last release calls again */
  H->closing = 0;
  hl_app_close_cb cb = H->close_cb;
  H->close_cb = NULL;
  if (cb)
    cb(H->app); /* may free the app (and H) */
}

void hl__app_http_check_closed(hl__app_http_t *H) {
  if (!H->closing || H->srv || H->ios || H->notify_pending)
    return;
  if (hl_set_immediate(H->app->loop, notify_closed, H, NULL) == 0)
    H->notify_pending = 1;
  else
    notify_closed(H); /* no memory for an immediate: call it now */
}

static void srv_closed(hl_http_server_t *s) {
  hl_app_t *app = s->data;
  hl__app_http_t *H = app->http;
  hl__free(s);
  H->srv = NULL;
  H->srv_closing = 0;
  hl__app_http_check_closed(H);
}

HL_EXPORT int hl_app_close(hl_app_t *app, hl_app_close_cb cb) {
  if (app == NULL)
    return HL_EINVAL;
  hl__app_http_t *H = http_state(app);
  if (H == NULL)
    return HL_ENOMEM;
  if (H->closing)
    return HL_ESTATE;
  H->closing = 1;
  H->close_cb = cb;
  if (H->srv) {
    H->srv_closing = 1;
    int rc = hl_http_server_close(H->srv, srv_closed);
    if (rc) {
      H->closing = 0;
      H->srv_closing = 0;
      H->close_cb = NULL;
      return rc;
    }
  } else {
    hl__app_http_check_closed(H);
  }
  return 0;
}
