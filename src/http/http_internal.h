/* src/http/http_internal.h - what the HTTP files share. */
#ifndef HL_HTTP_INTERNAL_H
#define HL_HTTP_INTERNAL_H

#include "../core/internal.h"

/* The number of http-hooks subscriptions on this thread (read inline on
 * every request: nonzero means hl__http_hooks_fire has work). */
extern _Thread_local int hl__http_nsubs HL__TLS_HOT;
static inline int hl__http_hooks_any(void) {
  return hl__http_nsubs;
}
/* The subscriptions (hooks.c): the first hl__http_nsubs are valid. */
typedef struct hl__http_sub_s {
  hl__loop_t *L;
  int mask;
  hl_http_hook_cb cb;
  void *arg;
} hl__http_sub_t;
extern _Thread_local hl__http_sub_t hl__http_subs[];
void hl__http_hooks_fire_many(hl__loop_t *L, hl_http_hook_event_t *ev);
/* Fire ev when hl__http_hooks_any(): one subscription is called from the
 * site (nothing to snapshot, as Node's emit), several from a snapshot. */
static inline void hl__http_hooks_fire(hl__loop_t *L, hl_http_hook_event_t *ev) {
  if (HL_LIKELY(hl__http_nsubs == 1)) {
    const hl__http_sub_t *s = &hl__http_subs[0];
    if (s->L == L && (s->mask & ev->kind))
      s->cb(ev, s->arg);
  } else {
    hl__http_hooks_fire_many(L, ev);
  }
}
void hl__http_struct_sizes(size_t *conn, size_t *req); /* bench/http */
/* Bytes of I/O buffers a connection holds (tests: an idle one holds none). */
size_t hl__http_conn_buffered(const hl_http_conn_t *C);
/* hl_http_res_add_header() for a name and value the caller made valid itself
 * (a token; no CR, LF or NUL) with their lengths: no check, no strlen (the
 * app's Server-Timing value, a few hundred bytes per traced response).
 * 0, HL_EINVAL (res unusable), HL_ESTATE (head sent), HL_ENOMEM. */
int hl__http_res_add_header_trusted(hl_http_res_t *res, const char *name, size_t nl,
                                    const char *value, size_t vl);

/* Remove the response listener (cb, arg) added with hl_http_res_on(): 0 or
 * HL_ENOENT. From inside a listener of that response it takes effect from the
 * next event (events run on a snapshot of the listeners). (The app drops its
 * FINISH listener when the request's close callback will report the same
 * moment: a response without listeners takes the server's quiet path.) */
int hl__http_res_off(hl_http_res_t *res, hl_http_res_event_cb cb, void *arg);

/* RFC 9110 tchar (ALPHA / DIGIT / "!#$%&'*+-.^_`|~", ASCII whatever the
 * locale): 1 for a token character. Header names; Server-Timing metric names. */
extern const unsigned char hl__http_tchar[256];

/* The request announced a body (a Content-Length other than 0, or a
 * Transfer-Encoding), as its headers said. */
int hl__http_req_has_body(const hl_http_req_t *req);

/* hl_http_res_status(res, status, NULL), with nothing to do when the
 * response already has that status and the standard reason. */
int hl__http_res_status_std(hl_http_res_t *res, int status);

/* (src/app/http.c's fast answer) hl_http_res_end(res, body, len) after adding
 * the header lines `lines` (llen bytes of complete "Name: value\r\n" lines,
 * valid, none of Date, Content-Length, Transfer-Encoding, Connection), when
 * the response is fresh (status 200 with its standard reason, no header
 * added, nothing written), has no head or end listener, the body is under 4
 * KiB and the request is HTTP/1.1 keep-alive, not HEAD: the head goes straight
 * into the output, byte for byte what the general path writes. 0 when done; 1
 * when the response is not such a one (nothing done: take the general path).
 * `flags`: HL__ENDL_DROP_CLOSE: when done, the request's close callback is
 * also removed (as hl_http_req_on_close(req, NULL, NULL), before the request
 * can be released); HL__ENDL_LINES_CONST: `lines` is not NULL and its llen
 * bytes never change (a literal), so the head's start made with them may be
 * kept and reused (the last one, per thread). */
#define HL__ENDL_DROP_CLOSE  1u
#define HL__ENDL_LINES_CONST 2u
int hl__http_res_end_lines(hl_http_res_t *res, const char *lines, size_t llen, const void *body,
                           size_t len, unsigned flags);
/* hl__http_res_end_lines(res, lines, llen, body, len, HL__ENDL_DROP_CLOSE |
 * HL__ENDL_LINES_CONST), made with those flags as constants (the app's
 * lane: no flag tests). */
int hl__http_res_end_lines_const(hl_http_res_t *res, const char *lines, size_t llen,
                                 const void *body, size_t len);

/* (src/app/http.c's request callback) What hl_app_http_request checks,
 * registers and reads, in one call: HL_EINVAL unless `res` is `req`'s
 * response and its head is not sent (hl_http_res_req,
 * hl_http_res_headers_sent); else `on_close` registered as
 * hl_http_req_on_close(req, on_close, close_arg) does, b->t0 = the
 * request's headers time (hl_http_req_times()->headers), b->method and
 * b->path what hl_http_req_method() and hl_http_req_path() answer, and the
 * result is hl__http_req_has_body(req). (The callback in registers, not
 * through b: two stores and two loads less.) */
typedef struct hl__http_app_begin_s {
  uint64_t t0;
  const char *method, *path;
} hl__http_app_begin_t;
int hl__http_req_app_begin(hl_http_req_t *req, const hl_http_res_t *res, hl_http_close_cb on_close,
                           void *close_arg, hl__http_app_begin_t *b);

#endif
