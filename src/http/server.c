/* src/http/server.c - the HTTP/1.1 server: libuv streams (uv_tcp_t/uv_pipe_t,
 * as h2o does, under hookloop's own async resources), llhttp for parsing,
 * keep-alive and pipelining, limits, and the http-hooks response events.
 *
 * Memory: a connection is one pooled struct (handle, timer, parser, queue
 * pointers); read and output buffers are 16 KiB blocks from the server's
 * freelist, held only while there is data in them, so an idle keep-alive
 * connection holds no buffer. A request and its response are one pooled
 * object; header strings are copied into its buffer (kept, capacity and all,
 * when the object goes back to the pool).
 *
 * Output: responses are appended to the connection's output buffer in request
 * order (a response that ends ahead of its turn is kept in its own buffer
 * until the ones before it have ended); everything parsed from one read is
 * answered by one write: uv_try_write first, uv_write for what is left. A
 * response is "finished" when the byte sequence number of its end has been
 * handed to the kernel.
 *
 * Context: reads, writes and timers of a connection run in its TCPWRAP
 * context; the request callback, body, close and finish callbacks in the
 * request's HTTPINCOMINGMESSAGE context. A store entered there
 * (hl_als_enter_with) is adopted by the request for its later callbacks.
 */
#include <signal.h>
#include <stdlib.h>
#include <llhttp.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "http_internal.h"

#define BLK       16384u
#define MAX_FREE  256u
#define MAX_LS    8
#define HDR_DEAD  UINT32_MAX
#define LINGER_MS 2000u

enum { T_NONE, T_HEADERS, T_REQUEST, T_IDLE, T_LINGER };

typedef struct blk_s {
  struct blk_s *next;
} blk_t;

typedef union {
  uv_handle_t h;
  uv_stream_t s;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
} hl__io_t;

typedef struct hl__http_server_s {
  hl__loop_t *L;
  hl_http_server_t *pub;
  hl_http_request_cb on_request;
  hl_http_server_close_cb on_close;
  hl_http_limits_t lim;
  hl__io_t lis;
  hl__async_t async;
  uint8_t is_pipe, listening, failed, closing, lis_open, accept_pending;
  int nconns;
  struct hl_http_conn_s *conns;
  hl__pool_t conn_pool, req_pool;
  blk_t *free_blocks;
  uint32_t nfree;
} srv_t;

typedef struct {
  uint32_t name, value;
  uint8_t trailer;
  uint8_t kind;    /* response headers: HK_* (what the head writer looks for) */
  uint32_t nl, vl; /* response headers: the name's and the value's lengths */
} hent_t;

typedef struct {
  int mask;
  hl_http_res_event_cb cb;
  void *arg;
} lsn_t;

struct hl_http_res_s {
  /* cleared for each request (req_new), with the request's last fields */
  uint32_t hlen, nh;
  uint8_t head_sent, chunked, no_body, wrote, in_head, ended, continue_sent, close_conn,
      body_in_head;
  uint8_t nls;
  uint8_t lsmask; /* the kinds some listener takes */
  /* a header the head writer must look at was added (Date, Content-Length,
   * Transfer-Encoding, Connection), or a trailer, or one was removed: the
   * head takes the general path (cleared in req_new) */
  uint8_t hslow;
  /* nonzero only with a single listener and ev.status and ev.reason current:
   * that listener's mask (res_fire's one test for the single-listener call);
   * cleared where either may change (hl_http_res_status, a move of the
   * header strings a custom reason points into, a listener added or removed) */
  uint8_t one;
  /* (end of the cleared part) set by req_new */
  int status, std_status; /* std_status: the status std_reason is for */
  const char *std_reason;
  uint32_t reason; /* offset in hb, or HDR_DEAD: the standard phrase */
  uint32_t hcap;
  char *hb; /* header strings: name\0value\0 ... (kept in the pool) */
  hent_t *h;
  uint32_t nhcap;
  /* output made before this response's turn: NULL, 0, 0 whenever the
   * object is in the pool (req_free) */
  char *pb;
  size_t plen, pcap;
  uint64_t cl;
  lsn_t ls[MAX_LS];
  hl_http_res_event_t ev; /* res_fire's, for a single listener */
};

struct hl_http_req_s {
  void *pool_link;
  struct hl_http_conn_s *C;
  hl__async_t async;
  /* kept in the pool: the string buffer and the header entries */
  char *buf; /* url\0, name\0value\0 ..., then (a url with a query) path\0 */
  hent_t *hdr;
  uint32_t bcap, hdrcap;
  uint32_t url; /* always 0: the url is buf's first string */
  /* set before they are read */
  uint32_t path, query;
  const char *method;
  uint64_t end_seq;
  void *body_arg;  /* read only with on_data or on_end */
  void *close_arg; /* read only with on_close */
  /* times.start and .headers are set, the other points are cleared: the
   * part req_new clears begins at times.pre_write_head and ends inside res */
  hl_http_times_t times;
  struct hl_http_req_s *next;
  void *data;
  hl_http_data_cb on_data;
  hl_http_end_cb on_end;
  hl_http_close_cb on_close;
  uint64_t body_bytes;
  uint32_t blen, nhdr;
  uint8_t major, minor, keep_alive, expect_continue, hs, is_head, has_body;
  uint8_t dispatched, msg_done, appended, finished, aborted, paused, released;
  uint8_t name6; /* a header name of 6 bytes was seen (an Expect, maybe) */
  struct hl_http_res_s res;
};

struct hl_http_conn_s {
  void *pool_link;
  srv_t *S;
  hl__io_t io;
  uv_timer_t timer;
  llhttp_t parser;
  hl__async_t async;
  struct hl_http_conn_s *next, *prev;
  hl_http_req_t *q_head, *q_tail, *cur, *writer;
  uint32_t nq, busy;
  char *rbuf;
  size_t rpos, rlen;
  char *out, *wbuf;
  size_t olen, ocap, wlen, wcap;
  union {
    uv_write_t w;
    uv_shutdown_t sd;
  } u;
  uint64_t out_seq, sent_seq, deadline, timer_due, req_start_ms, read_ns;
  uint32_t hdr_bytes;
  uint16_t err_status;
  uint8_t tkind, in_read, reading, writing, dead, close_when_idle, ending, closed, nclosing,
      flushing, reflush, pause_queue, eof;
};

static llhttp_settings_t settings;

/* ---- blocks and growable buffers ------------------------------------------------- */

static char *blk_get(srv_t *S) {
  blk_t *b = S->free_blocks;
  if (b) {
    S->free_blocks = b->next;
    S->nfree--;
    return (char *)b;
  }
  return hl__malloc(BLK);
}

static void buf_release(srv_t *S, char *p, size_t cap) {
  if (!p)
    return;
  if (cap == BLK && S->nfree < MAX_FREE) {
    blk_t *b = (blk_t *)p;
    b->next = S->free_blocks;
    S->free_blocks = b;
    S->nfree++;
  } else {
    hl__free(p);
  }
}

/* Room for n more bytes after *len in the growable buffer (*b, *cap): 16 KiB
 * blocks from the freelist, doubled beyond. NULL: HL_ENOMEM, nothing lost. */
static char *buf_room(srv_t *S, char **b, size_t *len, size_t *cap, size_t n) {
  if (*cap == 0 && n <= BLK) { /* the usual growth: an empty buffer takes a block */
    char *nb = blk_get(S);
    if (!nb)
      return NULL;
    *b = nb;
    *cap = BLK;
    return nb;
  }
  if (*len + n > *cap) {
    size_t nc = *cap ? *cap * 2 : BLK;
    while (nc < *len + n)
      nc *= 2;
    char *nb = nc == BLK ? blk_get(S) : hl__malloc(nc);
    if (!nb)
      return NULL;
    if (*len)
      memcpy(nb, *b, *len);
    buf_release(S, *b, *cap);
    *b = nb;
    *cap = nc;
  }
  return *b + *len;
}

static int buf_append(srv_t *S, char **b, size_t *len, size_t *cap, const void *d, size_t n) {
  char *p = buf_room(S, b, len, cap, n);
  if (!p)
    return HL_ENOMEM;
  memcpy(p, d, n);
  *len += n;
  return 0;
}

/* Request strings: appended to req->buf. The growth path is out of line. */
static int rb_grow(hl_http_req_t *r, size_t n) {
  uint32_t nc = r->bcap ? r->bcap : 256;
  while (nc < r->blen + n + 1)
    nc *= 2;
  char *nb = hl__realloc(r->buf, nc);
  if (!nb)
    return -1;
  r->buf = nb;
  r->bcap = nc;
  return 0;
}

static inline int rb_reserve(hl_http_req_t *r, size_t n) {
  return HL_LIKELY(r->blen + n + 1 <= r->bcap) ? 0 : rb_grow(r, n);
}

/* n bytes; up to 32 of them (a url, a header name, a short value) in two
 * overlapping fixed-size moves, without a call. (put_small below does the same
 * for up to 64 bytes; the parser's callbacks keep this shorter one: sharing
 * put_small there cost the bare server ~44 instructions per request.) */
static inline __attribute__((always_inline)) void copy_short(char *d, const char *s, size_t n) {
  if (n >= 8 && n <= 32) {
    if (n >= 16) {
      memcpy(d, s, 16);
      memcpy(d + n - 16, s + n - 16, 16);
    } else {
      memcpy(d, s, 8);
      memcpy(d + n - 8, s + n - 8, 8);
    }
  } else if (n >= 4 && n < 8) {
    memcpy(d, s, 4);
    memcpy(d + n - 4, s + n - 4, 4);
  } else if (n < 4) {
    if (n) {
      d[0] = s[0];
      d[n / 2] = s[n / 2];
      d[n - 1] = s[n - 1];
    }
  } else {
    memcpy(d, s, n);
  }
}

static inline int rb_append(hl_http_req_t *r, const char *d, size_t n) {
  if (HL_UNLIKELY(r->blen + n + 1 > r->bcap) && rb_grow(r, n))
    return -1;
  copy_short(r->buf + r->blen, d, n);
  r->blen += (uint32_t)n;
  return 0;
}

/* One NUL: ends the string being collected (room for it is always kept). */
static inline int rb_nul(hl_http_req_t *r) {
  if (HL_UNLIKELY(r->blen + 2 > r->bcap) && rb_grow(r, 1))
    return -1;
  r->buf[r->blen++] = 0;
  return 0;
}

/* ---- forward declarations -------------------------------------------------------- */

static void conn_flush(hl_http_conn_t *C);
static void conn_process(hl_http_conn_t *C);
static void conn_close(hl_http_conn_t *C);
static void conn_end(hl_http_conn_t *C);
static void conn_fail(hl_http_conn_t *C, int status);
static void conn_idle_check(hl_http_conn_t *C);
static void req_release(hl_http_req_t *r, int aborted);
static void srv_maybe_done(srv_t *S);
static void srv_accept(srv_t *S);
static int res_write_head(hl_http_res_t *res, int status, const char *reason, int64_t implicit,
                          uint64_t now, const void *body, size_t blen);

static const char *status_text(int st);

#define RES_REQ(res) hl__container_of(res, hl_http_req_t, res)
/* No listener on the head and end events (a FINISH listener runs later, on
 * its own): end() may share clock readings and takes no event detour. */
#define RES_QUIET(res)                                                                             \
  (!((res)->lsmask & (HL_HTTP_RES_PRE_WRITE_HEAD | HL_HTTP_RES_POST_WRITE_HEAD |                   \
                      HL_HTTP_RES_PRE_END | HL_HTTP_RES_POST_END)))

/* ---- timers ------------------------------------------------------------------------ */

static void timer_cb(uv_timer_t *t);

/* The connection's deadline: `kind` in ms from `now` (the loop's uv_now,
 * which the per-request callers have read already: inline there). */
static inline __attribute__((always_inline)) void conn_deadline_at(hl_http_conn_t *C, int kind,
                                                                   uint64_t now, uint64_t ms) {
  if (kind == T_NONE || ms == 0) {
    C->tkind = T_NONE;
    return;
  }
  C->tkind = (uint8_t)kind;
  C->deadline = now + ms;
  /* the timer may fire early (it re-arms itself then), never late */
  if (HL_UNLIKELY(!C->timer_due || C->timer_due > C->deadline)) {
    C->timer_due = C->deadline;
    uv_timer_start(&C->timer, timer_cb, ms, 0);
  }
}

static void conn_deadline(hl_http_conn_t *C, int kind, uint64_t ms) {
  conn_deadline_at(C, kind, uv_now(C->S->L->uv), ms);
}

