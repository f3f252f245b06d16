/* src/app/io.h - the adapter interface between a transport and the app layer.
 *
 * The app never talks to sockets. A transport (the HTTP server's glue, or the
 * tests' fake) implements hl__app_io_t for its request type and hands each
 * request to hl__app_dispatch(). The app calls back into the vtable to read
 * the request and to send the response; the transport calls
 * hl__app_io_closed() once, when the response's last byte was handed to the
 * kernel or the client went away (whichever comes first), and keeps `io` valid
 * until the app calls release(io).
 *
 * Every callback from the transport into the app (dispatch, the body callback,
 * closed) must be made inside the request's execution context; run() is how
 * the app enters it for work it starts itself.
 */
#ifndef HL_APP_IO_H
#define HL_APP_IO_H

#include <stddef.h>
#include <stdint.h>
#include "hookloop/app.h"

typedef struct hl_ctx_s hl__req_t;

/* Called by the transport when the whole body is there (status 0), or with a
 * negative status (too large, read error, client gone); data stays valid until
 * release(). May be called from inside read_body(). */
typedef void (*hl__app_body_cb)(hl__req_t *req, int status, const void *data, size_t len);

typedef struct hl__app_io_s {
  /* After hl__app_io_closed() the transport calls nothing else for the request
   * (no body callback); the app stops calling it except release().
   * ---- the request (strings valid until release) ---- */
  const char *(*method)(void *io); /* "GET" ... */
  const char *(*path)(void *io);   /* the path, without the query */
  const char *(*query)(void *io);  /* the raw query without '?', or NULL */
  /* first header named `name` (case-insensitive), or NULL */
  const char *(*header)(void *io, const char *name);
  /* i-th header in order: 0, or HL_ENOENT past the end */
  int (*header_at)(void *io, size_t i, const char **name, const char **value);
  /* Start reading the whole body; cb(req, ...) exactly once. 0 or an error
   * (then cb is not called). */
  int (*read_body)(void *io, hl__req_t *req, hl__app_body_cb cb);

  /* ---- the response: exactly one of respond / respond_file / stream_start ---
   * Headers do not include Content-Length or Transfer-Encoding (the transport
   * adds them); ctype may be NULL. A HEAD request gets no body from the
   * transport. Each returns 0, or an error with nothing sent. */
  int (*respond)(void *io, int status, const hl_header_t *headers, size_t n, const void *body,
                 size_t len);
  /* Send the file at `path` (sendfile); HL_ENOENT (or another error) when it
   * cannot be opened, with nothing sent. */
  int (*respond_file)(void *io, int status, const hl_header_t *headers, size_t n, const char *path);
  int (*stream_start)(void *io, int status, const hl_header_t *headers, size_t n);
  int (*stream_write)(void *io, const void *data, size_t len);
  int (*stream_end)(void *io);

  /* ---- execution context ----
   * Run fn(arg) in the request's execution context. NULL: the app gives each
   * request an hl_async_resource_t of type "HLAPPREQUEST" of its own. */
  int (*run)(void *io, hl_fn fn, void *arg);
  /* The app is done with `io` (after afterResponse): the transport may free it. */
  void (*release)(void *io);

  /* ---- optional (NULL: the app always uses respond) ----
   * respond(io, 200, <the headers in `lines`>, n, body, len) when the
   * transport can write it straight: `lines` are llen bytes of complete
   * "Name: value\r\n" header lines the app made (valid by construction, no
   * Content-Length or Transfer-Encoding; "" for none). 0 or an error as
   * respond; 1 when the transport has no fast way for this response (nothing
   * done: the app calls respond). `early`: the app needs no completion for
   * this request (nothing of it runs after the response); the transport may
   * then forget the request at once and return 2: sent, no
   * hl__app_io_closed() will come and `io` is released as well (the app
   * ends the request now and does not call release). */
  int (*respond_lines)(void *io, const char *lines, size_t llen, const void *body, size_t len,
                       int early);
} hl__app_io_t;

/* Start the lifecycle of one request (call it from the transport's request
 * callback). `vt` is the transport's constant table (checked once per app,
 * not per request). 0; HL_EINVAL; HL_ENOMEM (nothing started: answer 500 yourself).
 * `*out` (may be NULL) is the handle for hl__app_io_closed(). */
int hl__app_dispatch(hl_app_t *app, const hl__app_io_t *vt, void *io, hl__req_t **out);
/* The same with `t0`, an hl__clock_ns() reading the transport took for this
 * request just before (only its own plumbing in between; 0: none): a traced
 * request's start time (and its request stage's begin) is t0 instead of a
 * reading of its own. */
int hl__app_dispatch_at(hl_app_t *app, const hl__app_io_t *vt, void *io, hl__req_t **out,
                        uint64_t t0);

/* The transport's one completion call: status 0 after the response's last byte
 * was handed to the kernel, negative when the client went away (at any point,
 * also before a response). Later calls are ignored. */
void hl__app_io_closed(hl__req_t *req, int status);

#endif
