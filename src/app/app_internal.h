/* src/app/app_internal.h - what the app layer's files share: the app, routes,
 * the radix tree, the request (which is the context) and its arena.
 *
 * router.c builds and searches the tree; lifecycle.c runs the stages and
 * trace; ctx.c is the context API and the arena; body.c the built-in body
 * parsers and the default response mapping.
 */
#ifndef HL_APP_INTERNAL_H
#define HL_APP_INTERNAL_H

#include <string.h>
#include <strings.h>
#include "core/internal.h"
#include "hookloop/app.h"
#include "io.h"

#define HL__MAX_PARAMS 16
#define HL__NMETHODS   8
/* the response header array's first capacity (set_header grows it by doubling;
 * st_write makes one of this size directly) */
#define HL__HDR_CAP0 8

typedef struct hl__fn_s {
  hl_app_fn fn;
  void *arg;
  const char *name; /* owned copy */
  /* its Server-Timing metric up to the number with the separator before it,
   * ", <stage>.<name>;dur=" (the name's non-token characters as '_'), made
   * once at registration so a traced request only copies it (the header's
   * value starts after the first metric's ", "); readable to HL__ST_PRE_PAD
   * bytes at least (a short one is copied with one fixed-size move) */
  const char *st_pre;
  size_t st_pre_len;
} hl__fn_t;
#define HL__ST_PRE_PAD 32

/* Make f->st_pre (owned) for f->name in `stage`. 0 or HL_ENOMEM.
 * hl__fn_free_names() frees the name and it. */
int hl__fn_names(hl__fn_t *f, hl_stage_t stage);
void hl__fn_free_names(hl__fn_t *f);

typedef struct hl__fnlist_s {
  hl__fn_t *v;
  unsigned n, cap;
} hl__fnlist_t;

struct hl_route_s {
  hl_app_t *app;
  struct hl_route_s *next; /* all routes of the app */
  unsigned methods;
  char *path;
  hl__fn_t handler;
  hl__fnlist_t stages[HL_STAGE_COUNT];
  unsigned stage_mask; /* bit s: stages[s] holds a function (lists only grow) */
  /* the parameter-name arrays of each expanded path (optional segments) */
  const char **names_mem[16];
  unsigned n_names_mem;
};

typedef struct hl__slot_s {
  hl_route_t *route;
  const char **names; /* names of the parameters on this path, in order */
} hl__slot_t;

typedef struct hl__rnode_s {
  char *prefix;
  size_t plen;
  struct hl__rnode_s **kids;
  char *kidc; /* first byte of each static child */
  unsigned nkids;
  struct hl__rnode_s *param; /* a `:name` segment */
  struct hl__rnode_s *wild;  /* `*` (a leaf) */
  unsigned methods;          /* methods with a slot here */
  hl__slot_t slot[HL__NMETHODS];
} hl__rnode_t;

/* The routes' fully static paths (no parameter, no wildcard), for a lookup by
 * hash before the tree walk (what the walk would find first: at each node it
 * tries the static children before a parameter). Open addressing, a power of
 * two entries, at most half full. */
typedef struct hl__static_s {
  uint64_t hash;
  char *path; /* owned copy */
  size_t len;
  const hl__rnode_t *node; /* where the tree ends this path (nodes never move) */
} hl__static_t;

typedef struct hl__statics_s {
  hl__static_t *v;
  size_t n, cap;
  /* the entry hl__router_match_str() last answered from (NULL when the
   * table changed since): a request for the same path skips the hash */
  const hl__static_t *last;
} hl__statics_t;

typedef struct hl__trace_reg_s {
  hl_trace_fn fn;
  void *arg;
} hl__trace_reg_t;

struct hl_app_s {
  hl_loop_t *loop;
  void *store;
  hl__rnode_t root;
  hl__statics_t statics;
  hl_route_t *routes;
  hl__fnlist_t stages[HL_STAGE_COUNT];
  unsigned stage_mask;              /* bit s: stages[s] holds a function (lists only grow) */
  const struct hl__app_io_s *vt_ok; /* the last transport table found complete */
  hl__trace_reg_t *traces;
  unsigned ntraces, cap_traces;
  hl__pool_t pool; /* requests */
  /* live and held apart: side by side, GCC's vectorizer makes their pair of
   * increments (a request's start and end) four instructions instead of two */
  unsigned live;   /* requests in their lifecycle */
  unsigned traced; /* ntraces || st_on: requests start traced */
  uint64_t next_id;
  struct hl__app_http_s *http; /* serving over HTTP (http.c), made on first use */
  unsigned held;               /* requests not yet back in the pool (for hl_app_free) */
  unsigned st_on, st_opts;     /* Server-Timing (lifecycle.c) */
};