static void timer_cb(uv_timer_t *t) {
  hl_http_conn_t *C = hl__container_of(t, hl_http_conn_t, timer);
  C->timer_due = 0;
  if (C->closed || C->tkind == T_NONE)
    return;
  uint64_t now = uv_now(C->S->L->uv);
  if (now < C->deadline) {
    C->timer_due = C->deadline;
    uv_timer_start(&C->timer, timer_cb, C->deadline - now, 0);
    return;
  }
  hl__loop_t *L = C->S->L;
  hl_async_id_t id = C->async.id;
  hl__loop_t *prev = hl__enter(L, &C->async);
  int kind = C->tkind;
  C->tkind = T_NONE;
  if (kind == T_HEADERS || kind == T_REQUEST)
    conn_fail(C, 408);
  else if (kind == T_IDLE)
    conn_end(C);
  else
    conn_close(C);
  hl__leave(L, id, prev);
}

/* ---- request context ------------------------------------------------------------ */

HL_INLINE hl__loop_t *req_enter(hl_http_req_t *r) {
  r->C->busy++;
  return hl__enter(r->C->S->L, &r->async);
}

/* Leave a request's context; a store entered inside is adopted by the
 * request. Output made inside is flushed once no callback of the connection
 * is running. */
HL_INLINE void req_leave(hl_http_req_t *r, hl_async_id_t id, hl__loop_t *prev) {
  hl__loop_t *L = r->C->S->L;
  hl_http_conn_t *C = r->C;
  if (L->cur.frame != r->async.frame && (r->async.flags & HL__A_LIVE) && L->cur.exec_id == id) {
    hl__frame_t *old = r->async.frame;
    r->async.frame = L->cur.frame;
    if (r->async.frame)
      r->async.frame->refs++;
    hl__frame_release(L, old);
  }
  hl__leave(L, id, prev);
  if (--C->busy == 0 && !C->in_read) {
    if (!C->flushing)
      conn_flush(C);
    else if (C->olen) /* a FINISH listener wrote: the flush in progress goes on */
      C->reflush = 1;
  }
}

/* ---- response events ---------------------------------------------------------------- */

/* The event's reason phrase: the one set, or the standard one for the
 * status, looked up once per status. */
static inline const char *res_reason(hl_http_res_t *res) {
  if (res->reason != HDR_DEAD)
    return res->hb + res->reason;
  if (HL_UNLIKELY(res->std_status != res->status)) {
    res->std_reason = status_text(res->status);
    res->std_status = res->status;
  }
  return res->std_reason;
}

static __attribute__((noinline)) void res_fire_all(hl_http_res_t *res, int kind, const void *chunk,
                                                   size_t len) {
  hl_http_res_event_t ev = {kind, res->status, res_reason(res), chunk, len};
  /* the listeners as the event began (as Node's emit): one added or removed
   * by a listener takes effect from the next event */
  lsn_t ls[MAX_LS];
  int n = res->nls;
  memcpy(ls, res->ls, (size_t)n * sizeof *ls);
  for (int i = 0; i < n; i++)
    if (ls[i].mask & kind)
      ls[i].cb(res, &ev, ls[i].arg);
}

/* A listener takes `kind` and res->one does not say it is the only one with
 * ev current: a single listener gets ev refreshed (and res->one set for the
 * events after), several res_fire_all's snapshot. 1: the single listener
 * takes the response's own ev (res_fire then calls it). */
static __attribute__((noinline)) int res_fire_slow(hl_http_res_t *res, int kind, const void *chunk,
                                                   size_t len) {
  if (res->nls != 1) {
    res_fire_all(res, kind, chunk, len);
    return 0;
  }
  res->ev.status = res->status;
  res->ev.reason = res_reason(res);
  res->one = (uint8_t)res->ls[0].mask;
  return 1;
}

/* FINISH: a single listener is called from the site, with the event built
 * in the caller's frame (FINISH may fire inside this response's post-end
 * listener, when it ends the next response outside a callback); several
 * listeners take res_fire_all's snapshot. */
static inline void res_fire_finish(hl_http_res_t *res) {
  if (HL_UNLIKELY(res->lsmask & HL_HTTP_RES_FINISH)) {
    if (HL_LIKELY(res->one & HL_HTTP_RES_FINISH) ||
        res_fire_slow(res, HL_HTTP_RES_FINISH, NULL, 0)) {
      hl_http_res_event_t ev = {HL_HTTP_RES_FINISH, res->ev.status, res->ev.reason, NULL, 0};
      res->ls[0].cb(res, &ev, res->ls[0].arg);
    }
  }
}

/* The head and end events: as res_fire_finish, but a single listener gets
 * the response's own event struct (no two of these events of one response
 * ever run at once: their listeners cannot write, write the head or end),
 * whose status and reason res->one says are current. */
static inline void res_fire(hl_http_res_t *res, int kind, const void *chunk, size_t len) {
  if (HL_UNLIKELY(res->lsmask & kind)) {
    if (HL_LIKELY(res->one & kind) || res_fire_slow(res, kind, chunk, len)) {
      hl_http_res_event_t *ev = &res->ev;
      ev->kind = kind;
      ev->chunk = chunk;
      ev->len = len;
      res->ls[0].cb(res, ev, res->ls[0].arg);
    }
  }
}

/* ---- output ---------------------------------------------------------------------------- */

/* Append response bytes in request order. */
static int res_emit(hl_http_req_t *r, const void *d, size_t n) {
  hl_http_conn_t *C = r->C;
  if (r == C->writer) {
    int e = buf_append(C->S, &C->out, &C->olen, &C->ocap, d, n);
    if (!e)
      C->out_seq += n;
    return e;
  }
  return buf_append(C->S, &r->res.pb, &r->res.plen, &r->res.pcap, d, n);
}

/* Room for n more bytes at the end of r's output (the connection's buffer
 * when r is the writer, else r's own); res_commit says how many were used.
 * The usual case (the writer, room in the buffer) inline. */
static __attribute__((noinline)) char *res_reserve_slow(hl_http_req_t *r, size_t n) {
  hl_http_conn_t *C = r->C;
  if (r == C->writer)
    return buf_room(C->S, &C->out, &C->olen, &C->ocap, n);
  return buf_room(C->S, &r->res.pb, &r->res.plen, &r->res.pcap, n);
}

static inline __attribute__((always_inline)) char *res_reserve(hl_http_req_t *r, size_t n) {
  hl_http_conn_t *C = r->C;
  if (HL_LIKELY(r == C->writer && C->olen + n <= C->ocap))
    return C->out + C->olen;
  return res_reserve_slow(r, n);
}

static inline void res_commit(hl_http_req_t *r, size_t n) {
  hl_http_conn_t *C = r->C;
  if (r == C->writer) {
    C->olen += n;
    C->out_seq += n;
  } else {
    r->res.plen += n;
  }
}

/* `w` becomes the request whose output goes straight to the connection. */
static inline void writer_take(hl_http_conn_t *C, hl_http_req_t *w) {
  C->writer = w;
  if (w && w->res.plen) {
    if (buf_append(C->S, &C->out, &C->olen, &C->ocap, w->res.pb, w->res.plen) == 0)
      C->out_seq += w->res.plen;
    buf_release(C->S, w->res.pb, w->res.pcap);
    w->res.pb = NULL;
    w->res.plen = w->res.pcap = 0;
  }
}

/* The writer ended: the following requests' output joins the stream. */
static inline void writer_advance(hl_http_conn_t *C) {
  hl_http_req_t *w;
  while ((w = C->writer) && w->res.ended) {
    w->appended = 1;
    w->end_seq = C->out_seq;
    writer_take(C, w->next);
  }
}

/* Whether r's last byte has been handed to the kernel. */
static inline int req_sent(const hl_http_conn_t *C, const hl_http_req_t *r) {
  return r->appended && r->end_seq <= C->sent_seq;
}

/* The end of a request's release: its destroy, its buffers (big ones freed),
 * the object back to the pool. */
static inline void req_free(hl__loop_t *L, srv_t *S, hl_http_req_t *r) {
  hl__async_end(L, &r->async, r, NULL);
  if (HL_UNLIKELY(r->res.pb != NULL)) {
    buf_release(S, r->res.pb, r->res.pcap);
    r->res.pb = NULL;
    r->res.plen = r->res.pcap = 0;
  }
  if (r->bcap > 8192) {
    hl__free(r->buf);
    r->buf = NULL;
    r->bcap = 0;
  }
  if (r->res.hcap > 8192) {
    hl__free(r->res.hb);
    r->res.hb = NULL;
    r->res.hcap = 0;
  }
  hl__pool_put(&S->req_pool, r);
}

/* r's release in a FINISH chain (req_finish_chains held, so r's release is
 * quiet): r is the queue's head (only conn_close releases it while its
 * listeners run, and the connection is open), not the writer (it was
 * appended), not being parsed (its message is done), and its successor stays
 * queued, so the connection is not idle: of req_release, the unlink and
 * req_free. */
static inline void req_release_chained(hl__loop_t *L, hl_http_conn_t *C, hl_http_req_t *r) {
  r->released = 1;
  C->q_head = r->next;
  C->nq--;
  req_free(L, C->S, r);
}

/* After r's FINISH listeners, may conn_finish release r in r's context and go
 * from there straight to the next request's (hl__swap: after(r), before(next),
 * what leaving and entering emit) instead of leaving to the connection's
 * context? Yes when the next request finished with r (one write) and has a
 * FINISH listener, and nothing that reads the context would run in between:
 * r's release is quiet (no close callback, no connection close, no parsing
 * resumed, a destroy hook's entry queued, not emitted), no error was raised
 * and no drain is due (the stack stays non-empty or nothing is pending).
 * (Finished requests were dispatched: on_close alone says a close callback
 * will run.) */
static inline int req_finish_chains(hl__loop_t *L, hl_http_conn_t *C, hl_http_req_t *r) {
  hl_http_req_t *n = r->next;
  /* (n is not finished: only the queue's head is ever finished. r's message
   * is done: n's began after r's completed, or r's was cut by the peer's EOF,
   * which marks it done.) */
  return n && req_sent(C, n) && (n->res.lsmask & HL_HTTP_RES_FINISH) && !r->on_close &&
         !r->res.close_conn && !C->pause_queue && !C->closed && !L->raised &&
         (L->depth > 1 || !L->npending) &&
         (!L->hook_fields[HL__F_DESTROY] || L->dq_len < L->dq_lim);
}

/* FINISH of r (the first request, just finished, with a FINISH listener) in
 * its context, then of the pipelined requests after it that finished with it
 * (req_finish_chains), each released before the next fires; the last one
 * fired is left as usual (a store entered inside is adopted), for conn_sent
 * to release. */
static __attribute__((noinline)) void conn_finish(hl_http_conn_t *C, hl_http_req_t *r,
                                                  uint64_t now) {
  hl__loop_t *L = C->S->L;
  hl_async_id_t id = r->async.id;
  hl__loop_t *prev = req_enter(r);
  res_fire_finish(&r->res);
  while (req_finish_chains(L, C, r)) {
    hl_http_req_t *n = r->next;
    req_release_chained(L, C, r);
    n->finished = 1;
    n->times.finish = now;
    hl__swap(L, id, &n->async);
    id = n->async.id;
    r = n;
    res_fire_finish(&r->res);
  }
  req_leave(r, id, prev);
}

/* req_release(r, 0) of a sent request whose message is done (the queue's
 * head, neither the writer nor being parsed, not aborted): without a close
 * callback, a connection to close or a paused queue, only the unlink, the
 * free and the idle check are left. */
static inline void req_release_sent(hl_http_conn_t *C, hl_http_req_t *r) {
  if (HL_UNLIKELY(r->on_close || r->res.close_conn || C->pause_queue || C->writer == r ||
                  C->cur == r)) {
    req_release(r, 0);
    return;
  }
  r->released = 1;
  C->q_head = r->next;
  if (C->q_tail == r)
    C->q_tail = NULL;
  C->nq--;
  req_free(C->S->L, C->S, r);
  conn_idle_check(C);
}

/* Requests whose last byte has been handed to the kernel: finish, release. */
static void conn_sent(hl_http_conn_t *C) {
  hl_http_req_t *r;
  uint64_t now = 0; /* one clock read for what one write handed over */
  while ((r = C->q_head) && req_sent(C, r) && !C->closed) {
    if (!r->finished) {
      r->finished = 1;
      r->times.finish = now ? now : (now = hl__clock_ns());
      if (r->res.lsmask & HL_HTTP_RES_FINISH) {
        conn_finish(C, r, now);
        continue; /* (r may have been released) */
      }
    }
    if (!r->msg_done)
      break;
    req_release_sent(C, r);
  }
  if (!C->closed && C->ending == 1 && C->olen == 0 && !C->writing)
    conn_end(C);
}

