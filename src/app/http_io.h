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

struct hl__app_http_s {
  hl_app_t *app;
  hl_http_server_t *srv; /* the app's own server (hl_app_listen), or NULL */
  hl_http_limits_t limits;
  int has_limits;
  unsigned ios; /* HTTP requests whose adapter part (hio_t) is not done yet */
  unsigned closing : 1, srv_closing : 1, notify_pending : 1;
  hl_app_close_cb close_cb;
};

/* The request an adapter state is part of (hl_ctx_t.hio). */
#define HIO_CTX(io) ((hl_ctx_t *)((char *)(io)-offsetof(hl_ctx_t, hio)))

/* the adapter's transport table (http.c) */
extern const hl__app_io_t hl__app_http_vt;
void hl__app_http_check_closed(hl__app_http_t *H);
/* the server's close callback for a request the app took */
void hl__app_http_on_close(hl_http_req_t *req, int aborted, void *arg);
/* a request with its adapter part set up (reset: no file, fd1 0; counted in
 * H->ios); NULL: no memory (answered 500) */
hl_ctx_t *hl__app_http_ctx_new(hl_app_t *app, hl_http_res_t *res);
/* back to the pool: the request could not be taken (nothing registered) */
void hl__app_http_ctx_drop(hl_ctx_t *r);
/* a request that announced a body: the FINISH listener and the body
 * callbacks; nonzero: failed, the request dropped and answered 500 (`here`:
 * the close callback hl__http_req_app_begin() registered removed) */
int hl__app_http_body_on(hio_t *io, hl_http_req_t *req, hl_http_res_t *res, int here);
void hl__app_http_answer_500(hl_http_res_t *res);
/* the table's respond_lines (any case) */
int hl__app_http_respond_lines(void *p, const char *lines, size_t llen, const void *body,
                               size_t len, int early);

/* The adapter's part is done (its last reference went, no file open): the
 * object back to the pool if the lifecycle let go of it too (ctx_done). */
HL_INLINE void hl__app_http_io_recycle(hio_t *io) {
  hl_ctx_t *r = HIO_CTX(io);
  hl_app_t *app = r->app;
  hl__app_http_t *H = app->http;
  io->refs = 0;
  if (r->hio_bcap > BODY_KEEP_MAX) {
    hl__free(r->hio_body);
    r->hio_body = NULL;
    r->hio_bcap = 0;
  }
  if (r->ctx_done)
    hl__pool_put(&app->pool, r);
  H->ios--;
  if (H->closing && H->ios == 0)
    hl__app_http_check_closed(H);
}

/* hl__app_http_ctx_new() inline when the app's HTTP state and a pooled
 * object are there (the usual) */
HL_INLINE hl_ctx_t *hl__app_http_ctx_get(hl_app_t *app, hl_http_res_t *res) {
  hl__app_http_t *H = app->http;
  hl_ctx_t *r;
  if (HL_UNLIKELY(H == NULL || (r = hl__pool_get(&app->pool)) == NULL))
    return hl__app_http_ctx_new(app, res);
  hl__ctx_reset(r); /* hio_body and hio_bcap stay (a new object is all zero) */
  r->app = app;
  H->ios++;
  return r;
}

/* respond_lines for the lane's first and only answer, the client still
 * there (the lane checked r->closed): the usual case (the app needs no
 * completion, the request had no body) inline: what
 * hl__app_http_respond_lines() does then (the answer, the server's request
 * let go, the adapter's part done, 2), without its reference count's round
 * trip and the stores nobody reads; anything else through it. What it need
 * not check there: the client is there, so the server's request is
 * (io->res) and nothing was reported; nothing was sent before, so no file
 * (fd1, fbuf) and no temporary reference (refs is 2: the server's and the
 * app's); no body, so no FINISH listener. That case answers 3: 2's
 * meaning, io->refs left as it was (2) for the caller to clear. `lines`:
 * a literal (the server may keep the head's start made with it:
 * HL__ENDL_LINES_CONST). */
HL_INLINE int hl__app_http_lines(hio_t *io, hl_app_t *app, const char *lines, size_t llen,
                                 const void *body, size_t len, int early) {
  if (HL_LIKELY(early && !io->has_body)) {
    if (hl__http_res_end_lines_const(io->res, lines, llen, body, len) != 0)
      return 1; /* nothing done */
    /* hl__app_http_io_recycle() without the body buffer's check (no body:
     * as it was at the start), the pool (the lifecycle holds the object) and
     * io->refs (3: the caller clears it, or puts the object back in the pool,
     * whose reset clears it) */
    hl__app_http_t *H = app->http; /* (app: the request's, HIO_CTX(io)->app) */
    H->ios--;
    if (H->closing && H->ios == 0)
      hl__app_http_check_closed(H);
    return 3;
  }
  return hl__app_http_respond_lines(io, lines, llen, body, len, early);
}

#endif