/* ---- over HTTP (http.c) ---- */
typedef struct hl__app_http_s hl__app_http_t;
/* 1 while the app listens, closes, or has HTTP requests in flight. */
int hl__app_http_busy(const hl_app_t *app);
void hl__app_http_free(hl_app_t *app);

/* ---- router ---- */
int hl__router_add(hl_app_t *app, hl_route_t *route, const char *path);
void hl__router_free(hl_app_t *app);
int hl__router_match(const hl_app_t *app, unsigned mbit, const char *path, size_t n,
                     hl_route_match_t *m);
/* The same for a NUL-terminated path (its length found while hashing it). */
int hl__router_match_str(hl_app_t *app, unsigned mbit, const char *path, hl_route_match_t *m);

/* A static path's node with a route for the method: what the walk finds
 * first (take() without parameters). 1 when it answered (m->route and
 * m->status set). */
HL_INLINE int hl__match_static(const hl__rnode_t *st, unsigned mbit, hl_route_match_t *m) {
  unsigned b = st->methods & mbit                               ? mbit
               : mbit == HL_HEAD && (st->methods & HL_GET) != 0 ? HL_GET
                                                                : 0;
  if (b == 0)
    return 0;
  m->route = st->slot[__builtin_ctz(b)].route;
  m->status = 200;
  return 1;
}

/* hl__router_match_str() for a match whose route and n_params are NULL and 0
 * (a request's, after the reset): the path hl__router_match_str() last
 * answered from its static table (the usual case: one hot path) found by
 * comparing the bytes, inline: 1, m->route set (m->n_params stays 0, nothing
 * else written: m->status is read only without a route); anything else
 * through it: 0. */
HL_INLINE int hl__router_match_req(hl_app_t *app, unsigned mbit, const char *path,
                                   hl_route_match_t *m) {
  const hl__static_t *e = app->statics.last;
  if (e) {
    const char *s = e->path;
    size_t n = e->len, k = 0; /* (the path ends at its first NUL: no byte of s) */
    while (k < n && s[k] == path[k])
      k++;
    if (k == n && path[n] == '\0') {
      const hl__rnode_t *st = e->node; /* hl__match_static() but the status */
      unsigned b = st->methods & mbit                               ? mbit
                   : mbit == HL_HEAD && (st->methods & HL_GET) != 0 ? HL_GET
                                                                    : 0;
      if (b) {
        m->route = st->slot[__builtin_ctz(b)].route;
        return 1;
      }
    }
  }
  hl__router_match_str(app, mbit, path, m);
  return 0;
}

/* hl_stage_name()'s table (ctx.c), for the lifecycle's hot path */
extern const char *const hl__stage_names[HL_STAGE_COUNT];

/* ---- lists ---- */
int hl__fnlist_add(hl__fnlist_t *l, hl_stage_t stage, const char *name, hl_app_fn fn, void *arg);
void hl__fnlist_free(hl__fnlist_t *l);

/* ---- the arena ---- */
#define HL__ARENA_INLINE 8192
typedef struct hl__chunk_s {
  struct hl__chunk_s *next;
  size_t cap, used;
  max_align_t mem[];
} hl__chunk_t;

typedef struct hl__cleanup_s {
  struct hl__cleanup_s *next;
  void (*fn)(void *);
  void *p;
} hl__cleanup_t;

/* ---- trace (per request) ---- */
typedef struct hl__tcb_s {
  struct hl__tcb_s *next;
  void (*fn)(void); /* hl_trace_event_fn or hl_trace_stop_fn */
  void *arg;
} hl__tcb_t;

/* A subscription's callbacks after the first of each kind (that one is in
 * the stage's or event's record: st.event_fn, st.stop_fn, ev.stop_fn), in
 * the arena, made at the first such registration (rare). */
struct hl__tmore_s {
  hl__tcb_t *on_event, *on_stop, *ev_stop;
};

/* (struct hl__tsub_s, a subscription, is in app.h: hl_trace_on()'s inline path) */

typedef enum {
  HL__PH_FN_WAIT = 0, /* (the reset's: nothing runs before start()) */
  HL__PH_STAGE_BEGIN,
  HL__PH_FN_NEXT,
  HL__PH_STAGE_END,
  HL__PH_LOCK,
  HL__PH_BODY_WAIT,
  HL__PH_SEND,
  HL__PH_SEND_WAIT,
  HL__PH_DONE
} hl__phase_t;