static void write_cb(uv_write_t *w, int status) {
  hl_http_conn_t *C = hl__container_of(w, hl_http_conn_t, u.w);
  buf_release(C->S, C->wbuf, C->wcap);
  C->wbuf = NULL;
  C->writing = 0;
  if (C->closed)
    return;
  hl__loop_t *L = C->S->L;
  hl_async_id_t id = C->async.id;
  hl__loop_t *prev = hl__enter(L, &C->async);
  if (status < 0) {
    conn_close(C);
  } else {
    C->sent_seq += C->wlen;
    conn_flush(C);
  }
  hl__leave(L, id, prev);
}

static void conn_flush(hl_http_conn_t *C) {
  if (C->closed)
    return;
  if (C->flushing) {
    C->reflush = 1;
    return;
  }
  C->flushing = 1;
  do {
    C->reflush = 0;
    if (C->olen && !C->writing) {
      uv_buf_t b = {.base = C->out, .len = C->olen};
      int n = uv_try_write(&C->io.s, &b, 1);
      if (n == UV_EAGAIN || n == UV_ENOSYS)
        n = 0;
      if (n < 0) {
        C->flushing = 0;
        conn_close(C);
        return;
      }
      C->sent_seq += (size_t)n;
      if ((size_t)n < C->olen) {
        if (n)
          memmove(C->out, C->out + n, C->olen - n);
        C->wbuf = C->out;
        C->wlen = C->olen - n;
        C->wcap = C->ocap;
        C->out = NULL;
        C->olen = C->ocap = 0;
        uv_buf_t wb = {.base = C->wbuf, .len = C->wlen};
        if (uv_write(&C->u.w, &C->io.s, &wb, 1, write_cb) < 0) {
          buf_release(C->S, C->wbuf, C->wcap);
          C->wbuf = NULL;
          C->flushing = 0;
          conn_close(C);
          return;
        }
        C->writing = 1;
      } else {
        C->olen = 0;
      }
    }
    conn_sent(C);
    /* idle (the requests conn_sent finished are released): the output
     * buffer goes back to the pool */
    if (C->olen == 0 && C->out && !C->writing && C->nq == 0 && !C->closed) {
      buf_release(C->S, C->out, C->ocap);
      C->out = NULL;
      C->ocap = 0;
    }
  } while (C->reflush && !C->closed);
  C->flushing = 0;
}

/* ---- connection end of life ------------------------------------------------------------ */

static void conn_closed_cb(uv_handle_t *h) {
  hl_http_conn_t *C = h->data;
  if (--C->nclosing)
    return;
  srv_t *S = C->S;
  hl__loop_t *L = S->L;
  buf_release(S, C->rbuf, BLK);
  buf_release(S, C->out, C->ocap);
  C->rbuf = C->out = NULL;
  if (C->next)
    C->next->prev = C->prev;
  if (C->prev)
    C->prev->next = C->next;
  else
    S->conns = C->next;
  S->nconns--;
  L->live--;
  hl__async_end(L, &C->async, C, NULL);
  hl__pool_put(&S->conn_pool, C);
  if (S->accept_pending && S->nconns < (int)S->lim.max_connections && S->lis_open)
    srv_accept(S);
  srv_maybe_done(S);
}

/* Close now: every request still open is aborted (close callbacks), then the
 * handles are closed. */
static void conn_close(hl_http_conn_t *C) {
  if (C->closed)
    return;
  C->closed = 1;
  C->dead = 1;
  while (C->q_head)
    req_release(C->q_head, 1);
  C->cur = C->writer = NULL;
  C->nclosing = 2;
  uv_close(&C->io.h, conn_closed_cb);
  uv_close((uv_handle_t *)&C->timer, conn_closed_cb);
}

static void linger_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);
static void linger_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);

static void shutdown_cb(uv_shutdown_t *sd, int status) {
  hl_http_conn_t *C = hl__container_of(sd, hl_http_conn_t, u.sd);
  if (C->closed)
    return;
  if (status < 0 || C->eof) {
    conn_close(C);
    return;
  }
  /* Lingering close: read and drop what the client still sends, so the kernel
   * does not answer unread data with a reset that would destroy the response. */
  conn_deadline(C, T_LINGER, LINGER_MS);
  uv_read_stop(&C->io.s);
  uv_read_start(&C->io.s, linger_alloc, linger_read);
}

/* Graceful: after everything queued is sent, shut the write side down. */
static void conn_end(hl_http_conn_t *C) {
  if (C->closed || C->ending == 2)
    return;
  C->dead = 1;
  if (C->olen || C->writing) {
    C->ending = 1;
    return;
  }
  C->ending = 2;
  while (C->q_head)
    req_release(C->q_head, 1);
  if (C->closed)
    return;
  if (C->reading) {
    uv_read_stop(&C->io.s);
    C->reading = 0;
  }
  if (uv_shutdown(&C->u.sd, &C->io.s, shutdown_cb) < 0)
    conn_close(C);
}

/* Nothing in flight: serve a pending error, close a dying connection, or wait
 * for the next request. */
