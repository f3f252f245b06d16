/* src/app/http_io.h - the HTTP adapter's object and its hot path, shared by
 * http.c (the adapter) and lifecycle.c, where the server's request callback
 * (hl_app_http_request) and the lane's fast answer for an HTTP request run
 * inline with the lifecycle (no call between the adapter and the dispatch,
 * none between the lane and the adapter's usual answer). */
#ifndef HL_APP_HTTP_IO_H
#define HL_APP_HTTP_IO_H

#include "app_internal.h"
#include "http/http_internal.h"

#define BODY_KEEP_MAX 65536u /* a body buffer up to this size stays with its pooled object */

typedef struct hio_s hio_t;

struct hl__app_http_s {
  hl_app_t *app;
  hl_http_server_t *srv; /* the app's own server (hl_app_listen), or NULL */
  hl_http_limits_t limits;
  int has_limits;
  hl__pool_t pool; /* hio_t */
  unsigned ios;    /* adapter objects not yet back in the pool */
  unsigned closing : 1, srv_closing : 1, notify_pending : 1;
  hl_app_close_cb close_cb;
};

struct hio_s {
  void *pool_link;
  /* ---- set by app_handle (not cleared) ---- */
  hl__app_http_t *H;
  hl_http_req_t *req; /* NULL once the server's request ended */
  hl_http_res_t *res;
  char *body; /* kept with the pooled object (see io_put) */
  size_t bcap;
  uint64_t fsize, foff; /* respond_file's (set there) */
  /* ---- cleared by app_handle (from areq on) ---- */
  hl__req_t *areq; /* the app's request until it released us */
  hl__app_body_cb body_cb;
  size_t blen;
  int body_err;
  unsigned refs;
  uint8_t body_end, reported, released, head_set, finish_on, has_body;
  /* respond_file */
  int fd;
  char *fbuf;
};

/* the adapter's transport table (http.c) */
extern const hl__app_io_t hl__app_http_vt;
void hl__app_http_check_closed(hl__app_http_t *H);
/* the server's close callback for a request the app took */
void hl__app_http_on_close(hl_http_req_t *req, int aborted, void *arg);
/* the adapter object for a request, reset; NULL: no memory (answered 500) */
hio_t *hl__app_http_io_new(hl_app_t *app, hl_http_res_t *res);
/* back to the pool: the request could not be taken (nothing registered) */
void hl__app_http_io_drop(hio_t *io);
/* a request that announced a body: the FINISH listener and the body
 * callbacks; nonzero: failed, io dropped and answered 500 (`here`: the close
 * callback hl__http_req_app_begin() registered removed) */
int hl__app_http_body_on(hio_t *io, hl_http_req_t *req, hl_http_res_t *res, int here);
void hl__app_http_answer_500(hl_http_res_t *res);
/* the table's respond_lines (any case) */
int hl__app_http_respond_lines(void *p, const char *lines, size_t llen, const void *body,
                               size_t len, int early);

/* The last reference went, no file open: back to the pool. */
HL_INLINE void hl__app_http_io_recycle(hio_t *io) {
  hl__app_http_t *H = io->H;
  if (io->bcap > BODY_KEEP_MAX) {
    hl__free(io->body);
    io->body = NULL;
    io->bcap = 0;
  }
  hl__pool_put(&H->pool, io);
  H->ios--;
  if (H->closing && H->ios == 0)
    hl__app_http_check_closed(H);
}

/* hl__app_http_io_new() inline when the app's HTTP state and a pooled object
 * are there (the usual) */
HL_INLINE hio_t *hl__app_http_io_get(hl_app_t *app, hl_http_res_t *res) {
  hl__app_http_t *H = app->http;
  hio_t *io;
  if (HL_UNLIKELY(H == NULL || (io = hl__pool_get(&H->pool)) == NULL))
    return hl__app_http_io_new(app, res);
  /* body and bcap stay (a new object from the pool is all zero) */
  hl__zero16(&io->areq, sizeof(*io) - offsetof(hio_t, areq));
  io->H = H;
  io->fd = -1;
  H->ios++;
  return io;
}

/* respond_lines for the lane: the usual case (the app needs no completion,
 * the request had no body, only the server's and the app's references, no
 * file) inline: what hl__app_http_respond_lines() does then (the answer, the
 * server's request let go, the object back to the pool, 2), without its
 * reference count's round trip and the stores nobody reads; anything else
 * through it. */
HL_INLINE int hl__app_http_lines(void *p, const char *lines, size_t llen, const void *body,
                                 size_t len, int early) {
  hio_t *io = p;
  if (HL_LIKELY(early && io->res && io->refs == 2 && !io->has_body && !io->reported &&
                !io->finish_on && io->fd < 0 && io->fbuf == NULL)) {
    if (hl__http_res_end_lines(io->res, lines, llen, body, len, 1) != 0)
      return 1; /* nothing done */
    hl__app_http_io_recycle(io);
    return 2;
  }
  return hl__app_http_respond_lines(p, lines, llen, body, len, early);
}

#endif