/* The HTTP adapter's per-request state (http.c), embedded in the request
 * (hl_ctx_t.hio): one pooled object per HTTP request. The object goes back to
 * the app's pool once both its sides are done: the lifecycle's (maybe_free:
 * ctx_done) and the adapter's (its reference count, `refs`, at 0: the
 * server's close callback came, the app released it, no file read in
 * flight). A request of another transport has refs 0 throughout. What the
 * adapter keeps with the pooled object (its body buffer) and the file
 * state are in the request's cold part (hio_body ...). */
typedef struct hio_s {
  /* ---- set at the request's start (not cleared by the reset) ---- */
  hl_http_req_t *req; /* NULL once the server's request ended */
  hl_http_res_t *res;
  /* ---- cleared by hl__ctx_reset (with the request's part after it) ---- */
  hl__app_body_cb body_cb;
  size_t blen;
  int body_err;
  unsigned refs;
  uint8_t body_end, reported, released, head_set, finish_on, has_body;
  /* respond_file: its file's descriptor + 1 (0: none, as the reset leaves
   * it: no store to make it -1) and its read buffer */
  int fd1;
  char *fbuf;
} hio_t;

struct hl_ctx_s {
  void *pool_link;
  /* ---- set by the dispatch for each request (not cleared by the reset) ---- */
  hl_app_t *app;
  const hl__app_io_t *vt;
  void *io;
  uint64_t id;
  uint64_t t; /* cached trace time, valid while t_ok */
  unsigned refs;
  unsigned mbit;
  const char *method; /* the transport's, read once at dispatch (valid until release) */
  /* ---- cleared by hl__ctx_reset (from hio.body_cb up to match.n_params;
   * ordered to leave no holes) ---- */
  hio_t hio; /* over HTTP (io == &hio): the adapter's state; hio.has_body is
              * 1 for the other transports (they always read a body) */
  void *data;
  /* routing (the match itself is below) */
  hl_route_t *route;
  /* body */
  const void *body;
  size_t body_len;
  /* set (the header array, hdrs below, is valid to nh; caph 0: none yet) */
  size_t nh, caph;
  /* response and error */
  hl_value_t resp;
  int status;
  int err;
  /* engine */
  hl__phase_t phase;
  hl_stage_t stage;
  unsigned idx, total, napp;
  int stage_err;
  int close_status;
  unsigned lock_pending;
  int t_ok;
  unsigned running : 1, closed : 1, in_error : 1, streaming : 1, cut : 1, stream_ref : 1,
      traced : 1, ev_active : 1, query_done : 1, /* the query parsed: q and nq are valid */
      parsed_set : 1, /* `parsed` holds the parse stage's value (else none) */
      ctx_done : 1,   /* the lifecycle let go; hio.refs still holds the object */
      started : 1,    /* start() ran (the generic dispatch) */
      own_set : 2,    /* bit k: own_hv[k] (and its name) set for this request */
      errmsg_set : 1; /* errmsg set for this request (else none: NULL) */
  /* arena */
  hl__cleanup_t *cleanups;
  hl__chunk_t *chunks;
  size_t used;
  /* routing: the reset clears match.route, status, allow and n_params (it
   * ends there), the rest is written by the router; pdec[0..n_params)
   * cleared after routing */
  hl_route_match_t match;
  /* ---- not cleared by hl__ctx_reset (over half of the header): each is
   * made valid where it starts to be used ---- */
  hl_header_t *hdrs; /* (see nh) */
  hl_value_t parsed; /* valid while parsed_set */
  /* the promise a function returned (FN_WAIT) and its then()'s: set by
   * on_value() before its callbacks can come, cleared when abandoned */
  hl_promise_t *waiting, *waiting_next;
  char *pdec[HL__MAX_PARAMS];
  hl_async_resource_t res; /* when the transport has no run() (hl__app_dispatch_at) */
  uint64_t start;          /* set when a request starts traced */
  hl__fn_t builtin_fn;     /* the parse stage's built-in parser (stage_total) */
  size_t nq;               /* the query's (parse_query) */
  char **q;                /* name, value pairs */
  /* Header values the app made itself, valid by construction: [0] the
   * Server-Timing text (tokens, digits, ".;=, "), [1] a built-in default
   * Content-Type (a literal), each with its name (a literal), valid while
   * own_set's bit k is (the reset clears the bits: the pointers are left
   * out of it). The HTTP adapter adds a header whose name and value are one
   * of these pairs (the same pointers) without a second check. */
  const char *own_hv[2];
  const char *own_hn[2];
  const char *errmsg; /* valid while errmsg_set (read through hl__ctx_errmsg) */
  /* trace: Server-Timing's record (in the arena), NULL when off; set when a
   * request starts traced, read only by a traced one */
  struct hl__st_s *st;
  /* the HTTP adapter's: its body buffer (kept with the pooled object up to
   * BODY_KEEP_MAX, http_io.h) and respond_file's size and offset */
  char *hio_body;
  size_t hio_bcap;
  uint64_t hio_fsize, hio_foff;
  size_t own_hn_len[2], own_hv_len[2];
  /* trace subscriptions: stage s has some when sub_first[s].fn is set
   * (each cleared when a request starts traced); its list starts at
   * sub_first[s] (hl_trace_on), the rest are in the arena */
  struct hl__tsub_s sub_first[HL_STAGE_COUNT];
  max_align_t buf[HL__ARENA_INLINE / sizeof(max_align_t)];
};