static void conn_idle_check(hl_http_conn_t *C) {
  if (C->closed || C->nq)
    return;
  if (C->err_status) {
    char line[160];
    int n = snprintf(line, sizeof line,
                     "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                     C->err_status, status_text(C->err_status));
    C->err_status = 0;
    if (buf_append(C->S, &C->out, &C->olen, &C->ocap, line, (size_t)n) == 0)
      C->out_seq += (size_t)n;
    C->close_when_idle = 1;
  }
  if (C->close_when_idle || C->dead || C->S->closing) {
    conn_end(C);
    if (!C->in_read && !C->busy)
      conn_flush(C);
    return;
  }
  conn_deadline(C, T_IDLE, C->S->lim.keep_alive_timeout_ms);
}

/* A parse error, a limit or a timeout: drop the request being parsed, answer
 * `status` after the responses before it, then close. */
static void conn_fail(hl_http_conn_t *C, int status) {
  if (C->closed)
    return;
  C->dead = 1;
  C->close_when_idle = 1;
  if (C->reading) {
    uv_read_stop(&C->io.s);
    C->reading = 0;
  }
  hl_http_req_t *r = C->cur;
  C->cur = NULL;
  if (r && r->res.head_sent)
    status = 0; /* too late for an error response */
  C->err_status = (uint16_t)status;
  if (r)
    req_release(r, 1); /* checks for idle itself */
  else
    conn_idle_check(C);
}

/* ---- requests ---------------------------------------------------------------------------- */

static void req_release(hl_http_req_t *r, int aborted) {
  hl_http_conn_t *C = r->C;
  srv_t *S = C->S;
  hl__loop_t *L = S->L;
  if (r->released)
    return;
  r->released = 1;
  /* unlink (the usual: the queue's head) */
  if (HL_LIKELY(C->q_head == r)) {
    C->q_head = r->next;
    if (C->q_tail == r)
      C->q_tail = NULL;
    C->nq--;
  } else {
    hl_http_req_t **pp = &C->q_head, *prevr = NULL;
    while (*pp && *pp != r) {
      prevr = *pp;
      pp = &(*pp)->next;
    }
    if (*pp) {
      *pp = r->next;
      if (C->q_tail == r)
        C->q_tail = prevr;
      C->nq--;
    }
  }
  if (C->writer == r) {
    writer_take(C, r->next);
    writer_advance(C);
  }
  if (C->cur == r)
    C->cur = NULL;
  if (aborted)
    r->aborted = 1;
  if (r->on_close && r->dispatched) {
    hl_async_id_t id = r->async.id;
    hl__loop_t *prev = req_enter(r);
    r->on_close(r, aborted, r->close_arg);
    C->busy--;
    hl__leave(L, id, prev);
  }
  int close_conn = r->res.close_conn && !aborted;
  req_free(L, S, r);
  if (C->closed)
    return;
  if (close_conn) {
    C->close_when_idle = 1;
    C->dead = 1;
    while (C->q_head)
      req_release(C->q_head, 1);
  }
  if (C->pause_queue && C->nq < S->lim.max_pipelined) {
    C->pause_queue = 0;
    if (!C->in_read) { /* parse on, in the connection's context */
      hl_async_id_t cid = C->async.id;
      hl__loop_t *prev = hl__enter(L, &C->async);
      conn_process(C);
      hl__leave(L, cid, prev);
    }
  }
  conn_idle_check(C);
}

/* The part of a request cleared for each use: from times.pre_write_head to
 * res.one (the fields kept in the pool, or always set before they are read,
 * lie outside it). */
#define REQ_CLEAR_FROM offsetof(hl_http_req_t, times.pre_write_head)
#define REQ_CLEAR_TO   (offsetof(hl_http_req_t, res) + offsetof(struct hl_http_res_s, status))

static hl_http_req_t *req_new(hl_http_conn_t *C) {
  srv_t *S = C->S;
  hl_http_req_t *r = hl__pool_get(&S->req_pool);
  if (!r)
    return NULL;
  /* a handful of 16-byte stores (memset would take a `rep stos`: one
   * instruction per 8 bytes) */
  typedef uint64_t z16 __attribute__((vector_size(16), aligned(8), may_alias));
  char *z = (char *)r + REQ_CLEAR_FROM;
  size_t i = 0;
#pragma GCC unroll 16
  for (; i + 16 <= REQ_CLEAR_TO - REQ_CLEAR_FROM; i += 16)
    *(z16 *)(z + i) = (z16){0, 0};
  if (i < REQ_CLEAR_TO - REQ_CLEAR_FROM)
    memset(z + i, 0, REQ_CLEAR_TO - REQ_CLEAR_FROM - i);
  r->res.status = 200;
  r->res.std_status = 200; /* res_reason()'s cache */
  r->res.std_reason = "OK";
  r->res.reason = HDR_DEAD;
  r->C = C;
  return r;
}

/* Pool teardown: free what pooled requests keep. */
static void req_free_each(void *obj, void *arg) {
  (void)arg;
  hl_http_req_t *r = obj;
  hl__free(r->buf);
  hl__free(r->hdr);
  hl__free(r->res.hb);
  hl__free(r->res.h);
}

/* ---- llhttp callbacks ------------------------------------------------------------------------ */

#define CONN(p) ((hl_http_conn_t *)(p)->data)

static int on_message_begin(llhttp_t *p) {
  hl_http_conn_t *C = CONN(p);
  srv_t *S = C->S;
  if (C->dead)
    return HPE_PAUSED;
  hl_http_req_t *r = req_new(C);
  if (!r)
    return -1;
  hl__async_init(S->L, &r->async, "HTTPINCOMINGMESSAGE", C->async.id, r);
  r->times.start = C->read_ns; /* when the read holding its first byte returned */
  if (C->q_tail)
    C->q_tail->next = r;
  else
    C->q_head = r;
  C->q_tail = r;
  C->nq++;
  if (!C->writer)
    C->writer = r;
  C->cur = r;
  C->hdr_bytes = 0;
  uint64_t now = uv_now(S->L->uv);
  C->req_start_ms = now;
  conn_deadline_at(C, T_HEADERS, now, S->lim.headers_timeout_ms);
  return 0;
}

static int count_hdr(hl_http_conn_t *C, size_t n) {
  C->hdr_bytes += (uint32_t)n;
  if (C->hdr_bytes > C->S->lim.max_header_bytes) {
    C->err_status = 431;
    return -1;
  }
  return 0;
}

/* What the parser is collecting into req->buf; a string's NUL is written
 * when the next one begins (no *_complete callbacks: each llhttp callback is
 * a call per request). */
enum { HS_URL, HS_VALUE, HS_FIELD, HS_DONE };

static int on_url(llhttp_t *p, const char *at, size_t n) {
  hl_http_conn_t *C = CONN(p);
  if (count_hdr(C, n) || rb_append(C->cur, at, n))
    return -1;
  return 0;
}

/* End what is being collected: the url, a header's value, or a header's
 * name whose value never came (an empty value). */
static inline int hs_end(hl_http_req_t *r) {
  if (HL_LIKELY(r->hs == HS_VALUE))
    return rb_nul(r);
  if (r->hs == HS_URL) {
    if (r->blen == 0 && rb_append(r, "/", 1))
      return -1;
    r->query = r->blen; /* the url's NUL: its length, for on_headers_complete */
    return rb_nul(r);
  }
  if (r->hs == HS_FIELD) {
    if (rb_nul(r))
      return -1;
    r->hdr[r->nhdr - 1].value = r->blen;
    r->name6 |= r->blen - r->hdr[r->nhdr - 1].name == 7;
    return rb_nul(r);
  }
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  hl_http_conn_t *C = CONN(p);
  hl_http_req_t *r = C->cur;
  if (count_hdr(C, n))
    return -1;
  if (HL_UNLIKELY(r->hs >= HS_FIELD)) {
    if (r->hs == HS_DONE) /* a trailer: counted, not kept */
      return 0;
    return rb_append(r, at, n); /* the name goes on (split across reads) */
  }
  if (hs_end(r))
    return -1;
  if (r->nhdr >= C->S->lim.max_headers) {
    C->err_status = 431;
    return -1;
  }
  if (r->nhdr == r->hdrcap) {
    uint32_t nc = r->hdrcap ? r->hdrcap * 2 : 16;
    hent_t *nh = hl__realloc(r->hdr, nc * sizeof *nh);
    if (!nh)
      return -1;
    r->hdr = nh;
    r->hdrcap = nc;
  }
  r->hdr[r->nhdr].name = r->blen;
  r->hdr[r->nhdr].value = HDR_DEAD;
  r->nhdr++;
  r->hs = HS_FIELD;
  count_hdr(C, 4);
  return rb_append(r, at, n);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  hl_http_conn_t *C = CONN(p);
  hl_http_req_t *r = C->cur;
  if (count_hdr(C, n))
    return -1;
  if (HL_UNLIKELY(r->hs != HS_VALUE)) {
    if (r->hs == HS_DONE)
      return 0;
    /* the name is complete: its NUL, then the value */
    if (rb_nul(r))
      return -1;
    r->hs = HS_VALUE;
    r->hdr[r->nhdr - 1].value = r->blen;
    r->name6 |= r->blen - r->hdr[r->nhdr - 1].name == 7;
  }
  return rb_append(r, at, n);
}

/* llhttp_method_name's answers, without its call (the names from the same
 * table llhttp's comes from). */
#define METHOD_NAME(num, name, string) [num] = #string,
static const char *const method_names[] = {HTTP_ALL_METHOD_MAP(METHOD_NAME)};
#undef METHOD_NAME
#define NMETHODS (sizeof method_names / sizeof *method_names)

/* The url's '?' (ul bytes at u; room for 8 more after them in the buffer
 * when `room`): 8 bytes at a time by the "has a zero byte" test. */
static inline const char *url_qmark(const char *u, size_t ul, int room) {
  if (!room || ul > 32)
    return memchr(u, '?', ul);
  const uint64_t ones = 0x0101010101010101u, qm = ones * '?';
  for (size_t i = 0; i < ul; i += 8) {
    uint64_t x;
    memcpy(&x, u + i, 8);
    x ^= qm;
    uint64_t z = (x - ones) & ~x & (ones << 7);
    if (z) {
      size_t k = i + (size_t)(__builtin_ctzll(z) >> 3);
      return k < ul ? u + k : NULL;
    }
  }
  return NULL;
}

static const char *req_hdr(const hl_http_req_t *r, const char *name) {
  for (uint32_t i = 0; i < r->nhdr; i++)
    if (!strcasecmp(r->buf + r->hdr[i].name, name))
      return r->buf + r->hdr[i].value;
  return NULL;
}

static int on_headers_complete(llhttp_t *p) {
  hl_http_conn_t *C = CONN(p);
  srv_t *S = C->S;
  hl__loop_t *L = S->L;
  hl_http_req_t *r = C->cur;
  if (hs_end(r))
    return -1;
  r->hs = HS_DONE; /* trailers, if any, are not kept: pointers handed out stay valid */
  /* path and query: without a '?' the path is the url itself and the query
   * its NUL (an empty string); with one, the query is the url's tail and the
   * path a copy after the headers (room made first: the copy comes from the
   * same buffer) */
  size_t ul = r->query - r->url;
  const char *q = url_qmark(r->buf + r->url, ul, r->url + ul + 8 <= r->bcap);
  if (HL_LIKELY(!q)) {
    r->path = r->url;
  } else {
    size_t pl = (size_t)(q - (r->buf + r->url));
    r->query = r->url + (uint32_t)pl + 1;
    if (rb_reserve(r, pl + 1))
      return -1;
    r->path = r->blen;
    if (rb_append(r, r->buf + r->url, pl) || rb_nul(r))
      return -1;
  }
  r->method = HL_LIKELY(p->method < NMETHODS && method_names[p->method])
                  ? method_names[p->method]
                  : llhttp_method_name(p->method);
  r->major = p->http_major;
  r->minor = p->http_minor;
  r->keep_alive = (uint8_t)llhttp_should_keep_alive(p);
  r->is_head = p->method == HTTP_HEAD;
  r->has_body = (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) ||
                ((p->flags & F_CONTENT_LENGTH) && p->content_length); /* RFC 9112 6.3 */
  r->times.headers = hl__clock_ns();
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > S->lim.max_body_bytes) {
    C->err_status = 413;
    return -1;
  }
  if (HL_UNLIKELY(r->name6) && r->major == 1 && r->minor >= 1) {
    for (uint32_t i = 0; i < r->nhdr; i++) /* "expect": a 6-letter name */
      if (r->hdr[i].value - r->hdr[i].name == 7 && !strcasecmp(r->buf + r->hdr[i].name, "expect") &&
          !strcasecmp(r->buf + r->hdr[i].value, "100-continue")) {
        r->expect_continue = 1;
        break;
      }
  }
  if (S->lim.request_timeout_ms) {
    uint64_t now = uv_now(L->uv), due = C->req_start_ms + S->lim.request_timeout_ms;
    conn_deadline_at(C, T_REQUEST, now, due > now ? due - now : 1);
  } else {
    C->tkind = T_NONE;
  }
  r->dispatched = 1;
  hl_async_id_t id = r->async.id;
  hl__loop_t *prev = req_enter(r);
  if (HL_UNLIKELY(hl__http_hooks_any())) {
    hl_http_hook_event_t ev = {HL_HTTP_HOOK_REQUEST, S->pub, C, r, &r->res};
    hl__http_hooks_fire(L, &ev);
  }
  S->on_request(S->pub, r, &r->res);
  if (r->expect_continue && !r->res.head_sent && !r->res.continue_sent && !r->aborted)
    hl_http_res_write_continue(&r->res);
  req_leave(r, id, prev);
  if (C->closed || C->cur != r)
    return HPE_PAUSED;
  return r->paused ? HPE_PAUSED : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  hl_http_conn_t *C = CONN(p);
  hl_http_req_t *r = C->cur;
  r->body_bytes += n;
  if (r->body_bytes > C->S->lim.max_body_bytes) {
    C->err_status = 413;
    return -1;
  }
  if (r->on_data && !r->aborted) {
    hl_async_id_t id = r->async.id;
    hl__loop_t *prev = req_enter(r);
    r->on_data(r, at, n, r->body_arg);
    req_leave(r, id, prev);
    if (C->closed || C->cur != r)
      return HPE_PAUSED;
    if (r->paused)
      return HPE_PAUSED;
  }
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  hl_http_conn_t *C = CONN(p);
  srv_t *S = C->S;
  hl_http_req_t *r = C->cur;
  C->cur = NULL;
  r->msg_done = 1;
  C->tkind = T_NONE;
  int keep = r->keep_alive;
  if (r->on_end && !r->aborted) {
    hl_async_id_t id = r->async.id;
    hl__loop_t *prev = req_enter(r);
    r->on_end(r, r->body_arg);
    req_leave(r, id, prev);
  }
  if (C->closed)
    return HPE_PAUSED;
  if (!keep || S->closing) {
    C->dead = 1;
    C->close_when_idle = 1;
    return HPE_PAUSED;
  }
  if (r->finished && !r->released)
    req_release(r, 0);
  if (C->nq >= S->lim.max_pipelined) {
    C->pause_queue = 1;
    return HPE_PAUSED;
  }
  return 0;
}

/* ---- reading ------------------------------------------------------------------------------ */

static int conn_paused(hl_http_conn_t *C) {
  /* dead: no new request is parsed, the current one is read to its end */
  return C->closed || (C->dead && !C->cur) || C->pause_queue || (C->cur && C->cur->paused);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void conn_read_start(hl_http_conn_t *C);

static int llhttp_status(llhttp_t *p) {
  llhttp_errno_t e = llhttp_get_errno(p);
  if (e == HPE_INVALID_VERSION)
    return 505;
  return 400;
}

/* Parse what is buffered until it is used up or parsing pauses. */
static void conn_process(hl_http_conn_t *C) {
  C->in_read = 1;
  while (C->rpos < C->rlen) {
    if (conn_paused(C))
      break;
    const char *d = C->rbuf + C->rpos;
    llhttp_errno_t e = llhttp_execute(&C->parser, d, C->rlen - C->rpos);
    if (e == HPE_OK) {
      C->rpos = C->rlen;
      break;
    }
    if (e == HPE_PAUSED_UPGRADE) { /* no upgrades: answer, then close */
      C->dead = 1;
      C->close_when_idle = 1;
      C->rpos = C->rlen;
      break;
    }
    if (e == HPE_PAUSED) {
      const char *ep = llhttp_get_error_pos(&C->parser);
      C->rpos = ep ? (size_t)(ep - C->rbuf) : C->rlen;
      llhttp_resume(&C->parser);
      continue;
    }
    /* a parse error or a limit */
    int st = C->err_status ? C->err_status : llhttp_status(&C->parser);
    C->err_status = 0;
    conn_fail(C, st);
    C->rpos = C->rlen;
    break;
  }
  C->in_read = 0;
  if (C->rpos >= C->rlen || (C->dead && !C->cur)) {
    buf_release(C->S, C->rbuf, BLK);
    C->rbuf = NULL;
    C->rpos = C->rlen = 0;
  }
  if (C->closed)
    return;
  if (conn_paused(C)) {
    if (C->reading) {
      uv_read_stop(&C->io.s);
      C->reading = 0;
    }
  } else if (!C->reading && !C->ending) {
    conn_read_start(C);
  }
  if (!C->busy)
    conn_flush(C);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)hint;
  hl_http_conn_t *C = h->data;
  if (!C->rbuf)
    C->rbuf = blk_get(C->S);
  b->base = C->rbuf;
  b->len = C->rbuf ? BLK : 0;
}

static void conn_read_start(hl_http_conn_t *C) {
  if (uv_read_start(&C->io.s, alloc_cb, read_cb) == 0)
    C->reading = 1;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  hl_http_conn_t *C = s->data;
  hl__loop_t *L = C->S->L;
  hl_async_id_t id = C->async.id;
  hl__loop_t *prev = hl__enter(L, &C->async);
  if (n > 0) {
    C->rpos = 0;
    C->rlen = (size_t)n;
    C->read_ns = hl__clock_ns();
    conn_process(C);
  } else if (n < 0) {
    buf_release(C->S, C->rbuf, BLK);
    C->rbuf = NULL;
    C->rpos = C->rlen = 0;
    if (n == UV_EOF) {
      C->eof = 1;
      uv_read_stop(s);
      C->reading = 0;
      C->dead = 1;
      /* As Node (allowHalfOpen off): the client is gone, requests not yet
       * answered are aborted; answers already made are still sent. */
      C->close_when_idle = 1;
      if (C->cur) /* its body will not come: over, answered or not */
        C->cur->msg_done = 1;
      C->cur = NULL;
      for (hl_http_req_t *r = C->q_head, *nx; r && !C->closed; r = nx) {
        nx = r->next;
        if (!r->res.ended)
          req_release(r, 1);
      }
      if (!C->closed && C->nq == 0)
        conn_end(C);
      else if (!C->closed)
        conn_flush(C); /* answered requests: release once sent */
    } else {
      conn_close(C);
    }
  } else if (C->rpos >= C->rlen) {
    buf_release(C->S, C->rbuf, BLK);
    C->rbuf = NULL;
  }
  hl__leave(L, id, prev);
}

static void linger_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)hint;
  hl_http_conn_t *C = h->data;
  if (!C->rbuf)
    C->rbuf = blk_get(C->S);
  *b = uv_buf_init(C->rbuf, C->rbuf ? BLK : 0);
}

static void linger_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  hl_http_conn_t *C = s->data;
  if (n < 0)
    conn_close(C);
}

/* ---- server ---------------------------------------------------------------------------------- */

static void srv_accept(srv_t *S) {
  hl__loop_t *L = S->L;
  S->accept_pending = 0;
  hl_http_conn_t *C = hl__pool_get(&S->conn_pool);
  if (!C)
    return;
  memset(C, 0, sizeof *C);
  C->S = S;
  int e = S->is_pipe ? uv_pipe_init(L->uv, &C->io.pipe, 0) : uv_tcp_init(L->uv, &C->io.tcp);
  if (e) {
    hl__pool_put(&S->conn_pool, C);
    return;
  }
  C->io.h.data = C;
  uv_timer_init(L->uv, &C->timer);
  C->timer.data = C;
  S->nconns++;
  L->live++;
  C->next = S->conns;
  if (S->conns)
    S->conns->prev = C;
  S->conns = C;
  hl_async_id_t sid = S->async.id;
  hl__loop_t *prev = hl__enter(L, &S->async);
  hl__async_init(L, &C->async, S->is_pipe ? "PIPEWRAP" : "TCPWRAP", sid, C);
  if (uv_accept(&S->lis.s, &C->io.s) != 0) {
    conn_close(C);
    hl__leave(L, sid, prev);
    return;
  }
  if (!S->is_pipe)
    uv_tcp_nodelay(&C->io.tcp, 1);
  llhttp_init(&C->parser, HTTP_REQUEST, &settings);
  C->parser.data = C;
  if (HL_UNLIKELY(hl__http_hooks_any())) {
    hl_http_hook_event_t ev = {HL_HTTP_HOOK_CONNECTION, S->pub, C, NULL, NULL};
    hl__http_hooks_fire(L, &ev);
  }
  if (!C->closed) {
    conn_read_start(C);
    conn_deadline(C, T_HEADERS, S->lim.headers_timeout_ms);
  }
  hl__leave(L, sid, prev);
}

static void on_connection(uv_stream_t *lis, int status) {
  srv_t *S = lis->data;
  if (status < 0 || S->closing)
    return;
  if (S->nconns >= (int)S->lim.max_connections) {
    /* Not accepting makes libuv stop watching the socket until we do:
     * the kernel's backlog holds the rest. */
    S->accept_pending = 1;
    return;
  }
  srv_accept(S);
}

static void srv_maybe_done(srv_t *S) {
  if (!S->closing || S->lis_open || S->nconns)
    return;
  hl__loop_t *L = S->L;
  hl_http_server_t *pub = S->pub;
  hl_http_server_close_cb cb = S->on_close;
  if (S->listening) {
    hl__async_end(L, &S->async, S, NULL);
    L->live--;
  }
  hl__pool_each(&S->req_pool, req_free_each, NULL);
  hl__pool_destroy(&S->req_pool);
  hl__pool_destroy(&S->conn_pool);
  while (S->free_blocks) {
    blk_t *b = S->free_blocks;
    S->free_blocks = b->next;
    hl__free(b);
  }
  hl__free(S);
  pub->impl = NULL;
  if (cb)
    cb(pub);
}

static void lis_closed_cb(uv_handle_t *h) {
  srv_t *S = h->data;
  S->lis_open = 0;
  srv_maybe_done(S);
}

static void settings_init(void) {
  if (settings.on_message_begin)
    return;
  llhttp_settings_init(&settings);
  settings.on_message_begin = on_message_begin;
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
}

HL_EXPORT int hl_http_limits_default(hl_http_limits_t *lim) {
  if (!lim)
    return HL_EINVAL;
  lim->max_header_bytes = 16384;
  lim->max_headers = 100;
  lim->max_body_bytes = 8u << 20;
  lim->headers_timeout_ms = 60000;
  lim->request_timeout_ms = 300000;
  lim->keep_alive_timeout_ms = 5000;
  lim->max_connections = 10000;
  lim->max_pipelined = 64;
  return 0;
}

HL_EXPORT int hl_http_server_init(hl_loop_t *loop, hl_http_server_t *server,
                                  hl_http_request_cb on_request, const hl_http_limits_t *limits) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !server || !on_request)
    return HL_EINVAL;
  srv_t *S = hl__calloc(1, sizeof *S);
  if (!S)
    return HL_ENOMEM;
  settings_init();
  /* A write to a socket the client has closed must be an EPIPE, not the end
   * of the process: as Node does at startup, ignore SIGPIPE unless the
   * application installed its own handler. */
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGPIPE, &sa, NULL);
  }
  S->L = L;
  S->pub = server;
  S->on_request = on_request;
  hl_http_limits_default(&S->lim);
  if (limits) {
    hl_http_limits_t d = S->lim;
    S->lim = *limits;
    if (!S->lim.max_header_bytes)
      S->lim.max_header_bytes = d.max_header_bytes;
    if (!S->lim.max_headers)
      S->lim.max_headers = d.max_headers;
    if (!S->lim.max_body_bytes)
      S->lim.max_body_bytes = d.max_body_bytes;
    if (!S->lim.max_connections)
      S->lim.max_connections = d.max_connections;
    if (!S->lim.max_pipelined)
      S->lim.max_pipelined = d.max_pipelined;
  }
  hl__pool_init(&S->conn_pool, sizeof(hl_http_conn_t), 32);
  hl__pool_init(&S->req_pool, sizeof(hl_http_req_t), 32);
  server->impl = S;
  if (HL_UNLIKELY(hl__http_hooks_any())) {
    hl_http_hook_event_t ev = {HL_HTTP_HOOK_SERVER, server, NULL, NULL, NULL};
    hl__http_hooks_fire(L, &ev);
  }
  return 0;
}

static int srv_listen_begin(srv_t *S, int pipe) {
  hl__loop_t *L = S->L;
  int e = pipe ? uv_pipe_init(L->uv, &S->lis.pipe, 0) : uv_tcp_init(L->uv, &S->lis.tcp);
  if (e)
    return e;
  S->is_pipe = (uint8_t)pipe;
  S->lis.h.data = S;
  S->lis_open = 1;
  return 0;
}

static int srv_listen_end(srv_t *S, int e, int backlog) {
  hl__loop_t *L = S->L;
  if (!e)
    e = uv_listen(&S->lis.s, backlog > 0 ? backlog : 511, on_connection);
  if (e) {
    S->failed = 1;
    uv_close(&S->lis.h, lis_closed_cb);
    return e;
  }
  S->listening = 1;
  L->live++;
  hl__async_init(L, &S->async, S->is_pipe ? "PIPESERVERWRAP" : "TCPSERVERWRAP", -1, S->pub);
  return 0;
}

HL_EXPORT int hl_http_server_listen(hl_http_server_t *server, const char *host, int port,
                                    int backlog) {
  if (!server || !server->impl || !host || port < 0 || port > 65535)
    return HL_EINVAL;
  srv_t *S = server->impl;
  if (S->listening || S->closing || S->failed || S->lis_open)
    return HL_ESTATE;
  struct sockaddr_storage ss;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss))
    return HL_EINVAL;
  int e = srv_listen_begin(S, 0);
  if (e)
    return e;
  e = uv_tcp_bind(&S->lis.tcp, (struct sockaddr *)&ss, 0);
  return srv_listen_end(S, e, backlog);
}

HL_EXPORT int hl_http_server_listen_unix(hl_http_server_t *server, const char *path, int backlog) {
  if (!server || !server->impl || !path || !*path)
    return HL_EINVAL;
  srv_t *S = server->impl;
  if (S->listening || S->closing || S->failed || S->lis_open)
    return HL_ESTATE;
  int e = srv_listen_begin(S, 1);
  if (e)
    return e;
  e = uv_pipe_bind(&S->lis.pipe, path);
  return srv_listen_end(S, e, backlog);
}

HL_EXPORT int hl_http_server_port(const hl_http_server_t *server) {
  if (!server || !server->impl)
    return HL_EINVAL;
  srv_t *S = server->impl;
  if (!S->listening || S->is_pipe || !S->lis_open)
    return HL_ESTATE;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int e = uv_tcp_getsockname(&S->lis.tcp, (struct sockaddr *)&ss, &len);
  if (e)
    return e;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

HL_EXPORT int hl_http_server_connections(const hl_http_server_t *server) {
  if (!server || !server->impl)
    return HL_EINVAL;
  return server->impl->nconns;
}

HL_EXPORT int hl_http_server_close(hl_http_server_t *server, hl_http_server_close_cb on_close) {
  if (!server || !server->impl)
    return HL_EINVAL;
  srv_t *S = server->impl;
  if (S->closing)
    return HL_ESTATE;
  S->closing = 1;
  S->on_close = on_close;
  if (S->lis_open && !uv_is_closing(&S->lis.h))
    uv_close(&S->lis.h, lis_closed_cb);
  hl_http_conn_t *C = S->conns, *next;
  for (; C; C = next) {
    next = C->next;
    if (C->closed)
      continue;
    C->close_when_idle = 1;
    if (C->nq == 0) {
      hl_async_id_t id = C->async.id;
      hl__loop_t *prev = hl__enter(S->L, &C->async);
      conn_end(C);
      hl__leave(S->L, id, prev);
    }
  }
  srv_maybe_done(S);
  return 0;
}

/* ---- connection accessors ------------------------------------------------------------------ */

HL_EXPORT hl_async_id_t hl_http_conn_async_id(const hl_http_conn_t *conn) {
  return conn ? conn->async.id : HL_EINVAL;
}

HL_EXPORT int hl_http_conn_remote(const hl_http_conn_t *conn, struct sockaddr_storage *addr) {
  if (!conn || !addr)
    return HL_EINVAL;
  if (conn->S->is_pipe)
    return HL_ENOTSUP;
  int len = sizeof *addr;
  return uv_tcp_getpeername(&conn->io.tcp, (struct sockaddr *)addr, &len);
}

HL_EXPORT hl_http_server_t *hl_http_conn_server(const hl_http_conn_t *conn) {
  return conn ? conn->S->pub : NULL;
}

/* ---- request accessors ------------------------------------------------------------------- */

HL_EXPORT const char *hl_http_req_method(const hl_http_req_t *r) {
  return r ? r->method : NULL;
}
HL_EXPORT const char *hl_http_req_url(const hl_http_req_t *r) {
  return r ? r->buf + r->url : NULL;
}
HL_EXPORT const char *hl_http_req_path(const hl_http_req_t *r) {
  return r ? r->buf + r->path : NULL;
}
HL_EXPORT const char *hl_http_req_query(const hl_http_req_t *r) {
  return r ? r->buf + r->query : NULL;
}
HL_EXPORT int hl_http_req_version(const hl_http_req_t *r, int *major, int *minor) {
  if (!r || !major || !minor)
    return HL_EINVAL;
  *major = r->major;
  *minor = r->minor;
  return 0;
}
HL_EXPORT size_t hl_http_req_header_count(const hl_http_req_t *r) {
  return r ? r->nhdr : 0;
}
HL_EXPORT int hl_http_req_header_at(const hl_http_req_t *r, size_t i, const char **name,
                                    const char **value) {
  if (!r || i >= r->nhdr)
    return HL_EINVAL;
  if (name)
    *name = r->buf + r->hdr[i].name;
  if (value)
    *value = r->buf + r->hdr[i].value;
  return 0;
}
HL_EXPORT const char *hl_http_req_header(const hl_http_req_t *r, const char *name) {
  return r && name ? req_hdr(r, name) : NULL;
}
HL_EXPORT const char *hl_http_req_header_next(const hl_http_req_t *r, const char *name,
                                              size_t *pos) {
  if (!r || !name || !pos)
    return NULL;
  for (size_t i = *pos; i < r->nhdr; i++)
    if (!strcasecmp(r->buf + r->hdr[i].name, name)) {
      *pos = i + 1;
      return r->buf + r->hdr[i].value;
    }
  *pos = r->nhdr;
  return NULL;
}
HL_EXPORT hl_http_conn_t *hl_http_req_conn(const hl_http_req_t *r) {
  return r ? r->C : NULL;
}
HL_EXPORT hl_async_id_t hl_http_req_async_id(const hl_http_req_t *r) {
  return r ? r->async.id : HL_EINVAL;
}
HL_EXPORT int hl_http_req_expects_continue(const hl_http_req_t *r) {
  return r ? r->expect_continue : 0;
}
HL_EXPORT void hl_http_req_set_data(hl_http_req_t *r, void *data) {
  if (r)
    r->data = data;
}
HL_EXPORT void *hl_http_req_get_data(const hl_http_req_t *r) {
  return r ? r->data : NULL;
}
HL_EXPORT int hl_http_req_on_body(hl_http_req_t *r, hl_http_data_cb on_data, hl_http_end_cb on_end,
                                  void *arg) {
  if (!r || r->released)
    return HL_EINVAL;
  r->on_data = on_data;
  r->on_end = on_end;
  r->body_arg = arg;
  return 0;
}
HL_EXPORT int hl_http_req_on_close(hl_http_req_t *r, hl_http_close_cb cb, void *arg) {
  if (!r || r->released)
    return HL_EINVAL;
  r->on_close = cb;
  r->close_arg = arg;
  return 0;
}
HL_EXPORT int hl_http_req_pause(hl_http_req_t *r) {
  if (!r || r->released)
    return HL_EINVAL;
  r->paused = 1;
  hl_http_conn_t *C = r->C;
  if (!C->in_read && C->reading && C->cur == r) {
    uv_read_stop(&C->io.s);
    C->reading = 0;
  }
  return 0;
}
HL_EXPORT int hl_http_req_resume(hl_http_req_t *r) {
  if (!r || r->released)
    return HL_EINVAL;
  r->paused = 0;
  hl_http_conn_t *C = r->C;
  if (C->in_read || C->closed)
    return 0;
  hl__loop_t *L = C->S->L;
  hl_async_id_t id = C->async.id;
  hl__loop_t *prev = hl__enter(L, &C->async);
  conn_process(C);
  hl__leave(L, id, prev);
  return 0;
}
HL_EXPORT const hl_http_times_t *hl_http_req_times(const hl_http_req_t *r) {
  return r ? &r->times : NULL;
}
HL_EXPORT const hl_http_times_t *hl_http_res_times(const hl_http_res_t *res) {
  return res ? &RES_REQ(res)->times : NULL;
}

/* ---- response ------------------------------------------------------------------------------- */

static const char *status_text(int st) {
  switch (st) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 206:
    return "Partial Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 303:
    return "See Other";
  case 304:
    return "Not Modified";
  case 307:
    return "Temporary Redirect";
  case 308:
    return "Permanent Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Payload Too Large";
  case 414:
    return "URI Too Long";
  case 417:
    return "Expectation Failed";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

/* RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~" (ASCII, whatever the locale) */
const unsigned char hl__http_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1};

static int valid_name(const char *n, size_t len) {
  if (!n || !len)
    return 0;
  unsigned ok = 1;
  for (size_t i = 0; i < len; i++) /* no early exit: names are short */
    ok &= hl__http_tchar[(unsigned char)n[i]];
  return (int)ok;
}

/* No CR, LF or NUL in the value. Eight bytes a step (a zero byte in x, in
 * x ^ CRs or in x ^ LFs, by the exact "has a zero byte" test); a long value
 * (a Server-Timing list, a cookie) with memchr, which takes many more. */
static int valid_value(const char *v, size_t len) {
  if (!v)
    return 0;
  if (len >= 128)
    return !memchr(v, '\r', len) && !memchr(v, '\n', len) && !memchr(v, '\0', len);
  const uint64_t ones = 0x0101010101010101u, cr = ones * '\r', lf = ones * '\n';
  uint64_t bad = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t x, a, b;
    memcpy(&x, v + i, 8);
    a = x ^ cr;
    b = x ^ lf;
    bad |= ((x - ones) & ~x) | ((a - ones) & ~a) | ((b - ones) & ~b);
  }
  for (; i < len; i++)
    bad |= v[i] == '\r' || v[i] == '\n' || v[i] == '\0' ? 0x80u : 0;
  return (bad & (ones << 7)) == 0;
}