/* hl_ctx_alloc()'s common case inline (the trace machinery allocates a few
 * small records per stage): a bump in the request's inline block. */
static inline void *hl__ctx_alloc_fast(hl_ctx_t *r, size_t size) {
  size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
  if (r->chunks == NULL && r->used + size <= sizeof(r->buf)) {
    void *p = (char *)r->buf + r->used;
    r->used += size;
    return p;
  }
  return hl_ctx_alloc(r, size);
}

/* Header names equal, case-insensitively: the first letters are compared
 * inline (an ASCII letter's two cases differ in bit 0x20 only), so unequal
 * names rarely cost a strcasecmp() call. */
static inline int hl__hname_eq(const char *a, const char *b) {
  return ((a[0] ^ b[0]) & ~0x20) == 0 && strcasecmp(a, b) == 0;
}

/* Zero the first n bytes of p (n a constant) with straight 16-byte stores:
 * a constant-size memset of a few hundred bytes becomes a `rep stos`, which
 * costs an instruction per 8 bytes. */
/* The error message set for this request, or NULL. */
HL_INLINE const char *hl__ctx_errmsg(const hl_ctx_t *r) {
  return r->errmsg_set ? r->errmsg : NULL;
}

HL_INLINE void hl__zero16(void *p, size_t n) {
  typedef char v16 __attribute__((vector_size(16), aligned(1), may_alias));
  v16 z = {0};
  v16 *d = p;
#pragma GCC unroll 64
  for (size_t i = 0; i < n / 16; i++)
    d[i] = z;
  if (n % 16)
    memset((char *)p + n / 16 * 16, 0, n % 16);
}

/* A request's start: everything from `hio.body_cb` through the routing
 * match's n_params cleared (see hl_ctx_t for the rest; the dispatch sets
 * what comes before), inline in the dispatch. */
HL_INLINE void hl__ctx_reset(hl_ctx_t *r) {
  hl__zero16(&r->hio.body_cb, offsetof(hl_ctx_t, match.n_params) + sizeof r->match.n_params -
                                  offsetof(hl_ctx_t, hio.body_cb));
  r->status = 200;
}
void hl__ctx_release_memory(hl_ctx_t *r);
/* Start the lifecycle of r, reset with its HTTP adapter part set up (io ==
 * &r->hio; http.c's hl_app_handle), through the adapter's run(). 0, or an
 * error with nothing started (then the app will not release the adapter). */
int hl__app_dispatch_http(hl_ctx_t *r, hl_app_t *app, uint64_t t0);
int hl__ctx_cleanup(hl_ctx_t *r, void (*fn)(void *), void *p);
/* Take ownership of what a value holds (a JSON reference), released when the
 * request ends. HL_ENOMEM: it was released at once (do not use the value). */
int hl__ctx_adopt(hl_ctx_t *r, const hl_value_t *v);

/* Set a response header without checks or copies: `name` static, `value` in
 * the arena and valid (the Server-Timing writer). 0 or HL_ENOMEM. */
int hl__ctx_set_header_owned(hl_ctx_t *r, const char *name, char *value);

/* Server-Timing's duration: `ns` as milliseconds with three decimals
 * ("0.042", "12.345"), truncated, not NUL-terminated; returns the end. At
 * most 24 bytes. (lifecycle.c; for tests) */
char *hl__st_put_ms(char *w, uint64_t ns);

/* ---- body parsing and response mapping (body.c) ---- */
/* The built-in parser for the request's Content-Type: its name, or NULL. */
const char *hl__parser_for(hl_ctx_t *r);
hl_value_t hl__parse_builtin(hl_ctx_t *r);
/* Send the response for r->resp; returns 0 or an error with nothing sent. */
int hl__send(hl_ctx_t *r);
/* hl__send() after text's respond_lines answered 1 (`lines_tried`: not again). */
int hl__send_general(hl_ctx_t *r, int lines_tried);
/* text's default Content-Type as a header line (respond_lines) */
#define HL__CT_TEXT_LINE "Content-Type: text/plain; charset=utf-8\r\n"
/* The default response for an error code (a ready response in the arena). */
hl_value_t hl__error_response(hl_ctx_t *r, int code, const char *msg);

#endif