/* n bytes, up to 64 of them (the usual) in two overlapping fixed-size moves
 * each, without a call: header strings, a small response's body,
 * hl__http_res_end_lines' pieces. */
static inline __attribute__((always_inline)) char *put_small(char *d, const void *src, size_t n) {
  const char *s = src;
  if (n >= 16 && n <= 64) {
    if (n > 32) {
      memcpy(d, s, 32);
      memcpy(d + n - 32, s + n - 32, 32);
    } else {
      memcpy(d, s, 16);
      memcpy(d + n - 16, s + n - 16, 16);
    }
  } else if (n >= 8 && n < 16) {
    memcpy(d, s, 8);
    memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    memcpy(d, s, 4);
    memcpy(d + n - 4, s + n - 4, 4);
  } else {
    memcpy(d, s, n);
  }
  return d + n;
}

static int res_usable(const hl_http_res_t *res) {
  return res && !RES_REQ(res)->released;
}

/* Room for n more bytes in hb (the header strings). */
static int hb_reserve(hl_http_res_t *res, size_t n) {
  if (res->hlen + n > res->hcap) {
    uint32_t nc = res->hcap ? res->hcap : 256;
    while (nc < res->hlen + n)
      nc *= 2;
    char *nb = hl__realloc(res->hb, nc);
    if (!nb)
      return HL_ENOMEM;
    res->hb = nb;
    res->hcap = nc;
    res->one = 0; /* a custom reason moved */
  }
  return 0;
}

static int hb_add(hl_http_res_t *res, const char *s, size_t n, uint32_t *off) {
  if (n > UINT32_MAX / 4 || res->hlen + n + 1 > UINT32_MAX / 2)
    return HL_ENOMEM;
  int e = hb_reserve(res, n + 1);
  if (e)
    return e;
  *off = res->hlen;
  memcpy(res->hb + res->hlen, s, n);
  res->hb[res->hlen + n] = 0;
  res->hlen += (uint32_t)n + 1;
  return 0;
}

/* The response headers the head writer acts on, told apart once when a
 * header is added (by length, then one compare), so writing the head costs
 * no string compare for the others (Content-Type, Server-Timing ...). */
enum { HK_OTHER = 0, HK_DATE, HK_CL, HK_TE, HK_CONN };
static uint8_t hdr_kind(const char *n, size_t nl) {
  switch (nl) {
  case 4:
    return !strncasecmp(n, "date", 4) ? HK_DATE : HK_OTHER;
  case 10:
    return !strncasecmp(n, "connection", 10) ? HK_CONN : HK_OTHER;
  case 14:
    return !strncasecmp(n, "content-length", 14) ? HK_CL : HK_OTHER;
  case 17:
    return !strncasecmp(n, "transfer-encoding", 17) ? HK_TE : HK_OTHER;
  default:
    return HK_OTHER;
  }
}

/* Name and value (each NUL-terminated) in one growth step of hb. */
static int hdr_push(hl_http_res_t *res, const char *name, size_t nl, const char *value, size_t vl,
                    int trailer) {
  if (res->nh == res->nhcap) {
    uint32_t nc = res->nhcap ? res->nhcap * 2 : 8;
    hent_t *nh = hl__realloc(res->h, nc * sizeof *nh);
    if (!nh)
      return HL_ENOMEM;
    res->h = nh;
    res->nhcap = nc;
  }
  size_t n = nl + 1 + vl + 1;
  if (nl > UINT32_MAX / 4 || vl > UINT32_MAX / 4 || res->hlen + n > UINT32_MAX / 2)
    return HL_ENOMEM;
  int err = hb_reserve(res, n);
  if (err)
    return err;
  hent_t *e = &res->h[res->nh++];
  char *w = res->hb + res->hlen;
  e->name = res->hlen;
  e->value = res->hlen + (uint32_t)nl + 1;
  e->trailer = (uint8_t)trailer;
  e->kind = hdr_kind(name, nl);
  res->hslow |= (uint8_t)(e->kind != HK_OTHER || trailer);
  e->nl = (uint32_t)nl;
  e->vl = (uint32_t)vl;
  w = put_small(w, name, nl); /* (short strings: fixed-size moves, no call) */
  *w++ = 0;
  w = put_small(w, value, vl);
  *w = 0;
  res->hlen += (uint32_t)n;
  return 0;
}

static int hdr_remove(hl_http_res_t *res, const char *name, size_t nl, int trailer) {
  int found = 0;
  for (uint32_t i = 0; i < res->nh; i++) {
    hent_t *e = &res->h[i];
    if (e->name != HDR_DEAD && e->trailer == trailer && e->nl == nl &&
        !strncasecmp(res->hb + e->name, name, nl)) {
      e->name = HDR_DEAD;
      res->hslow = 1;
      found = 1;
    }
  }
  return found;
}

HL_EXPORT hl_http_req_t *hl_http_res_req(const hl_http_res_t *res) {
  return res ? RES_REQ(res) : NULL;
}

HL_EXPORT int hl_http_res_status(hl_http_res_t *res, int status, const char *reason) {
  if (!res_usable(res) || status < 100 || status > 999 ||
      (reason && !valid_value(reason, strlen(reason))))
    return HL_EINVAL;
  if (res->head_sent)
    return HL_ESTATE;
  res->status = status;
  res->reason = HDR_DEAD;
  res->one = 0;
  if (reason) {
    uint32_t off;
    int r = hb_add(res, reason, strlen(reason), &off);
    if (r)
      return r;
    res->reason = off;
  }
  return 0;
}

HL_EXPORT int hl_http_res_get_status(const hl_http_res_t *res) {
  return res ? res->status : HL_EINVAL;
}

HL_EXPORT int hl_http_res_set_header_n(hl_http_res_t *res, const char *name, size_t nl,
                                       const char *value, size_t vl) {
  if (!res_usable(res) || !valid_name(name, nl) || !valid_value(value, vl))
    return HL_EINVAL;
  if (res->head_sent)
    return HL_ESTATE;
  hdr_remove(res, name, nl, 0);
  return hdr_push(res, name, nl, value, vl, 0);
}

HL_EXPORT int hl_http_res_set_header(hl_http_res_t *res, const char *name, const char *value) {
  if (!name || !value)
    return HL_EINVAL;
  return hl_http_res_set_header_n(res, name, strlen(name), value, strlen(value));
}

HL_EXPORT int hl_http_res_add_header(hl_http_res_t *res, const char *name, const char *value) {
  if (!res_usable(res) || !name || !value)
    return HL_EINVAL;
  size_t nl = strlen(name), vl = strlen(value);
  if (!valid_name(name, nl) || !valid_value(value, vl))
    return HL_EINVAL;
  if (res->head_sent)
    return HL_ESTATE;
  return hdr_push(res, name, nl, value, vl, 0);
}

int hl__http_res_add_header_trusted(hl_http_res_t *res, const char *name, size_t nl,
                                    const char *value, size_t vl) {
  if (!res_usable(res))
    return HL_EINVAL;
  if (res->head_sent)
    return HL_ESTATE;
  return hdr_push(res, name, nl, value, vl, 0);
}

HL_EXPORT int hl_http_res_add_trailer(hl_http_res_t *res, const char *name, const char *value) {
  if (!res_usable(res) || !name || !value || !valid_name(name, strlen(name)) ||
      !valid_value(value, strlen(value)))
    return HL_EINVAL;
  if (res->ended)
    return HL_ESTATE;
  return hdr_push(res, name, strlen(name), value, strlen(value), 1);
}

HL_EXPORT const char *hl_http_res_get_header(const hl_http_res_t *res, const char *name) {
  if (!res || !name)
    return NULL;
  size_t nl = strlen(name);
  for (uint32_t i = 0; i < res->nh; i++) {
    const hent_t *e = &res->h[i];
    if (e->name != HDR_DEAD && !e->trailer && e->nl == nl &&
        !strncasecmp(res->hb + e->name, name, nl))
      return res->hb + e->value;
  }
  return NULL;
}

HL_EXPORT int hl_http_res_remove_header(hl_http_res_t *res, const char *name) {
  if (!res_usable(res) || !name)
    return HL_EINVAL;
  if (res->head_sent)
    return HL_ESTATE;
  return hdr_remove(res, name, strlen(name), 0) ? 0 : HL_ENOENT;
}

HL_EXPORT size_t hl_http_res_header_count(const hl_http_res_t *res) {
  size_t n = 0;
  if (res)
    for (uint32_t i = 0; i < res->nh; i++)
      n += res->h[i].name != HDR_DEAD && !res->h[i].trailer;
  return n;
}

HL_EXPORT int hl_http_res_header_at(const hl_http_res_t *res, size_t idx, const char **name,
                                    const char **value) {
  if (!res)
    return HL_EINVAL;
  size_t n = 0;
  for (uint32_t i = 0; i < res->nh; i++) {
    const hent_t *e = &res->h[i];
    if (e->name == HDR_DEAD || e->trailer)
      continue;
    if (n++ == idx) {
      if (name)
        *name = res->hb + e->name;
      if (value)
        *value = res->hb + e->value;
      return 0;
    }
  }
  return HL_EINVAL;
}

HL_EXPORT int hl_http_res_headers_sent(const hl_http_res_t *res) {
  return res ? res->head_sent : 0;
}

HL_EXPORT int hl_http_res_on(hl_http_res_t *res, int mask, hl_http_res_event_cb cb, void *arg) {
  if (!res_usable(res) || !cb || mask <= 0 || (mask & ~31))
    return HL_EINVAL;
  if (res->nls == MAX_LS)
    return HL_EHTTPLISTENERS;
  if (res->nls == 0) { /* the commonest: the only listener, with ev made current now */
    res->ls[0] = (lsn_t){mask, cb, arg};
    res->nls = 1;
    res->lsmask = (uint8_t)mask;
    res->ev.status = res->status;
    res->ev.reason = res_reason(res);
    res->one = (uint8_t)mask;
    return 0;
  }
  res->ls[res->nls++] = (lsn_t){mask, cb, arg};
  res->lsmask |= (uint8_t)mask;
  res->one = 0;
  return 0;
}

int hl__http_res_off(hl_http_res_t *res, hl_http_res_event_cb cb, void *arg) {
  for (int i = 0; res && i < res->nls; i++)
    if (res->ls[i].cb == cb && res->ls[i].arg == arg) {
      for (int j = i + 1; j < res->nls; j++)
        res->ls[j - 1] = res->ls[j];
      res->nls--;
      res->one = 0;
      res->lsmask = 0;
      for (int j = 0; j < res->nls; j++)
        res->lsmask |= (uint8_t)res->ls[j].mask;
      return 0;
    }
  return HL_ENOENT;
}

/* The Date header's value, formatted once per second; the clock is read
 * once per loop iteration (uv_now changes only between iterations). */
typedef struct {
  char date[40];     /* the Date value */
  char head200[112]; /* "HTTP/1.1 200 OK\r\nDate: ...\r\nContent-Length: " */
  size_t head200_len;
  time_t last;
  uint64_t last_iter;
  uv_loop_t *last_loop;
} date_cache_t;

#define HEAD200_LINE 17 /* "HTTP/1.1 200 OK\r\n", head200's first line */

static _Thread_local date_cache_t date_dc HL__TLS_HOT = {.last_iter = UINT64_MAX};

static __attribute__((noinline)) const date_cache_t *http_date_refresh(uv_loop_t *uv,
                                                                       uint64_t iter) {
  date_cache_t *dc = &date_dc;
  dc->last_iter = iter;
  dc->last_loop = uv;
  time_t now = time(NULL);
  if (now != dc->last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(dc->date, sizeof dc->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    dc->head200_len = (size_t)snprintf(dc->head200, sizeof dc->head200,
                                       "HTTP/1.1 200 OK\r\nDate: %s\r\nContent-Length: ", dc->date);
    dc->last = now;
  }
  return dc;
}

static inline __attribute__((always_inline)) const date_cache_t *http_date(uv_loop_t *uv) {
  uint64_t iter = uv_now(uv);
  if (HL_LIKELY(iter == date_dc.last_iter && uv == date_dc.last_loop))
    return &date_dc;
  return http_date_refresh(uv, iter);
}

static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                              "343536373839404142434445464748495051525354555657585960616263646566"
                              "6768697071727374757677787980818283848586878889909192939495969798"
                              "99";

static char *put(char *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}
#define PUTS(p, lit) put(p, lit, sizeof lit - 1)

static char *put_u64(char *p, uint64_t v) {
  char t[24];
  int n = 0;
  do {
    t[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    *p++ = t[--n];
  return p;
}

static int res_check(hl_http_res_t *res) {
  if (!res_usable(res))
    return HL_EINVAL;
  hl_http_req_t *r = RES_REQ(res);
  if (r->aborted || r->C->closed)
    return HL_EHTTPCLOSED;
  if (res->ended || res->in_head)
    return HL_ESTATE;
  return 0;
}

/* Room head200 needs beyond the header lines and the body: the cached part
 * (copied as a fixed 80 bytes when it is no longer), the length, CRLFCRLF. */
#define HEAD200_ROOM(dc) ((dc)->head200_len + 40)

/* The cached 200 head (res_write_head's fast path, hl_http_res_end's):
 * the status line, `lines` (llen bytes of ready "Name: value\r\n" lines) and
 * the headers set, the cached Date and Content-Length name, the length `cl`,
 * the blank line, then the body when there is one. Room: HEAD200_ROOM(dc),
 * the header lines and the body. */
static inline __attribute__((always_inline)) char *
head200(hl_http_res_t *res, char *p, const date_cache_t *dc, const char *lines, size_t llen,
        uint64_t cl, const void *body, size_t blen) {
  if (!llen && !res->nh) {
    if (HL_LIKELY(dc->head200_len <= 80)) { /* one fixed-size move (the room is there) */
      memcpy(p, dc->head200, 80);
      p += dc->head200_len;
    } else {
      p = put(p, dc->head200, dc->head200_len);
    }
  } else {
    p = put(p, dc->head200, HEAD200_LINE);
    if (llen)
      p = put(p, lines, llen);
    for (uint32_t i = 0; i < res->nh; i++) {
      const hent_t *e = &res->h[i];
      p = put(p, res->hb + e->name, e->nl);
      p = PUTS(p, ": ");
      p = put(p, res->hb + e->value, e->vl);
      p = PUTS(p, "\r\n");
    }
    p = put(p, dc->head200 + HEAD200_LINE, dc->head200_len - HEAD200_LINE);
  }
  if (cl < 100) { /* a small body's length: its digits from a table */
    if (cl < 10) {
      *p++ = (char)('0' + cl);
    } else {
      memcpy(p, digits2 + 2 * cl, 2);
      p += 2;
    }
  } else if (cl < 10000) {
    unsigned v = (unsigned)cl, nd = v >= 1000 ? 4 : 3;
    for (unsigned i = nd; i-- > 0; v /= 10)
      p[i] = (char)('0' + v % 10);
    p += nd;
  } else {
    p = put_u64(p, cl);
  }
  p = PUTS(p, "\r\n\r\n");
  if (blen) {
    p = put_small(p, body, blen);
    res->body_in_head = 1;
  }
  return p;
}

/* Serialize the head, straight into the output. implicit >= 0: end()
 * without writes, Content-Length becomes `implicit` unless the application
 * set one. body: end()'s data, appended in the same step when the head frames
 * it as plain bytes (res->body_in_head says it was). */
static int res_write_head(hl_http_res_t *res, int status, const char *reason, int64_t implicit,
                          uint64_t now, const void *body, size_t blen) {
  hl_http_req_t *r = RES_REQ(res);
  hl_http_conn_t *C = r->C;
  if (status) {
    int e = hl_http_res_status(res, status, reason);
    if (e)
      return e;
  }
  res->in_head = 1;
  r->times.pre_write_head = now ? now : hl__clock_ns();
  res_fire(res, HL_HTTP_RES_PRE_WRITE_HEAD, NULL, 0);
  int st = res->status;
  /* The commonest head, from end(): 200 with its standard reason, HTTP/1.1
   * keep-alive, a small body, no header the writer must look at (hslow): the
   * status line, the headers as set, then a cached Date and the length. What
   * the general path below would write. */
  if (st == 200 && !res->hslow && res->reason == HDR_DEAD && implicit >= 0 && blen < 4096 &&
      !r->is_head && r->keep_alive && r->major == 1 && r->minor >= 1 && !C->S->closing) {
    const date_cache_t *dc = http_date(C->S->L->uv);
    size_t hn = 0;
    for (uint32_t i = 0; i < res->nh; i++)
      hn += (size_t)res->h[i].nl + res->h[i].vl + 4;
    char *h = res_reserve(r, HEAD200_ROOM(dc) + hn + blen);
    if (!h) {
      res->in_head = 0;
      return HL_ENOMEM;
    }
    char *p = head200(res, h, dc, NULL, 0, (uint64_t)implicit, body, blen);
    res_commit(r, (size_t)(p - h));
    goto sent;
  }
  int has_date = 0, has_cl = 0, has_te = 0, has_conn = 0, conn_close = 0;
  size_t need =
      160; /* status line, Date, Content-Length, Transfer-Encoding, Connection, CRLF: at most 144 */
  for (uint32_t i = 0; i < res->nh; i++) {
    hent_t *e = &res->h[i];
    if (e->name == HDR_DEAD || e->trailer)
      continue;
    const char *v = res->hb + e->value;
    need += (size_t)e->nl + e->vl + 4;
    switch (e->kind) {
    case HK_DATE:
      has_date = 1;
      break;
    case HK_CL:
      has_cl = 1;
      res->cl = strtoull(v, NULL, 10);
      break;
    case HK_TE:
      has_te = 1;
      if (strcasestr(v, "chunked"))
        res->chunked = 1;
      break;
    case HK_CONN:
      has_conn = 1;
      if (strcasestr(v, "close"))
        conn_close = 1;
      break;
    default:
      break;
    }
  }
  const char *reason_s = res->reason == HDR_DEAD ? status_text(st) : res->hb + res->reason;
  need += strlen(reason_s);
  int no_body = r->is_head || st < 200 || st == 204 || st == 304;
  int keep = r->keep_alive && !conn_close && !C->S->closing;
  int add_cl = 0, add_te = 0;
  uint64_t cl = 0;
  if (has_cl) {
    res->chunked = 0;
  } else if (has_te) {
    /* the application frames the body itself */
  } else if (implicit >= 0) {
    if (!(st < 200 || st == 204 || st == 304)) {
      add_cl = 1;
      cl = (uint64_t)implicit;
    }
  } else if (!no_body) {
    if (r->major == 1 && r->minor >= 1) {
      add_te = 1;
      res->chunked = 1;
    } else {
      keep = 0; /* HTTP/1.0: the end of the body is the end of the connection */
    }
  }
  if (no_body)
    res->chunked = 0;
  res->no_body = (uint8_t)no_body;
  int with_body = body && blen && !no_body && !res->chunked;
  char *h = res_reserve(r, need + (with_body ? blen : 0));
  if (!h) {
    res->in_head = 0;
    return HL_ENOMEM;
  }
  char *p = h;
  if (st == 200 && res->reason == HDR_DEAD) {
    p = PUTS(p, "HTTP/1.1 200 OK\r\n");
  } else {
    p = PUTS(p, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t)st);
    *p++ = ' ';
    p = put(p, reason_s, strlen(reason_s));
    p = PUTS(p, "\r\n");
  }
  for (uint32_t i = 0; i < res->nh; i++) {
    hent_t *e = &res->h[i];
    if (e->name == HDR_DEAD || e->trailer)
      continue;
    p = put(p, res->hb + e->name, e->nl);
    p = PUTS(p, ": ");
    p = put(p, res->hb + e->value, e->vl);
    p = PUTS(p, "\r\n");
  }
  if (!has_date) {
    p = PUTS(p, "Date: ");
    p = put(p, http_date(C->S->L->uv)->date, 29);
    p = PUTS(p, "\r\n");
  }
  if (add_cl) {
    p = PUTS(p, "Content-Length: ");
    p = put_u64(p, cl);
    p = PUTS(p, "\r\n");
  }
  if (add_te)
    p = PUTS(p, "Transfer-Encoding: chunked\r\n");
  if (!has_conn) {
    if (!keep)
      p = PUTS(p, "Connection: close\r\n");
    else if (r->minor == 0)
      p = PUTS(p, "Connection: keep-alive\r\n");
  }
  p = PUTS(p, "\r\n");
  if (with_body) {
    p = put(p, body, blen);
    res->body_in_head = 1;
  }
  res_commit(r, (size_t)(p - h));
  if (!keep)
    res->close_conn = 1;
sent:
  res->head_sent = 1;
  /* quiet end(): nothing but this formatting ran since `now` was read */
  r->times.post_write_head = now && RES_QUIET(res) && blen < 4096 ? now : hl__clock_ns();
  res_fire(res, HL_HTTP_RES_POST_WRITE_HEAD, NULL, 0);
  res->in_head = 0;
  return 0;
}

HL_EXPORT int hl_http_res_write_head(hl_http_res_t *res, int status, const char *reason) {
  int e = res_check(res);
  if (e)
    return e;
  if (res->head_sent)
    return HL_ESTATE;
  if (status && (status < 100 || status > 999))
    return HL_EINVAL;
  return res_write_head(res, status, reason, -1, 0, NULL, 0);
}

HL_EXPORT int hl_http_res_write_continue(hl_http_res_t *res) {
  int e = res_check(res);
  if (e)
    return e;
  if (res->head_sent || res->continue_sent)
    return HL_ESTATE;
  res->continue_sent = 1;
  static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
  e = res_emit(RES_REQ(res), line, sizeof line - 1);
  hl_http_conn_t *C = RES_REQ(res)->C;
  if (!e && !C->busy && !C->in_read)
    conn_flush(C);
  return e;
}

static int body_emit(hl_http_res_t *res, const void *data, size_t len) {
  hl_http_req_t *r = RES_REQ(res);
  if (res->no_body || len == 0)
    return 0;
  if (res->chunked) {
    char hx[24];
    int n = snprintf(hx, sizeof hx, "%zx\r\n", len);
    int e = res_emit(r, hx, (size_t)n);
    if (!e)
      e = res_emit(r, data, len);
    if (!e)
      e = res_emit(r, "\r\n", 2);
    return e;
  }
  return res_emit(r, data, len);
}

HL_EXPORT int hl_http_res_write(hl_http_res_t *res, const void *data, size_t len) {
  int e = res_check(res);
  if (e)
    return e;
  if (!data && len)
    return HL_EINVAL;
  if (!res->head_sent && (e = res_write_head(res, 0, NULL, -1, 0, NULL, 0)))
    return e;
  res->wrote = 1;
  e = body_emit(res, data, len);
  hl_http_conn_t *C = RES_REQ(res)->C;
  if (!e && !C->busy && !C->in_read)
    conn_flush(C);
  return e;
}

HL_EXPORT int hl_http_res_end(hl_http_res_t *res, const void *data, size_t len) {
  int e = res_check(res);
  if (e)
    return e;
  if (!data && len)
    return HL_EINVAL;
  hl_http_req_t *r = RES_REQ(res);
  hl_http_conn_t *C = r->C;
  uint64_t t0 = hl__clock_ns();
  r->times.pre_end = t0;
  int quiet = RES_QUIET(res); /* no listener runs between our timestamps */
  /* The commonest end(): quiet, nothing written yet, 200 with its standard
   * reason and no header the head writer must look at, a small body,
   * HTTP/1.1 keep-alive: what the steps below do for it (res_write_head's
   * cached 200 head with the body, the end), without their detours. */
  if (HL_LIKELY(quiet && !res->head_sent && !res->wrote && res->status == 200 && !res->hslow &&
                res->reason == HDR_DEAD && len < 4096 && !r->is_head && r->keep_alive &&
                r->major == 1 && r->minor >= 1 && !C->S->closing)) {
    const date_cache_t *dc = http_date(C->S->L->uv);
    size_t hn = 0;
    for (uint32_t i = 0; i < res->nh; i++)
      hn += (size_t)res->h[i].nl + res->h[i].vl + 4;
    char *h = res_reserve(r, HEAD200_ROOM(dc) + hn + len);
    if (!h)
      return HL_ENOMEM;
    char *p = head200(res, h, dc, NULL, 0, len, data, len);
    res_commit(r, (size_t)(p - h));
    r->times.pre_write_head = r->times.post_write_head = r->times.post_end = t0;
    res->head_sent = 1;
    res->ended = 1;
    if (r == C->writer)
      writer_advance(C);
    if (!C->busy && !C->in_read)
      conn_flush(C);
    return 0;
  }
  res->in_head = 1; /* no write/end from the listeners */
  res_fire(res, HL_HTTP_RES_PRE_END, data, len);
  res->in_head = 0;
  if (r->aborted || C->closed)
    return HL_EHTTPCLOSED;
  int implicit_head = !res->head_sent;
  if (implicit_head &&
      (e = res_write_head(res, 0, NULL, res->wrote ? -1 : (int64_t)len, quiet ? t0 : 0, data, len)))
    return e;
  if (!res->body_in_head && (e = body_emit(res, data, len)))
    return e;
  if (res->chunked) {
    int e2 = res_emit(r, "0\r\n", 3);
    for (uint32_t i = 0; !e2 && i < res->nh; i++) {
      hent_t *t = &res->h[i];
      if (t->name == HDR_DEAD || !t->trailer)
        continue;
      const char *n = res->hb + t->name, *v = res->hb + t->value;
      e2 = res_emit(r, n, strlen(n));
      if (!e2)
        e2 = res_emit(r, ": ", 2);
      if (!e2)
        e2 = res_emit(r, v, strlen(v));
      if (!e2)
        e2 = res_emit(r, "\r\n", 2);
    }
    if (!e2)
      e2 = res_emit(r, "\r\n", 2);
    if (e2)
      return e2;
  }
  res->ended = 1;
  if (res->close_conn) {
    C->dead = 1;
    C->close_when_idle = 1;
  }
  if (r == C->writer)
    writer_advance(C);
  r->times.post_end =
      quiet && implicit_head && len < 4096 ? r->times.post_write_head : hl__clock_ns();
  res_fire(res, HL_HTTP_RES_POST_END, data, len);
  if (!C->busy && !C->in_read)
    conn_flush(C);
  return 0;
}

size_t hl__http_conn_buffered(const hl_http_conn_t *C) {
  return (C->rbuf ? BLK : 0) + C->ocap + (C->wbuf ? C->wcap : 0);
}

/* For bench/http's memory report. */
void hl__http_struct_sizes(size_t *conn, size_t *req) {
  *conn = sizeof(hl_http_conn_t);
  *req = sizeof(hl_http_req_t);
}

int hl__http_req_has_body(const hl_http_req_t *req) {
  return req->has_body;
}

int hl__http_res_status_std(hl_http_res_t *res, int status) {
  if (res_usable(res) && !res->head_sent && res->status == status && res->reason == HDR_DEAD)
    return 0; /* already so (a response starts as 200 with its standard reason) */
  return hl_http_res_status(res, status, NULL);
}

/* ---- the app's fast answer (src/app/http.c) ----------------------------------------
 * hl_http_res_end(res, body, len) with `lines` added as headers, for the
 * commonest response of the app layer: nothing set on the response yet, status
 * 200, a small complete body, no head or end listener, HTTP/1.1 keep-alive.
 * The head is written straight into the output (what res_write_head's quiet
 * 200 path writes for the same headers), with no header entries made. 1 when
 * the response is not such a one (or the output has no room): nothing done. */
/* The head up to the length's digits ("HTTP/1.1 200 OK\r\n", the lines, the
 * Date and Content-Length name) for the last constant `lines`
 * (HL__ENDL_LINES_CONST) and Date second this thread wrote: one fixed-size
 * copy instead of three pieces. Keyed by the lines' address and length
 * (the caller promises their bytes never change) and the Date cache's
 * second (its head200 changes only with it). */
#define ENDL_PRE_CAP 128
typedef struct {
  const char *lines; /* NULL: empty */
  size_t llen, n;
  time_t last;
  char buf[ENDL_PRE_CAP];
} endl_pre_t;

/* hl__http_res_end_lines but the flush: the connection whose output may need
 * one, or NULL when the response is not such a one (nothing done). Inline in
 * the two entry points below, which are flattened: the small server steps it
 * takes (the Date cache, the output's room and commit, the writer's advance)
 * inline too, without a call each; the flush, whose tree is large, stays a
 * call (endl_flush). */
static inline __attribute__((always_inline)) hl_http_conn_t *
endl_write(hl_http_res_t *res, const char *lines, size_t llen, const void *body, size_t len,
           unsigned flags) {
  if (res_check(res) != 0)
    return NULL;
  hl_http_req_t *r = RES_REQ(res);
  hl_http_conn_t *C = r->C;
  if (res->head_sent || res->wrote || res->nh || res->hslow || res->status != 200 ||
      res->reason != HDR_DEAD || !RES_QUIET(res) || len >= 4096 || (!body && len) || r->is_head ||
      !r->keep_alive || r->major != 1 || r->minor < 1 || C->S->closing)
    return NULL;
  static _Thread_local endl_pre_t pre HL__TLS_HOT;
  const date_cache_t *dc = http_date(C->S->L->uv);
  /* the head's start kept: pre.n (head200_len + llen) bytes, copied as
   * ENDL_PRE_CAP (the room it needs) */
  int hit = (flags & HL__ENDL_LINES_CONST) && lines == pre.lines && llen == pre.llen &&
            dc->last == pre.last;
  char *h = res_reserve(r, (hit ? ENDL_PRE_CAP : dc->head200_len + llen) + 24 + len);
  if (!h)
    return NULL;
  /* what head200(res, h, dc, lines, llen, len, body, len) writes (no header
   * entries), its pieces short: copied with a few fixed-size moves, the
   * length's digits from a table */
  char *p = h;
  if (hit) {
    /* ENDL_PRE_CAP bytes in straight 16-byte moves (a constant-size memcpy
     * this long becomes a `rep movs`); those past pre.n: overwritten or not
     * committed */
    typedef char v16 __attribute__((vector_size(16), aligned(1), may_alias));
#pragma GCC unroll 8
    for (size_t i = 0; i < ENDL_PRE_CAP / 16; i++)
      ((v16 *)p)[i] = ((const v16 *)pre.buf)[i];
    p += pre.n;
  } else {
    memcpy(p, dc->head200, HEAD200_LINE);
    p += HEAD200_LINE;
    p = put_small(p, lines, llen);
    p = put_small(p, dc->head200 + HEAD200_LINE, dc->head200_len - HEAD200_LINE);
    if ((flags & HL__ENDL_LINES_CONST) && lines && (size_t)(p - h) <= ENDL_PRE_CAP) {
      pre.n = (size_t)(p - h);
      memcpy(pre.buf, h, pre.n);
      pre.lines = lines;
      pre.llen = llen;
      pre.last = dc->last;
    }
  }
  if (len < 100) {
    static const char d2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
                             "343536373839404142434445464748495051525354555657585960616263646566"
                             "6768697071727374757677787980818283848586878889909192939495969798"
                             "99";
    if (len < 10) {
      *p++ = (char)('0' + len);
    } else {
      memcpy(p, d2 + 2 * len, 2);
      p += 2;
    }
  } else {
    unsigned v = (unsigned)len, nd = v >= 1000 ? 4 : 3;
    for (unsigned i = nd; i-- > 0; v /= 10)
      p[i] = (char)('0' + v % 10);
    p += nd;
  }
  memcpy(p, "\r\n\r\n", 4);
  p += 4;
  if (len) {
    p = put_small(p, body, len);
    res->body_in_head = 1;
  }
  res_commit(r, (size_t)(p - h));
  /* the one reading for the four times, taken once the bytes are written
   * (fewer values kept over the call) */
  uint64_t t0 = hl__clock_ns();
  r->times.pre_end = r->times.pre_write_head = r->times.post_write_head = r->times.post_end = t0;
  res->head_sent = 1;
  res->ended = 1;
  if (flags & HL__ENDL_DROP_CLOSE) { /* hl_http_req_on_close(r, NULL, NULL), before r may
                                      * be released */
    r->on_close = NULL;
    r->close_arg = NULL;
  }
  if (r == C->writer)
    writer_advance(C);
  return C;
}

/* conn_flush() out of line for the flattened entry points below */
static __attribute__((noinline)) void endl_flush(hl_http_conn_t *C) {
  conn_flush(C);
}

__attribute__((flatten)) int hl__http_res_end_lines(hl_http_res_t *res, const char *lines,
                                                    size_t llen, const void *body, size_t len,
                                                    unsigned flags) {
  hl_http_conn_t *C = endl_write(res, lines, llen, body, len, flags);
  if (!C)
    return 1;
  if (!C->busy && !C->in_read)
    endl_flush(C);
  return 0;
}

__attribute__((flatten)) int hl__http_res_end_lines_const(hl_http_res_t *res, const char *lines,
                                                          size_t llen, const void *body,
                                                          size_t len) {
  hl_http_conn_t *C =
      endl_write(res, lines, llen, body, len, HL__ENDL_DROP_CLOSE | HL__ENDL_LINES_CONST);
  if (!C)
    return 1;
  if (!C->busy && !C->in_read)
    endl_flush(C);
  return 0;
}

int hl__http_req_app_begin(hl_http_req_t *req, const hl_http_res_t *res, hl_http_close_cb on_close,
                           void *close_arg, hl__http_app_begin_t *b) {
  if (!res || RES_REQ(res) != req || res->head_sent || req->released) /* (req: not NULL then) */
    return HL_EINVAL;
  req->on_close = on_close;
  req->close_arg = close_arg;
  b->t0 = req->times.headers;
  b->method = req->method;
  b->path = req->buf + req->path;
  return req->has_body;
}
