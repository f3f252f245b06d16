/* src/app/lifecycle.c - the request lifecycle and trace.
 *
 * A request is a small state machine (hl__phase_t) driven by run(): begin a
 * stage, call its functions one at a time, stop the stage, wait for the trace
 * lock, choose the next stage. Anything asynchronous (a function's promise, a
 * trace on_stop's promise, the body, the transport finishing the response)
 * parks the machine in a waiting phase; its completion moves the phase on and
 * calls run() again. run() is not re-entered: a completion that arrives while
 * it runs (a transport answering synchronously) only changes the phase.
 *
 * Trace costs nothing without subscribers: every trace step is behind a test
 * of the stage's subscriber list, filled only when the app has trace
 * functions. Subscriptions and their callbacks live in the request's arena.
 */
#include <string.h>
#include "app_internal.h"
#include "http_io.h"

static void run(hl_ctx_t *r);
static void tlane(hl_ctx_t *r);
static void maybe_free(hl_ctx_t *r);
static void finish(hl_ctx_t *r);

/* Trace time: one hl__clock_ns() read (uv_hrtime()'s scale, from the TSC;
 * the HTTP server's timestamps come from the same clock) is shared by adjacent trace points between
 * which only trace machinery ran (the trace parameter's time and the request
 * stage's begin; an event's stop, its stage's stop, the next stage's begin; an
 * empty stage's begin and stop); it is invalidated before any application
 * function runs and whenever the machine resumes after a wait (the body, a
 * function's promise, an asynchronous on_stop, the transport's completion).
 * Each reading costs ~9-25 ns, so this is what keeps a fully traced request to
 * one reading per function plus one per wait. */
HL_INLINE uint64_t tnow(hl_ctx_t *r) {
  if (!r->t_ok) {
    r->t = hl__clock_ns();
    r->t_ok = 1;
  }
  return r->t;
}

/* ---- Server-Timing's text ----
 * Built into the trace points (no subscription, no callback, one arena block
 * per request): each stage's and function's metric is appended to the text as
 * it stops (its prefix copied, the duration formatted), and the header is set
 * when the mapResponse or error stage stops (just before the response is
 * sent), before that stage's trace listeners run (so a listener may still
 * replace it). */
#define ST_MAX    40  /* metrics per request */
#define ST_INLINE 640 /* the text's first buffer (13 metrics take ~330 bytes) */
/* room a metric with a short prefix may need: the padded copy, the duration
 * after the prefix (ms up to 20 digits and ".ddd"), the NUL */
#define ST_ROOM (HL__ST_PRE_PAD + 24 + 1)

struct hl__st_s {
  unsigned n;  /* metrics so far */
  int written; /* buf is a header's value: append into a copy */
  int failed;  /* out of memory: the text is incomplete, set no header */
  char *buf;   /* ", <metric>, <metric>..." (the value starts at buf + 2) */
  char *w;     /* its end */
  char *end;   /* where buf ends; == w once written (the next append copies) */
  uint64_t stage_begin, ev_begin;
  const char *ev_pre; /* the running function's metric prefix, NULL: none */
  size_t ev_pre_len;
  char inl[ST_INLINE];
};

HL_INLINE char *st_put_ms(char *w, uint64_t ns);
static void st_write(hl_ctx_t *r);
static void st_add_slow(hl_ctx_t *r, struct hl__st_s *rec, const char *pre, size_t pre_len,
                        uint64_t ns);

/* Append a metric: `pre` is ", <name>;dur=", readable to HL__ST_PRE_PAD bytes
 * at least, so a short one is copied with one fixed-size move. */
HL_INLINE void st_add(hl_ctx_t *r, struct hl__st_s *rec, const char *pre, size_t pre_len,
                      uint64_t ns) {
  if (rec->n < ST_MAX) {
    char *w = rec->w;
    if (HL_UNLIKELY(pre_len > HL__ST_PRE_PAD || (size_t)(rec->end - w) < ST_ROOM)) {
      st_add_slow(r, rec, pre, pre_len, ns);
      return;
    }
    memcpy(w, pre, HL__ST_PRE_PAD); /* a fixed size: two moves, no call */
    rec->w = st_put_ms(w + pre_len, ns);
    rec->n++;
  }
}

/* A long prefix, a full buffer, or a text already handed to the header (the
 * error stage after a failed send: the first text may still be referenced,
 * so the rest goes into a copy). */
__attribute__((noinline)) static void st_add_slow(hl_ctx_t *r, struct hl__st_s *rec,
                                                  const char *pre, size_t pre_len, uint64_t ns) {
  if (rec->failed)
    return;
  size_t used = (size_t)(rec->w - rec->buf);
  size_t need = (pre_len > HL__ST_PRE_PAD ? pre_len : HL__ST_PRE_PAD) + 24 + 1;
  if (rec->written || (size_t)(rec->end - rec->w) < need) {
    size_t cap = (size_t)(rec->end - rec->buf) * 2;
    if (cap < used + need)
      cap = used + need;
    char *nb = hl_ctx_alloc(r, cap);
    if (nb == NULL) {
      rec->failed = 1;
      return;
    }
    memcpy(nb, rec->buf, used);
    rec->buf = nb;
    rec->w = nb + used;
    rec->end = nb + cap;
    rec->written = 0;
  }
  char *w = rec->w;
  if (pre_len <= HL__ST_PRE_PAD)
    memcpy(w, pre, HL__ST_PRE_PAD);
  else
    memcpy(w, pre, pre_len);
  rec->w = st_put_ms(w + pre_len, ns);
  rec->n++;
}

/* Each stage's metric up to the number, after its separator, padded (see
 * st_add). */
static const char st_stage[HL_STAGE_COUNT][HL__ST_PRE_PAD] = {
    ", request;dur=",      ", parse;dur=",  ", transform;dur=",
    ", beforeHandle;dur=", ", handle;dur=", ", afterHandle;dur=",
    ", mapResponse;dur=",  ", error;dur=",  ", afterResponse;dur="};
static const unsigned char st_stage_len[HL_STAGE_COUNT] = {14, 12, 16, 19, 13, 18, 18, 12, 20};
/* Each stage's whole metric for a duration under a microsecond ("0.000": an
 * empty stage, begun and stopped at one shared reading, and the request stage
 * without functions), padded: copied with no formatting. */
static const char st_stage0[HL_STAGE_COUNT][HL__ST_PRE_PAD] = {
    ", request;dur=0.000",      ", parse;dur=0.000",  ", transform;dur=0.000",
    ", beforeHandle;dur=0.000", ", handle;dur=0.000", ", afterHandle;dur=0.000",
    ", mapResponse;dur=0.000",  ", error;dur=0.000",  ", afterResponse;dur=0.000"};

/* A stage's metric (st_add() with the stage's prefix). */
HL_INLINE void st_add_stage(hl_ctx_t *r, struct hl__st_s *rec, hl_stage_t stage, uint64_t ns) {
  char *w = rec->w;
  if (ns < 1000 && rec->n < ST_MAX && (size_t)(rec->end - w) >= ST_ROOM) {
    memcpy(w, st_stage0[stage], HL__ST_PRE_PAD);
    rec->w = w + st_stage_len[stage] + 5;
    rec->n++;
    return;
  }
  st_add(r, rec, st_stage[stage], st_stage_len[stage], ns);
}

/* The built-in parsers' metric prefixes (their names are tokens), padded. */
static void st_builtin_pre(hl__fn_t *f) {
  static const char pre[5][HL__ST_PRE_PAD] = {
      ", parse.json;dur=", ", parse.text;dur=", ", parse.urlencoded;dur=", ", parse.multipart;dur=",
      ", parse.anonymous;dur="};
  static const unsigned char len[5] = {17, 17, 23, 22, 22};
  static const char *const names[] = {"json", "text", "urlencoded", "multipart"};
  int k = 4;
  for (int i = 0; i < 4; i++)
    if (strcmp(f->name, names[i]) == 0)
      k = i;
  f->st_pre = pre[k];
  f->st_pre_len = len[k];
}

/* ---- trace ------------------------------------------------------------------------ */
static void lock_done(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  hl_ctx_t *r = arg;
  r->lock_pending--;
  r->refs--;
  if (!r->running)
    r->t_ok = 0; /* resumed after a wait: the cached trace time is stale */
  run(r);
}

static void lock_on(hl_ctx_t *r, hl_promise_t *p) {
  if (p == NULL)
    return;
  r->lock_pending++;
  r->refs++;
  if (hl_promise_then(p, lock_done, lock_done, r, NULL) != 0) {
    r->lock_pending--;
    r->refs--;
  }
}

/* Callbacks: the first of each kind (a stage's on_event and on_stop, an
 * event's on_stop) is a slot in the stage's or event's record (app.h's
 * inline registration fills it); the rest go to lists in the arena
 * (x->more). A walk reads the list before calling the slot and each entry's
 * `next` before calling it, so a registration made from inside a callback
 * never disturbs the walk (it is not called by it). */
enum { TL_EVENT, TL_STOP, TL_EV_STOP };

__attribute__((noinline)) static int cb_add_more(hl_ctx_t *r, struct hl__tsub_s *x, int which,
                                                 void (*fn)(void), void *arg) {
  if (x->more == NULL) {
    struct hl__tmore_s *m = hl__ctx_alloc_fast(r, sizeof(*m));
    if (m == NULL)
      return HL_ENOMEM;
    m->on_event = m->on_stop = m->ev_stop = NULL;
    x->more = m;
  }
  hl__tcb_t *c = hl__ctx_alloc_fast(r, sizeof(*c));
  if (c == NULL)
    return HL_ENOMEM;
  c->fn = fn;
  c->arg = arg;
  c->next = NULL;
  hl__tcb_t **list = which == TL_EVENT  ? &x->more->on_event
                     : which == TL_STOP ? &x->more->on_stop
                                        : &x->more->ev_stop;
  while (*list)
    list = &(*list)->next;
  *list = c;
  return 0;
}

/* (app.h's inline versions fill an empty slot themselves and call these
 * otherwise; the names in parentheses: the functions, not those macros) */
HL_EXPORT int(hl_trace_stage_on_event)(hl_trace_stage_t *st, hl_trace_event_fn fn, void *arg) {
  if (st == NULL || st->req == NULL || fn == NULL)
    return HL_EINVAL;
  if (st->event_fn == NULL) {
    st->event_fn = fn;
    st->event_arg = arg;
    return 0;
  }
  return cb_add_more(st->req, hl__container_of(st, struct hl__tsub_s, st), TL_EVENT,
                     (void (*)(void))fn, arg);
}

HL_EXPORT int(hl_trace_stage_on_stop)(hl_trace_stage_t *st, hl_trace_stop_fn fn, void *arg) {
  if (st == NULL || st->req == NULL || fn == NULL)
    return HL_EINVAL;
  if (st->stop_fn == NULL) {
    st->stop_fn = fn;
    st->stop_arg = arg;
    return 0;
  }
  return cb_add_more(st->req, hl__container_of(st, struct hl__tsub_s, st), TL_STOP,
                     (void (*)(void))fn, arg);
}

HL_EXPORT int(hl_trace_event_on_stop)(hl_trace_event_t *ev, hl_trace_stop_fn fn, void *arg) {
  if (ev == NULL || ev->req == NULL || fn == NULL)
    return HL_EINVAL;
  if (ev->stop_fn == NULL) {
    ev->stop_fn = fn;
    ev->stop_arg = arg;
    return 0;
  }
  return cb_add_more(ev->req, hl__container_of(ev, struct hl__tsub_s, ev), TL_EV_STOP,
                     (void (*)(void))fn, arg);
}

/* The stage's subscriptions (NULL: none). */
HL_INLINE struct hl__tsub_s *subs_of(hl_ctx_t *r, hl_stage_t stage) {
  struct hl__tsub_s *s = &r->sub_first[stage];
  return s->fn ? s : NULL;
}

/* out of line: hl_trace_on()'s common path then saves no registers */
__attribute__((noinline)) static int trace_on_more(hl_ctx_t *r, hl_stage_t stage,
                                                   hl_trace_listener_fn fn, void *arg) {
  struct hl__tsub_s *s = hl__ctx_alloc_fast(r, sizeof(*s)), *tail = &r->sub_first[stage];
  if (s == NULL)
    return HL_ENOMEM;
  hl__tsub_set(s, fn, arg);
  while (tail->next) /* a stage with several subscribers: rare, and few */
    tail = tail->next;
  tail->next = s;
  return 0;
}

/* A stage's first subscription lives in the request (sub_first), the rest in
 * the arena. Its callback lists start empty here: a stage begins at most once
 * per request, so its begin need not clear them again, and a subscription
 * made while its stage runs is walked safely (it has no callbacks). */
HL_EXPORT int(hl_trace_on)(hl_trace_t *t, hl_stage_t stage, hl_trace_listener_fn fn, void *arg) {
  hl_ctx_t *r;
  if (t == NULL || (r = t->req) == NULL || fn == NULL || (unsigned)stage >= HL_STAGE_COUNT)
    return HL_EINVAL;
  struct hl__tsub_s *s = &r->sub_first[stage];
  if (s->fn)
    return trace_on_more(r, stage, fn, arg);
  hl__tsub_set(s, fn, arg);
  return 0;
}

/* Call the callbacks after an on_stop slot's (a list, or NULL) with e. */
__attribute__((noinline)) static void call_stops_more(hl_ctx_t *r, hl__tcb_t *c,
                                                      const hl_trace_end_t *e) {
  for (hl__tcb_t *nx; c; c = nx) {
    nx = c->next;
    hl_promise_t *p = ((hl_trace_stop_fn)c->fn)(e, c->arg);
    if (p)
      lock_on(r, p);
  }
}

/* Call and empty an on_stop slot and its list (`more`: NULL, or the list's
 * head; a stage's or an event's) with the end at t; a promise a callback
 * returns joins the lock. */
HL_INLINE void call_stops(hl_ctx_t *r, hl_trace_stop_fn *slot, void *arg, hl__tcb_t **more,
                          uint64_t t, int err, uint64_t begin) {
  hl_trace_stop_fn fn = *slot;
  hl__tcb_t *m = more ? *more : NULL;
  if (fn == NULL && m == NULL)
    return;
  hl_trace_end_t e = {t, err, t - begin};
  *slot = NULL;
  if (HL_UNLIKELY(m != NULL))
    *more = NULL;
  if (fn) {
    hl_promise_t *p = fn(&e, arg);
    if (p)
      lock_on(r, p);
  }
  if (HL_UNLIKELY(m != NULL))
    call_stops_more(r, m, &e);
}

/* A stage's and an event's on_stop callbacks (see call_stops). */
#define CALL_STAGE_STOPS(r, x, t, err)                                                             \
  call_stops(r, &(x)->st.stop_fn, (x)->st.stop_arg, (x)->more ? &(x)->more->on_stop : NULL, t,     \
             err, (x)->st.begin)
#define CALL_EVENT_STOPS(r, x, t, err)                                                             \
  call_stops(r, &(x)->ev.stop_fn, (x)->ev.stop_arg, (x)->more ? &(x)->more->ev_stop : NULL, t,     \
             err, (x)->ev.begin)

/* An event's begin for subscription x: its record, then its on_event
 * callbacks. */
__attribute__((noinline)) static void call_events_more(hl__tcb_t *c, hl_trace_event_t *ev) {
  for (hl__tcb_t *nx; c; c = nx) {
    nx = c->next;
    ((hl_trace_event_fn)c->fn)(ev, c->arg);
  }
}
HL_INLINE void call_event(hl_ctx_t *r, struct hl__tsub_s *x, const char *name, unsigned index,
                          uint64_t t) {
  x->ev.name = name;
  x->ev.index = index;
  x->ev.begin = t;
  x->ev.req = r;
  x->ev.stop_fn = NULL;
  hl__tcb_t *m = NULL;
  if (HL_UNLIKELY(x->more != NULL)) {
    x->more->ev_stop = NULL;
    m = x->more->on_event;
  }
  if (x->st.event_fn)
    x->st.event_fn(&x->ev, x->st.event_arg);
  if (HL_UNLIKELY(m != NULL))
    call_events_more(m, &x->ev);
}

/* Begin stage s for each subscription from x on (x may be NULL): its
 * listener gets the stage's name, begin t and total. */
HL_INLINE void call_begins(hl_ctx_t *r, struct hl__tsub_s *x, hl_stage_t s, uint64_t t,
                           unsigned total) {
  const char *name = hl__stage_names[s];
  for (; x; x = x->next) {
    x->st.stage = s;
    x->st.name = name;
    x->st.begin = t;
    x->st.total = total;
    x->st.req = r; /* its callbacks: none yet (hl_trace_on) */
    x->fn(&x->st, x->arg);
  }
}

/* Stop the stage for each subscription from x on (x may be NULL): its
 * on_stop list at t. */
HL_INLINE void call_stage_stops(hl_ctx_t *r, struct hl__tsub_s *x, uint64_t t, int err) {
  for (; x; x = x->next)
    CALL_STAGE_STOPS(r, x, t, err);
}

HL_INLINE void trace_stage_begin(hl_ctx_t *r) {
  hl_stage_t stage = r->stage;
  struct hl__tsub_s *s = subs_of(r, stage);
  struct hl__st_s *rec = r->st;
  if (s == NULL && rec == NULL)
    return;
  uint64_t t = tnow(r);
  if (rec)
    rec->stage_begin = t;
  call_begins(r, s, stage, t, r->total);
}

/* The machine's event trace points (the traced lane writes its own out). */
static void trace_event_begin(hl_ctx_t *r, const hl__fn_t *f) {
  const char *name = f->name;
  if (r->sub_first[r->stage].fn == NULL && r->st == NULL)
    return;
  uint64_t t = tnow(r);
  r->ev_active = 1;
  if (r->st) {
    r->st->ev_begin = t;
    r->st->ev_pre =
        (r->app->st_opts & HL_SERVER_TIMING_FUNCTIONS) && r->stage != HL_STAGE_AFTER_RESPONSE
            ? f->st_pre
            : NULL;
    r->st->ev_pre_len = f->st_pre_len;
  }
  for (struct hl__tsub_s *s = subs_of(r, r->stage); s; s = s->next)
    call_event(r, s, name, r->idx, t);
}

static void trace_event_stop(hl_ctx_t *r, int err) {
  if (!r->ev_active)
    return;
  r->ev_active = 0;
  uint64_t t = tnow(r);
  if (r->st && r->st->ev_pre)
    st_add(r, r->st, r->st->ev_pre, r->st->ev_pre_len, t - r->st->ev_begin);
  for (struct hl__tsub_s *s = subs_of(r, r->stage); s; s = s->next) {
    CALL_EVENT_STOPS(r, s, t, err);
  }
}

HL_INLINE void trace_stage_stop(hl_ctx_t *r, int err) {
  hl_stage_t stage = r->stage;
  struct hl__tsub_s *s = subs_of(r, stage);
  struct hl__st_s *rec = r->st;
  if (s == NULL && rec == NULL)
    return;
  uint64_t t = tnow(r);
  if (rec && stage != HL_STAGE_AFTER_RESPONSE) {
    st_add_stage(r, rec, stage, t - rec->stage_begin);
    if (stage == HL_STAGE_MAP_RESPONSE || stage == HL_STAGE_ERROR)
      st_write(r);
  }
  call_stage_stops(r, s, t, err);
}

/* ---- stages ------------------------------------------------------------------------- */
static hl_value_t builtin_parse(hl_ctx_t *r, void *arg) {
  (void)arg;
  return hl__parse_builtin(r);
}

static const hl__fnlist_t *route_list(hl_ctx_t *r, hl_stage_t s) {
  return r->route && s != HL_STAGE_REQUEST ? &r->route->stages[s] : NULL;
}

/* The functions stage `s` holds for this request. */
static unsigned stage_total(hl_ctx_t *r, hl_stage_t s) {
  if (s == HL_STAGE_HANDLE) {
    r->napp = 0;
    return 1;
  }
  if (s == HL_STAGE_PARSE && r->body_len == 0) {
    r->napp = 0;
    return 0;
  }
  const hl__fnlist_t *rl = route_list(r, s);
  r->napp = r->app->stages[s].n;
  unsigned total = r->napp + (rl ? rl->n : 0);
  if (s == HL_STAGE_PARSE && (r->builtin_fn.name = hl__parser_for(r)) != NULL) {
    r->builtin_fn.fn = builtin_parse;
    r->builtin_fn.arg = NULL;
    st_builtin_pre(&r->builtin_fn);
    total++;
  }
  return total;
}

/* The stages stage_begin() goes past when empty: those whose next stage
 * without an error or a cut is begun by stage_begin() (or is the send). */
#define ST_SKIPPABLE                                                                               \
  ((1u << HL_STAGE_PARSE) | (1u << HL_STAGE_TRANSFORM) | (1u << HL_STAGE_BEFORE_HANDLE) |          \
   (1u << HL_STAGE_AFTER_HANDLE) | (1u << HL_STAGE_MAP_RESPONSE))

/* An empty stage (one of ST_SKIPPABLE) of a traced request, begun from inside
 * run() (a lock's promise settles in a microtask, so it cannot resume run()
 * meanwhile): its begin and stop are reported here, at the same time, as run()
 * would (only trace code runs between them), and stage_begin() goes on to the
 * next stage without a turn of run(). Returns 0 where run() would not go
 * straight on (the client went away, a lock to wait for): run() takes over at
 * the stage's end. Out of line: the untraced stage_begin() keeps its
 * registers. */
__attribute__((noinline)) static int traced_empty_stage(hl_ctx_t *r) {
  trace_stage_begin(r);
  if (HL_UNLIKELY(r->closed)) /* run() stops it with HL_ECLIENTGONE */
    return 0;
  r->phase = HL__PH_STAGE_END;
  trace_stage_stop(r, 0);
  if (r->lock_pending || HL_UNLIKELY(r->closed)) {
    r->phase = HL__PH_LOCK;
    return 0;
  }
  r->phase = HL__PH_FN_NEXT;
  return 1;
}

/* A traced request's empty afterResponse stage: begun and stopped here, at one
 * reading, as run() would do next (its functions: none; no error: the client
 * being gone does not stop afterResponse), and the phase set to where run()
 * would be after the stop: the lock, or the end. Safe where run() is not
 * running too (from closed_in_ctx(), which calls run() next): a lock's
 * promise settles in a microtask, never inside this call. Out of line, as
 * traced_empty_stage(). */
HL_INLINE void traced_empty_after_response_in(hl_ctx_t *r) {
  struct hl__tsub_s *s = &r->sub_first[HL_STAGE_AFTER_RESPONSE];
  if (s->fn) { /* (Server-Timing has no afterResponse metric) */
    uint64_t t = tnow(r);
    call_begins(r, s, HL_STAGE_AFTER_RESPONSE, t, 0); /* trace_stage_begin() */
    r->phase = HL__PH_STAGE_END;
    call_stage_stops(r, s, t, 0); /* trace_stage_stop(), at the same reading */
  }
  r->phase = r->lock_pending ? HL__PH_LOCK : HL__PH_DONE;
}

__attribute__((noinline)) static void traced_empty_after_response(hl_ctx_t *r) {
  traced_empty_after_response_in(r);
}

static void stage_walk(hl_ctx_t *r, hl_stage_t s);

/* Begin stage s (idx, error, cut and phase reset); two stages of a traced
 * request need none of the walk over empty stages (stage_walk), and the
 * check stays out of the walk's register saves. */
static void stage_begin(hl_ctx_t *r, hl_stage_t s) {
  r->idx = 0;
  r->stage_err = 0;
  r->cut = 0;
  r->phase = HL__PH_FN_NEXT;
  if (r->traced) {
    if (s == HL_STAGE_REQUEST && !r->closed) {
      /* from start(), which calls run() next: run() hands the request to
       * the traced lane (its condition holds), which reports the begin */
      r->stage = s;
      r->napp = r->total = r->app->stages[s].n;
      return;
    }
    if (s == HL_STAGE_AFTER_RESPONSE &&
        !((r->app->stage_mask | (r->route ? r->route->stage_mask : 0)) & (1u << s))) {
      r->stage = s;
      r->napp = r->total = 0;
      traced_empty_after_response(r);
      return;
    }
  }
  stage_walk(r, s);
}

/* stage_begin()'s walk: stage s, or past it while it is empty (see below). */
__attribute__((noinline)) static void stage_walk(hl_ctx_t *r, hl_stage_t s) {
  unsigned held = r->app->stage_mask | (r->route ? r->route->stage_mask : 0);
  for (;;) {
    r->stage = s;
    if (!(held & (1u << s)) && s != HL_STAGE_HANDLE &&
        (s != HL_STAGE_PARSE || r->body_len == 0)) { /* no function, no built-in parser */
      r->napp = 0;
      r->total = 0;
    } else {
      r->total = stage_total(r, s);
    }
    if (r->total || r->traced || r->closed) {
      if (r->total || r->closed || !r->running || !((1u << s) & ST_SKIPPABLE))
        break;
      if (!traced_empty_stage(r)) /* run() takes over */
        return;
      held =
          r->app->stage_mask | (r->route ? r->route->stage_mask : 0); /* not kept over the call */
    }
    /* An empty stage: nothing runs, no error, nothing cut; straight on to the
     * stage next_stage() would choose for it without a turn of run() per
     * stage (for an untraced request nothing is reported, no lock). */
    switch (s) {
    case HL_STAGE_PARSE:
      s = HL_STAGE_TRANSFORM;
      continue;
    case HL_STAGE_TRANSFORM:
      s = HL_STAGE_BEFORE_HANDLE;
      continue;
    case HL_STAGE_BEFORE_HANDLE:
      s = HL_STAGE_HANDLE;
      continue;
    case HL_STAGE_AFTER_HANDLE:
      s = HL_STAGE_MAP_RESPONSE;
      continue;
    case HL_STAGE_MAP_RESPONSE:
      r->phase = HL__PH_SEND;
      return;
    default:
      break;
    }
    break;
  }
  if (s == HL_STAGE_ERROR)
    r->in_error = 1;
  if (r->traced)
    trace_stage_begin(r);
}

HL_INLINE const hl__fn_t *stage_fn(hl_ctx_t *r) {
  if (r->stage == HL_STAGE_HANDLE)
    return &r->route->handler;
  if (r->idx < r->napp)
    return &r->app->stages[r->stage].v[r->idx];
  const hl__fnlist_t *rl = route_list(r, r->stage);
  unsigned i = r->idx - r->napp;
  if (rl && i < rl->n)
    return &rl->v[i];
  return &r->builtin_fn;
}

static void fn_settled(hl_ctx_t *r, hl_promise_t *next, const hl_value_t *v);
static void on_value(hl_ctx_t *r, hl_value_t v);

static void fn_ok(hl_promise_t *next, void *value, void *arg) {
  hl_ctx_t *r = arg;
  r->t_ok = 0; /* resumed after a wait: the cached trace time is stale */
  fn_settled(r, next, value ? (const hl_value_t *)value : NULL);
}

static void fn_err(hl_promise_t *next, void *reason, void *arg) {
  (void)reason;
  hl_ctx_t *r = arg;
  r->t_ok = 0; /* resumed after a wait: the cached trace time is stale */
  r->refs--;
  if (next != r->waiting_next) { /* abandoned: the client went away */
    run(r);
    return;
  }
  const hl_error_t *e = hl_promise_error(r->waiting);
  r->waiting = r->waiting_next = NULL;
  int code = e && e->code < 0 ? e->code : HL_EINTERNAL;
  on_value(r, hl_fail(code, e ? hl_ctx_strdup(r, e->message) : NULL));
  run(r);
}

static void fn_settled(hl_ctx_t *r, hl_promise_t *next, const hl_value_t *v) {
  r->refs--;
  if (next != r->waiting_next) { /* abandoned: keep what it owns with the request */
    if (v)
      hl__ctx_adopt(r, v);
    run(r);
    return;
  }
  r->waiting = r->waiting_next = NULL;
  on_value(r, v ? *v : hl_none());
  run(r);
}

/* A function's result: decide what the stage does next. */
static void on_value(hl_ctx_t *r, hl_value_t v) {
  if (v.kind == HL_VALUE_PROMISE) {
    hl_promise_t *p = v.ptr, *next = NULL;
    int rc = p ? hl_promise_then(p, fn_ok, fn_err, r, &next) : HL_EINVAL;
    if (rc == 0) {
      r->refs++;
      r->waiting = p;
      r->waiting_next = next;
      r->phase = HL__PH_FN_WAIT;
      return;
    }
    v = hl_fail(HL_EINTERNAL, "a function returned an invalid promise");
  }
  if (hl__ctx_adopt(r, &v) != 0)
    v = hl_fail(HL_ENOMEM, NULL);
  if (v.kind == HL_VALUE_ERROR) {
    int code = v.code < 0 ? v.code : HL_EINTERNAL;
    if (r->ev_active)
      trace_event_stop(r, code);
    r->stage_err = code;
    r->errmsg = v.data;
    r->errmsg_set = 1;
    r->phase = HL__PH_STAGE_END;
    return;
  }
  if (r->ev_active)
    trace_event_stop(r, 0);
  switch (r->stage) {
  case HL_STAGE_TRANSFORM:
  case HL_STAGE_AFTER_RESPONSE:
    break;
  case HL_STAGE_PARSE:
    if (v.kind != HL_VALUE_NONE) {
      r->parsed = v;
      r->parsed_set = 1;
      r->cut = 1;
    }
    break;
  case HL_STAGE_HANDLE:
    r->resp = v;
    break;
  case HL_STAGE_AFTER_HANDLE: /* as Elysia: replaces the response, the stage goes on */
    if (v.kind != HL_VALUE_NONE)
      r->resp = v;
    break;
  default:
    if (v.kind != HL_VALUE_NONE) {
      r->resp = v;
      r->cut = 1;
    }
    break;
  }
  r->idx++;
  r->phase = r->cut ? HL__PH_STAGE_END : HL__PH_FN_NEXT;
}

static int default_status(int code) {
  switch (code) {
  case HL_ENOTFOUND:
    return 404;
  case HL_EPARSE:
  case HL_EVALIDATION:
    return 400;
  case HL_EMETHOD:
    return 405;
  default:
    return 500;
  }
}

static void begin_error(hl_ctx_t *r, int code, const char *msg) {
  r->err = code;
  if (msg || hl__ctx_errmsg(r) == NULL) {
    r->errmsg = msg ? msg : hl_strerror(code);
    r->errmsg_set = 1;
  }
  r->status = default_status(code);
  stage_begin(r, HL_STAGE_ERROR);
}

static void body_done(hl__req_t *r, int status, const void *data, size_t len) {
  if (r == NULL || r->phase != HL__PH_BODY_WAIT)
    return;
  if (!r->running) /* resumed after a wait (not from inside read_body): stale */
    r->t_ok = 0;
  if (status < 0) {
    begin_error(r, status, NULL);
  } else {
    r->body = data;
    r->body_len = len;
    stage_begin(r, HL_STAGE_PARSE);
  }
  run(r);
}

static void lane_body(hl__req_t *r, int status, const void *data, size_t len);

/* (inline: the lane's and next_stage()'s) `lane`: the untraced lane's call,
 * which goes on with the next stage that holds functions or the handler (each
 * sets r->stage and r->phase before anything reads them), so the 1 answer
 * leaves them as they were. */
HL_INLINE int after_routing(hl_ctx_t *r, hl__app_body_cb body_cb, const char *path, int lane) {
  if (HL_LIKELY(
          hl__router_match_req(r->app, r->mbit, path ? path : r->vt->path(r->io), &r->match))) {
    r->route = r->match.route; /* a static path: no parameters */
  } else if (r->match.route == NULL) {
    if (r->match.status == 405) {
      static const char *const names[] = {"GET",    "POST", "PUT",    "PATCH",
                                          "DELETE", "HEAD", "OPTIONS"};
      char allow[64];
      size_t n = 0;
      for (int i = 0; i < 7; i++)
        if (r->match.allow & (1u << i))
          n += (size_t)snprintf(allow + n, sizeof(allow) - n, "%s%s", n ? ", " : "", names[i]);
      allow[n] = '\0';
      hl_ctx_set_header(r, "Allow", allow);
      begin_error(r, HL_EMETHOD, NULL);
    } else {
      begin_error(r, HL_ENOTFOUND, NULL);
    }
    return 0;
  } else {
    r->route = r->match.route;
    for (size_t i = 0; i < r->match.n_params; i++)
      r->pdec[i] = NULL; /* decoded on first use (hl_ctx_param) */
  }
  if (HL_LIKELY(!r->hio.has_body) && !r->closed) { /* what read_body would answer at once */
    if (body_cb == lane_body) { /* as lane_body() does inside the lane (the reset left body
                                 * NULL, read as "", and body_len 0) */
      if (!lane) {
        r->stage = HL_STAGE_PARSE;
        r->phase = HL__PH_STAGE_BEGIN;
      }
      return 1;
    }
    r->phase = HL__PH_BODY_WAIT;
    body_cb(r, 0, "", 0);
    return 0;
  }
  r->phase = HL__PH_BODY_WAIT;
  int rc = r->vt->read_body(r->io, r, body_cb);
  if (rc != 0 && r->phase == HL__PH_BODY_WAIT)
    begin_error(r, rc, NULL);
  return 0;
}

/* After a stage stopped and its lock was released: where to go. */
static void next_stage(hl_ctx_t *r) {
  hl_stage_t s = r->stage;
  if (s == HL_STAGE_AFTER_RESPONSE) {
    r->phase = HL__PH_DONE;
    return;
  }
  if (r->closed || r->stage_err == HL_ECLIENTGONE) {
    stage_begin(r, HL_STAGE_AFTER_RESPONSE);
    return;
  }
  if (r->stage_err) {
    if (s != HL_STAGE_ERROR) {
      begin_error(r, r->stage_err, NULL);
    } else { /* the error stage failed itself: the default answer for that error */
      r->status = default_status(r->stage_err);
      r->resp = hl__error_response(r, r->stage_err, hl__ctx_errmsg(r));
      r->phase = HL__PH_SEND;
    }
    return;
  }
  switch (s) {
  case HL_STAGE_REQUEST:
    if (r->cut)
      stage_begin(r, HL_STAGE_MAP_RESPONSE);
    else
      after_routing(r, body_done, NULL, 0);
    break;
  case HL_STAGE_PARSE:
    stage_begin(r, HL_STAGE_TRANSFORM);
    break;
  case HL_STAGE_TRANSFORM:
    stage_begin(r, HL_STAGE_BEFORE_HANDLE);
    break;
  case HL_STAGE_BEFORE_HANDLE:
    stage_begin(r, r->cut ? HL_STAGE_AFTER_HANDLE : HL_STAGE_HANDLE);
    break;
  case HL_STAGE_HANDLE:
    stage_begin(r, HL_STAGE_AFTER_HANDLE);
    break;
  case HL_STAGE_AFTER_HANDLE:
    stage_begin(r, HL_STAGE_MAP_RESPONSE);
    break;
  case HL_STAGE_MAP_RESPONSE:
    r->phase = HL__PH_SEND;
    break;
  case HL_STAGE_ERROR:
    if (!r->cut)
      r->resp = hl__error_response(r, r->err, hl__ctx_errmsg(r));
    r->phase = HL__PH_SEND;
    break;
  default:
    r->phase = HL__PH_DONE;
    break;
  }
}

/* After the transport's answer to a send: rc from hl__send(). */
static void send_failed(hl_ctx_t *r, int rc);
HL_INLINE void send_result(hl_ctx_t *r, int rc) {
  if (rc == 0) {
    if (r->resp.kind == HL_VALUE_STREAM) {
      r->refs++; /* the stream function's, until hl_ctx_stream_end() */
      r->stream_ref = 1;
      ((hl_stream_fn)r->resp.ptr)(r, r->resp.aux);
    }
    return;
  }
  if (rc == 2) { /* sent, done and released (see respond_lines): hl__app_io_closed()'s
                   short end, then finish() without the release */
    r->closed = 1;
    r->streaming = 0;
    r->stage = HL_STAGE_AFTER_RESPONSE;
    r->idx = r->napp = r->total = 0;
    r->phase = HL__PH_DONE;
    r->io = NULL;
    if (r->vt->run == NULL)
      hl_async_resource_emit_destroy(&r->res);
    r->app->live--;
    r->refs--;
    return;
  }
  send_failed(r, rc);
}

static void send_failed(hl_ctx_t *r, int rc) {
  r->phase = HL__PH_SEND;
  if (!r->in_error) {
    begin_error(r, rc == HL_ENOENT ? HL_ENOTFOUND : rc, NULL);
    return;
  }
  /* the error response could not be sent either: a bare 500 */
  r->phase = HL__PH_SEND_WAIT;
  r->resp = hl_none();
  if (r->vt->respond(r->io, 500, NULL, 0, "", 0) != 0)
    hl__app_io_closed(r, HL_EINTERNAL);
}

static void send_response(hl_ctx_t *r) {
  if (r->closed) {
    stage_begin(r, HL_STAGE_AFTER_RESPONSE);
    return;
  }
  r->phase = HL__PH_SEND_WAIT; /* before: the transport may finish at once */
  r->t_ok = 0;                 /* the transport's time is not the last stage's */
  send_result(r, hl__send(r));
}

/* finish() inline (the traced request's usual end) */
HL_INLINE void finish_in(hl_ctx_t *r) {
  if (r->io) {
    void *io = r->io;
    r->closed = 1;
    r->io = NULL;
    if (r->vt->release)
      r->vt->release(io);
    if (r->vt->run == NULL)
      hl_async_resource_emit_destroy(&r->res);
    r->app->live--;
    r->refs--;
  }
}

static void finish(hl_ctx_t *r) {
  finish_in(r);
}

/* maybe_free() inline (the lane's end) */
HL_INLINE void maybe_free_in(hl_ctx_t *r) {
  if (r->refs || r->running || r->phase != HL__PH_DONE)
    return;
  hl_app_t *app = r->app;
  if (r->cleanups || r->chunks) /* (r->used: the reset clears it) */
    hl__ctx_release_memory(r);
  app->held--;
  if (HL_UNLIKELY(r->hio.refs)) { /* the HTTP adapter's part holds it still */
    r->ctx_done = 1;
    return;
  }
  hl__pool_put(&app->pool, r);
}

static void maybe_free(hl_ctx_t *r) {
  maybe_free_in(r);
}

static void run(hl_ctx_t *r) {
  if (r->running)
    return;
  /* a traced request at its first function (the request stage set up, its
   * begin left to the lane; start_in() enters the lane itself, this is for a
   * start that went through stage_begin()): the traced lane; it leaves this
   * state when it hands over */
  if (r->traced && r->phase == HL__PH_FN_NEXT && r->stage == HL_STAGE_REQUEST && r->idx == 0 &&
      !r->closed) {
    tlane(r);
    return;
  }
  r->running = 1;
  for (;;) {
    switch (r->phase) {
    case HL__PH_STAGE_BEGIN:
      stage_begin(r, r->stage);
      continue;
    case HL__PH_FN_NEXT: {
      if (HL_UNLIKELY(r->closed) && r->stage != HL_STAGE_AFTER_RESPONSE) {
        r->stage_err = HL_ECLIENTGONE;
        goto stage_end;
      }
      if (r->idx >= r->total)
        goto stage_end;
      const hl__fn_t *f = stage_fn(r);
      if (r->traced)
        trace_event_begin(r, f);
      r->t_ok = 0;
      hl_value_t v = f->fn(r, f->arg);
      /* the commonest result, a function that returned nothing outside the
       * handler (no trace event to stop): on to the next, as on_value() would */
      if (v.kind == HL_VALUE_NONE && r->stage != HL_STAGE_HANDLE && !r->ev_active) {
        r->idx++;
        continue;
      }
      on_value(r, v);
      continue;
    }
    case HL__PH_STAGE_END:
    stage_end: /* an untraced stage goes straight on to the lock and the next stage */
      if (r->traced) {
        r->phase = HL__PH_STAGE_END;
        if (r->ev_active)
          trace_event_stop(r, r->stage_err);
        trace_stage_stop(r, r->stage_err);
      }
      /* fall through */
    case HL__PH_LOCK:
      if (r->lock_pending) {
        r->phase = HL__PH_LOCK;
        goto park;
      }
      next_stage(r);
      continue;
    case HL__PH_SEND:
      send_response(r);
      continue;
    case HL__PH_DONE:
      finish(r);
      goto park;
    case HL__PH_FN_WAIT:
    case HL__PH_BODY_WAIT:
    case HL__PH_SEND_WAIT:
      goto park;
    }
  }
park:
  r->running = 0;
  maybe_free(r);
}

/* ---- the untraced lane -------------------------------------------------------------
 * An untraced request goes through the stages in straight-line code, taking
 * the transitions run() would take, as long as every function returns at
 * once with nothing to decide: none (the handler: a value, the response).
 * At the first anything else (a value that cuts a stage, an error, a
 * promise), and for a missing route, a body to wait for or to parse, or the
 * client gone, r is left as the machine would have it and run() goes on from
 * there. Without trace, nothing but the functions' order and results is
 * observable, so the lane and the machine give the same answer; the lane saves
 * run()'s dispatch (a phase switch per step) and stage_begin()'s generality. */

/* One function of a stage in the lane, the j-th of the app's list (`rt` 0)
 * or of the route's (`rt` 1: its index in the stage is r->napp + j): 1 when
 * it returned none and the client is still there; 0 when the machine takes
 * over (its state set). The index is found only then: the loop around keeps
 * fewer values over the call. */
HL_INLINE int lane_fn(hl_ctx_t *r, const hl__fn_t *f, unsigned j, int rt) {
  /* r->idx is read by nothing while an untraced function runs (the machine
   * and on_value() read it): it is written when they will */
  hl_value_t v = f->fn(r, f->arg);
  if (v.kind != HL_VALUE_NONE) {
    r->idx = (rt ? r->napp : 0) + j;
    on_value(r, v); /* r->idx++, the phase */
    if (r->phase != HL__PH_FN_NEXT)
      return 0;
  } else if (HL_UNLIKELY(r->closed)) {
    r->idx = (rt ? r->napp : 0) + j + 1;
  }
  return !HL_UNLIKELY(r->closed); /* FN_NEXT or the stage's end: the machine sees `closed` */
}

/* Stage s's functions in the lane (not the handler): 1 when each returned
 * none and the client is still there; 0 when the machine takes over (its
 * state set). The app's functions, then the route's. */
HL_INLINE int lane_stage(hl_ctx_t *r, hl_stage_t s) {
  hl_app_t *app = r->app;
  const hl__fnlist_t *rl = r->route && s != HL_STAGE_REQUEST ? &r->route->stages[s] : NULL;
  unsigned napp = app->stages[s].n, nrl = rl ? rl->n : 0;
  r->stage = s;
  r->napp = napp;
  r->total = napp + nrl;
  r->phase = HL__PH_FN_NEXT;
  /* the list read at each call: a function may register more (lists only
   * grow, the stage runs the ones it began with) */
  for (unsigned j = 0; j < napp; j++)
    if (!lane_fn(r, &app->stages[s].v[j], j, 0))
      return 0;
  for (unsigned j = 0; j < nrl; j++)
    if (!lane_fn(r, &rl->v[j], j, 1))
      return 0;
  r->idx = r->total;
  return 1;
}

/* The body, when the lane asked for it: the parse stage comes next (begun by
 * the machine's STAGE_BEGIN if the lane does not go on with it). */
static void lane_body(hl__req_t *r, int status, const void *data, size_t len) {
  if (r == NULL || r->phase != HL__PH_BODY_WAIT)
    return;
  if (status < 0) {
    body_done(r, status, data, len);
    return;
  }
  r->body = data;
  r->body_len = len;
  r->stage = HL_STAGE_PARSE;
  r->phase = HL__PH_STAGE_BEGIN;
  if (!r->running) { /* it came later: the machine goes on */
    r->t_ok = 0;
    run(r);
  }
}

HL_INLINE unsigned lane_held(const hl_ctx_t *r) {
  return r->app->stage_mask | (r->route ? r->route->stage_mask : 0);
}

/* The handler in the lane: 1 when it returned a plain value (in *out) and
 * the client is still there; 0 when the machine takes over. A value
 * on_value() would only store (no promise, no error, nothing to adopt) is
 * left in *out, NOT yet in r->resp (which still holds the reset's none):
 * the caller stores it before anything can read r->resp (a function, the
 * general send), so the usual answer, which goes back to the pool at once,
 * skips the 48-byte copy; on 0 (and when the value went through on_value())
 * r->resp is set. */
HL_INLINE int lane_handle(hl_ctx_t *r, hl_value_t *out) {
  r->stage = HL_STAGE_HANDLE;
  r->napp = 0;
  r->total = 1;
  r->phase = HL__PH_FN_NEXT;
  const hl__fn_t *f = &r->route->handler;      /* (r->idx: as in lane_fn) */
  *out = f->fn(r, f->arg);                     /* (straight into the caller's variable) */
  if (HL_LIKELY(out->kind == HL_VALUE_TEXT) || /* (the usual first: one comparison) */
      (out->kind != HL_VALUE_PROMISE && out->kind != HL_VALUE_ERROR &&
       out->kind != HL_VALUE_JSON)) {
    r->idx = 1; /* what on_value() does with it (the lane has no cut, no trace) */
  } else {
    r->idx = 0;
    on_value(r, *out);
    if (r->phase != HL__PH_FN_NEXT)
      return 0;
    *out = r->resp;
  }
  if (HL_UNLIKELY(r->closed)) {
    r->resp = *out;
    return 0;
  }
  return 1;
}

/* (inline in start_in(): the dispatch makes one call for the whole lane;
 * `app`: r->app, which never changes, kept by the caller) */
HL_INLINE void lane(hl_ctx_t *r, hl_app_t *app, const char *path) {
  r->running = 1;
  /* an empty request stage: lane_stage() would only set what the reset did
   * (r->stage: the request stage; the dispatch's reset came just before) */
  if (app->stage_mask & (1u << HL_STAGE_REQUEST)) {
    if (!lane_stage(r, HL_STAGE_REQUEST))
      goto machine;
    path = NULL; /* functions ran since the dispatch: ask the transport */
  }
  /* the request stage is over: after_routing() sets the phase on every way
   * out (no STAGE_END for the machine to see first) */
  /* 1: routed, no body (the usual); else an error, a body to wait for or
   * to parse, or one that came at once */
  if (!after_routing(r, lane_body, path, 1) &&
      (r->phase != HL__PH_STAGE_BEGIN || r->body_len || r->route == NULL))
    goto machine;
  /* the stages that hold functions: lists only grow, so a stage empty now
   * may not be later; read again after functions ran (they may add some) */
  const hl_route_t *rt = r->route;
  unsigned held = app->stage_mask | rt->stage_mask;
  if (held & (1u << HL_STAGE_TRANSFORM)) {
    if (!lane_stage(r, HL_STAGE_TRANSFORM))
      goto machine;
    held = app->stage_mask | rt->stage_mask;
  }
  if (held & (1u << HL_STAGE_BEFORE_HANDLE)) {
    if (!lane_stage(r, HL_STAGE_BEFORE_HANDLE))
      goto machine;
  }
  hl_value_t v; /* the response; r->resp once stored (see lane_handle) */
  if (!lane_handle(r, &v))
    goto machine;
  held = app->stage_mask | rt->stage_mask;
  /* an empty one: the machine goes past it too */
  if (held & ((1u << HL_STAGE_AFTER_HANDLE) | (1u << HL_STAGE_MAP_RESPONSE))) {
    r->resp = v; /* their functions may read it */
    if ((held & (1u << HL_STAGE_AFTER_HANDLE)) && !lane_stage(r, HL_STAGE_AFTER_HANDLE))
      goto machine;
    held = app->stage_mask | rt->stage_mask;
    if ((held & (1u << HL_STAGE_MAP_RESPONSE)) && !lane_stage(r, HL_STAGE_MAP_RESPONSE))
      goto machine;
    held = app->stage_mask | rt->stage_mask;
    v = r->resp;
  }
  r->stage = HL_STAGE_MAP_RESPONSE; /* the phase: SEND_WAIT or SEND below */
  const hl__app_io_t *vt = r->vt;
  /* (the client is there: lane_handle() and lane_stage() answered 0 else) */
  if (HL_LIKELY(v.kind == HL_VALUE_TEXT) && r->nh == 0 && r->status == 200) {
    /* send_response() and hl__send()'s text case inline (untraced: early
     * unless an afterResponse function waits) */
    int early = !(held & (1u << HL_STAGE_AFTER_RESPONSE)), rc;
    /* the usual end (rc 2: sent, done and released) when nothing else holds
     * r (no resource of its own, the adapter's part done): what
     * send_result() and maybe_free_in() do, without the stores to r nobody
     * reads (it goes back to the pool; r->used: the reset clears it) */
#define LANE_END_FAST(cond, done)                                                                  \
  if (rc == (done) && (cond) && r->refs == 1 &&                                                    \
      ((uintptr_t)r->cleanups | (uintptr_t)r->chunks) == 0) {                                      \
    app->live--;                                                                                   \
    app->held--;                                                                                   \
    hl__pool_put(&app->pool, r);                                                                   \
    return;                                                                                        \
  }
    if (HL_LIKELY(vt == &hl__app_http_vt)) { /* the adapter's usual answer inline (http_io.h) */
      r->phase = HL__PH_SEND_WAIT;           /* (untraced: no time to forget) */
      /* (the server's code only: nothing reads r->resp until it returns) */
      /* (a NULL body: the server's fast path takes it for no bytes, as "") */
      rc = hl__app_http_lines(&r->hio, app, HL__CT_TEXT_LINE, sizeof HL__CT_TEXT_LINE - 1, v.data,
                              v.len, early);
      if (rc == 3) { /* the inline case: the adapter's part done, its refs left to us */
        LANE_END_FAST(1, 3)
        r->hio.refs = 0;
        rc = 2;
      } else {
        LANE_END_FAST(r->hio.refs == 0, 2)
      }
      r->resp = v;
    } else if (vt->respond_lines) {
      r->phase = HL__PH_SEND_WAIT;
      r->resp = v; /* (another transport: stored before its call) */
      rc = vt->respond_lines(r->io, HL__CT_TEXT_LINE, sizeof HL__CT_TEXT_LINE - 1,
                             v.data ? v.data : "", v.len, early);
      LANE_END_FAST(vt->run != NULL, 2)
    } else {
      goto general;
    }
#undef LANE_END_FAST
    send_result(r, rc == 1 ? hl__send_general(r, 1) : rc);
  } else {
  general:
    r->phase = HL__PH_SEND;
    r->resp = v;
    send_response(r);
  }
  if (r->phase == HL__PH_SEND_WAIT || r->phase == HL__PH_DONE) { /* the machine parks here too */
    r->running = 0;
    maybe_free_in(r);
    return;
  }
machine:
  r->running = 0;
  run(r);
}

/* ---- the traced lane -------------------------------------------------------------
 * A traced request's way through the stages when nothing needs deciding, as
 * lane() is an untraced one's: the same transitions run(), stage_begin() and
 * next_stage() would take, in straight-line code, with the same trace points
 * at the same places (an empty stage's begin and stop at one reading, as in
 * traced_empty_stage()). It goes on only while every function returns none
 * (the handler: a plain value), no stage stop leaves a lock to wait for, and
 * the client is there; at anything else r is left as the machine would have
 * it and run() goes on from there. It is entered once, at the request
 * stage's first function, by start_in() (or by run(), should a start's
 * stage_begin() leave that state to it): the request stage set up, its begin
 * left to the lane. Each stage is its own
 * inlined copy (tl_stage() with a constant stage), so the stage's
 * subscription, names and branches are constants. The trace points are those
 * of trace_stage_begin() ... trace_stage_stop() for a stage that is never
 * afterResponse and stops without an error, with what they would look up
 * again (the stage's first subscription, the Server-Timing record, the
 * function's metric prefix and begin) kept at hand. An event's state for the
 * machine (r->ev_active, the record's ev_begin and ev_pre) is written only
 * when a function's result goes to on_value(), which may stop the event or
 * leave it to a promise; nothing reads it while a function runs in the lane
 * (a client leaving then only sets `closed`: run() is running). */

/* The lane's trace time: tnow()'s cache (r->t, r->t_ok, kept equal for the
 * machine) in a local, 0 when stale, so that a trace point tests no field of
 * r. Inside the lane only functions make it stale (nothing else sets r->t_ok
 * while r->running), and on_value() may read the clock (an event's stop): the
 * lane takes r's time again after it. */
typedef struct {
  uint64_t t; /* 0: stale (the clock's readings are never 0) */
} tl_clock_t;

HL_INLINE uint64_t tl_now(hl_ctx_t *r, tl_clock_t *c) {
  if (!c->t) {
    c->t = r->t = hl__clock_ns();
    r->t_ok = 1;
  }
  return c->t;
}

/* A subscription walk needs the stage's first one set (see subs_of). */
HL_INLINE void tl_begin(hl_ctx_t *r, hl_stage_t s, struct hl__tsub_s *sub, struct hl__st_s *rec,
                        unsigned total, tl_clock_t *c) {
  if (sub->fn == NULL && rec == NULL)
    return;
  uint64_t t = tl_now(r, c);
  if (rec)
    rec->stage_begin = t;
  if (sub->fn)
    call_begins(r, sub, s, t, total);
}

HL_INLINE void tl_stop(hl_ctx_t *r, hl_stage_t s, struct hl__tsub_s *sub, struct hl__st_s *rec,
                       tl_clock_t *c) {
  if (sub->fn == NULL && rec == NULL)
    return;
  uint64_t t = tl_now(r, c);
  if (rec) {
    st_add_stage(r, rec, s, t - rec->stage_begin);
    if (s == HL_STAGE_MAP_RESPONSE)
      st_write(r);
  }
  if (sub->fn)
    call_stage_stops(r, sub, t, 0);
}

/* An empty stage of the lane, begun and stopped at one
 * reading (only trace code runs between), as traced_empty_stage() does: so
 * its duration is 0 and its metric the whole "0.000" one. 1: on to the next
 * stage; 0: the machine takes over (the client went away during the begin:
 * FN_NEXT, the machine stops the stage; a lock or the client gone after the
 * stop: LOCK). */
HL_INLINE int tl_empty(hl_ctx_t *r, hl_stage_t s, struct hl__tsub_s *sub, struct hl__st_s *rec,
                       tl_clock_t *c) {
  if (sub->fn != NULL || rec != NULL) {
    uint64_t t = tl_now(r, c);
    if (sub->fn)
      call_begins(r, sub, s, t, 0);
    if (HL_UNLIKELY(r->closed)) {
      if (rec)
        rec->stage_begin = t; /* for the machine's stop (nothing else reads it) */
      return 0;
    }
    r->phase = HL__PH_STAGE_END;
    if (rec) {
      st_add_stage(r, rec, s, 0);
      if (s == HL_STAGE_MAP_RESPONSE)
        st_write(r);
    }
    if (sub->fn)
      call_stage_stops(r, sub, t, 0);
  } else {
    if (HL_UNLIKELY(r->closed))
      return 0;
    r->phase = HL__PH_STAGE_END;
  }
  if (r->lock_pending || HL_UNLIKELY(r->closed)) {
    r->phase = HL__PH_LOCK;
    return 0;
  }
  return 1;
}

/* Stage s of the lane, with no error and nothing cut so far: begin it (unless
 * it is the request stage, begun by start()), run its functions, stop it.
 * 1: on to the next stage; 0: the machine takes over (its state set). */
HL_INLINE int tl_stage(hl_ctx_t *r, hl_stage_t s, struct hl__st_s *rec, int st_fns, tl_clock_t *c) {
  hl_app_t *app = r->app;
  struct hl__tsub_s *sub = &r->sub_first[s];
  const hl__fnlist_t *rl = NULL;
  unsigned napp = 0, total = 1; /* the handler */
  if (s == HL_STAGE_REQUEST) {
    /* set up by start()'s stage_begin(), which left its begin to the lane
     * (no route yet) */
    napp = total = r->total;
    if (total == 0)
      return tl_empty(r, s, sub, rec, c);
    tl_begin(r, s, sub, rec, total, c);
  } else {
    if (s != HL_STAGE_HANDLE) {
      /* read at each stage, as stage_begin(): a function may add functions;
       * parse has no body here, so no function and no built-in parser */
      hl_route_t *route = r->route;
      total = 0;
      if (s != HL_STAGE_PARSE && ((app->stage_mask | route->stage_mask) & (1u << s))) {
        rl = &route->stages[s];
        napp = app->stages[s].n;
        total = napp + rl->n;
      }
    }
    /* stage_begin() (stage_err and cut are 0: the lane goes on only then) */
    r->stage = s;
    r->idx = 0;
    r->napp = napp;
    r->total = total;
    r->phase = HL__PH_FN_NEXT;
    if (s == HL_STAGE_PARSE || total == 0) /* parse: no body here */
      return tl_empty(r, s, sub, rec, c);
    tl_begin(r, s, sub, rec, total, c);
  }
  for (unsigned i = 0;; i++) {
    if (HL_UNLIKELY(r->closed)) /* FN_NEXT: the machine stops the stage */
      return 0;
    if (i >= total)
      break;
    /* read at each call: a function may register more (lists only grow) */
    const hl__fn_t *f = s == HL_STAGE_HANDLE ? &r->route->handler
                        : i < napp           ? &app->stages[s].v[i]
                                             : &rl->v[i - napp];
    r->idx = i;
    /* the event's begin (trace_event_begin) */
    int ev = sub->fn != NULL || rec != NULL;
    uint64_t t0 = 0;
    const char *pre = f->st_pre;
    size_t pre_len = f->st_pre_len;
    if (ev) {
      t0 = tl_now(r, c);
      if (sub->fn) {
        const char *name = f->name;
        struct hl__tsub_s *x = sub;
        do
          call_event(r, x, name, i, t0);
        while ((x = x->next) != NULL);
      }
    }
    r->t_ok = 0;
    c->t = 0;
    hl_value_t v = f->fn(r, f->arg);
    hl_value_kind_t k = v.kind;
    /* what on_value() does with none, and with the handler's plain value (not
     * a promise, an error, or JSON to adopt): the event stops, then the value
     * is the response (an on_stop sees the one before) */
    if (s == HL_STAGE_HANDLE ? k != HL_VALUE_PROMISE && k != HL_VALUE_ERROR && k != HL_VALUE_JSON
                             : k == HL_VALUE_NONE) {
      if (ev) { /* the event's stop (trace_event_stop) */
        uint64_t t = tl_now(r, c);
        if (st_fns)
          st_add(r, rec, pre, pre_len, t - t0);
        for (struct hl__tsub_s *x = subs_of(r, s); x; x = x->next) {
          CALL_EVENT_STOPS(r, x, t, 0);
        }
      }
      if (s == HL_STAGE_HANDLE)
        r->resp = v;
      r->idx = i + 1;
    } else {
      if (ev) { /* the event as trace_event_begin() leaves it, for the machine */
        r->ev_active = 1;
        if (rec) {
          rec->ev_begin = t0;
          rec->ev_pre = st_fns ? pre : NULL;
          rec->ev_pre_len = pre_len;
        }
      }
      on_value(r, v); /* r->idx++, the phase */
      if (r->phase != HL__PH_FN_NEXT)
        return 0;
      c->t = r->t_ok ? r->t : 0; /* (its event's stop read the clock) */
    }
  }
  /* the stage's end: the machine's STAGE_END, then LOCK */
  r->phase = HL__PH_STAGE_END;
  tl_stop(r, s, sub, rec, c);
  if (r->lock_pending || HL_UNLIKELY(r->closed)) {
    r->phase = HL__PH_LOCK;
    return 0;
  }
  return 1;
}

/* The lane's answer: send_response(), except that a plain 200 text whose
 * only header is the app's own Server-Timing (st_write()'s, untouched since:
 * the same name and value pointers) goes to the transport's respond_lines
 * with that header as a ready line, then the default Content-Type's: what the
 * general path writes for that header array (the set headers in order, then
 * the value's Content-Type). The value is valid by construction (tokens,
 * digits, ".;=, "). Copied: it stays the context's NUL-terminated header. */
/* The line's fixed parts, padded to whole 16-byte moves (the copy reads and
 * writes a few bytes past each; the buffer has the room). */
static const char tl_st_head[16] = "Server-Timing: ";
static const char tl_st_tail[48] = "\r\n" HL__CT_TEXT_LINE;
#define TL_ST_HEAD_LEN 15
#define TL_ST_TAIL_LEN (2 + sizeof HL__CT_TEXT_LINE - 1)
HL_INLINE void tl_send(hl_ctx_t *r) {
  const hl_value_t *v = &r->resp;
  if (v->kind == HL_VALUE_TEXT && r->nh == 1 && r->status == 200 && (r->own_set & 1) &&
      r->hdrs[0].value == r->own_hv[0] && r->hdrs[0].name == r->own_hn[0] && r->vt->respond_lines &&
      !r->closed) {
    size_t vl = r->own_hv_len[0];
    size_t llen = TL_ST_HEAD_LEN + vl + TL_ST_TAIL_LEN;
    char *lines = hl__ctx_alloc_fast(r, llen + sizeof tl_st_tail - TL_ST_TAIL_LEN);
    if (lines) {
      memcpy(lines, tl_st_head, sizeof tl_st_head);
      memcpy(lines + TL_ST_HEAD_LEN, r->own_hv[0], vl);
      memcpy(lines + TL_ST_HEAD_LEN + vl, tl_st_tail, sizeof tl_st_tail);
      r->phase = HL__PH_SEND_WAIT; /* as send_response() */
      r->t_ok = 0;
      int rc = r->vt->respond_lines(r->io, lines, llen, v->data ? v->data : "", v->len, 0);
      if (rc != 1) {
        send_result(r, rc);
        return;
      }
    }
  }
  send_response(r);
}

__attribute__((noinline)) static void tlane(hl_ctx_t *r) {
  struct hl__st_s *rec = r->st;
  int st_fns = rec && (r->app->st_opts & HL_SERVER_TIMING_FUNCTIONS);
  tl_clock_t c = {r->t_ok ? r->t : 0};
  r->running = 1;
  if (!tl_stage(r, HL_STAGE_REQUEST, rec, st_fns, &c))
    goto machine;
  /* the body, if here already: stage PARSE, phase STAGE_BEGIN */
  after_routing(r, lane_body, NULL, 0);
  if (r->phase != HL__PH_STAGE_BEGIN || r->body_len || r->route == NULL)
    goto machine; /* an error, a body to wait for or to parse */
  if (!tl_stage(r, HL_STAGE_PARSE, rec, st_fns, &c) ||
      !tl_stage(r, HL_STAGE_TRANSFORM, rec, st_fns, &c) ||
      !tl_stage(r, HL_STAGE_BEFORE_HANDLE, rec, st_fns, &c) ||
      !tl_stage(r, HL_STAGE_HANDLE, rec, st_fns, &c) ||
      !tl_stage(r, HL_STAGE_AFTER_HANDLE, rec, st_fns, &c) ||
      !tl_stage(r, HL_STAGE_MAP_RESPONSE, rec, st_fns, &c))
    goto machine;
  r->phase = HL__PH_SEND; /* next_stage() after mapResponse */
  tl_send(r);
  if (r->phase == HL__PH_SEND_WAIT) { /* the machine parks here too */
    r->running = 0;
    maybe_free_in(r);
    return;
  }
machine:
  r->running = 0;
  run(r);
}

/* ---- the transport's side ------------------------------------------------------------ */
/* (inline in hl_app_http_request; start() for run()) `app`: r->app;
 * `path`: the request's path as the transport gave it to the dispatch, or
 * NULL; `t0`: its clock reading (see hl__app_dispatch_at), 0: none */
HL_INLINE void start_in(hl_ctx_t *r, hl_app_t *app, const char *path, uint64_t t0) {
  if (!app->traced) { /* (app->ntraces || app->st_on) */
    lane(r, app, path);
    return;
  }
  r->traced = 1;
  r->t = t0; /* the dispatch's reading, if any (an untraced request reads no time) */
  r->t_ok = t0 != 0;
#pragma GCC unroll 16
  for (int i = 0; i < HL_STAGE_COUNT; i++) /* no subscription yet: one store each */
    r->sub_first[i].fn = NULL;
  /* the trace parameter's start time is also the request stage's begin:
   * only trace functions run in between */
  r->start = tnow(r);
  r->st = NULL; /* (not cleared by the reset: read by traced requests only) */
  if (app->st_on && (r->st = hl__ctx_alloc_fast(r, sizeof(*r->st))) != NULL) {
    struct hl__st_s *rec = r->st;
    rec->n = 0;
    rec->written = rec->failed = 0;
    rec->buf = rec->w = rec->inl;
    rec->end = rec->inl + sizeof(rec->inl);
    rec->ev_pre = NULL;
  }
  for (unsigned i = 0; i < app->ntraces; i++) {
    hl_trace_t *t = hl__ctx_alloc_fast(r, sizeof(*t));
    if (t == NULL)
      break;
    t->id = r->id;
    t->ctx = r;
    t->store = app->store;
    t->time = r->start;
    t->req = r;
    t->subs = r->sub_first; /* (hl_trace_on()'s inline path) */
    app->traces[i].fn(t, app->traces[i].arg);
  }
  if (HL_LIKELY(!r->closed && !r->running)) {
    /* stage_begin()'s traced request stage, then what run() does with it:
     * the traced lane */
    r->idx = 0;
    r->stage_err = 0;
    r->cut = 0;
    r->phase = HL__PH_FN_NEXT;
    r->stage = HL_STAGE_REQUEST;
    r->napp = r->total = app->stages[HL_STAGE_REQUEST].n;
    tlane(r);
    return;
  }
  stage_begin(r, HL_STAGE_REQUEST);
  run(r);
}

static void start(void *arg) {
  hl_ctx_t *r = arg;
  r->started = 1; /* (dispatch_run: the transport's run() called us) */
  start_in(r, r->app, NULL, r->t);
}

int hl__app_dispatch(hl_app_t *app, const hl__app_io_t *vt, void *io, hl__req_t **out) {
  return hl__app_dispatch_at(app, vt, io, out, 0);
}

/* A transport's table is const: checked once per app. 0 or HL_EINVAL. */
HL_INLINE int vt_check(hl_app_t *app, const hl__app_io_t *vt) {
  if (HL_LIKELY(vt == app->vt_ok))
    return 0;
  if (vt->method == NULL || vt->path == NULL || vt->header == NULL || vt->header_at == NULL ||
      vt->read_body == NULL || vt->respond == NULL || vt->respond_file == NULL ||
      vt->stream_start == NULL || vt->stream_write == NULL || vt->stream_end == NULL ||
      vt->query == NULL)
    return HL_EINVAL;
  app->vt_ok = vt;
  return 0;
}

/* A reset request (hl__ctx_reset, r->app set: the HTTP adapter's object
 * has it from hl__app_http_ctx_get/new) set up for the transport's io and
 * linked in; nothing runs yet (r->phase: HL__PH_FN_WAIT, the reset's). The
 * method and the trace's t0 are the caller's. */
HL_INLINE void dispatch_init(hl_ctx_t *r, hl_app_t *app, const hl__app_io_t *vt, void *io) {
  r->vt = vt;
  r->io = io;
  r->id = ++app->next_id;
  r->refs = 1; /* the lifecycle's, dropped in finish() */
  app->held++;
  app->live++;
}

/* The method through the transport's table (the generic dispatch). */
static void dispatch_method(hl_ctx_t *r) {
  const char *m = r->vt->method(r->io);
  r->method = m;
  /* GET, the commonest, without a call */
  r->mbit =
      m && m[0] == 'G' && m[1] == 'E' && m[2] == 'T' && m[3] == '\0' ? HL_GET : hl_method_bit(m);
}

/* A request that never started: no release, no afterResponse; back to the
 * pool once nothing holds it (maybe_free: an HTTP adapter's part may). */
static void never_started(hl_ctx_t *r) {
  r->io = NULL;
  r->app->live--;
  r->refs = 0;
  r->phase = HL__PH_DONE;
  maybe_free(r);
}

/* Start an initialized request through the transport's run() (or its own
 * resource). A nonzero result: nothing started (see never_started; *out, if
 * given, cleared), or what run() said after start() ran. */
static int dispatch_run(hl_ctx_t *r, hl__req_t **out) {
  const hl__app_io_t *vt = r->vt;
  int rc;
  if (vt->run == NULL &&
      (rc = hl_async_resource_init(r->app->loop, &r->res, "HLAPPREQUEST", HL_DEFAULT_TRIGGER, 0))) {
    if (out)
      *out = NULL;
    never_started(r);
    return rc;
  }
  r->refs++; /* keep r while the transport's run() unwinds */
  rc = vt->run ? vt->run(r->io, start, r) : hl_async_resource_run(&r->res, start, r);
  r->refs--;
  if (rc == HL_ERAISED)
    rc = 0;
  if (rc != 0 && !r->started) { /* run() refused (not in the request's context) */
    if (vt->run == NULL)
      hl_async_resource_emit_destroy(&r->res);
    if (out)
      *out = NULL;
    never_started(r);
    return rc;
  }
  maybe_free(r);
  return rc;
}

int hl__app_dispatch_at(hl_app_t *app, const hl__app_io_t *vt, void *io, hl__req_t **out,
                        uint64_t t0) {
  if (app == NULL || vt == NULL || io == NULL)
    return HL_EINVAL;
  if (vt_check(app, vt) != 0)
    return HL_EINVAL;
  hl_ctx_t *r = hl__pool_get(&app->pool);
  if (r == NULL)
    return HL_ENOMEM;
  hl__ctx_reset(r);
  r->app = app;
  dispatch_init(r, app, vt, io);
  dispatch_method(r);
  r->t = t0;           /* start()'s first trace reading, when given */
  r->hio.has_body = 1; /* a body to read through the transport (see after_routing) */
  if (out)
    *out = r;
  return dispatch_run(r, out);
}

int hl__app_dispatch_http(hl_ctx_t *r, hl_app_t *app, uint64_t t0) {
  if (vt_check(app, &hl__app_http_vt) != 0)
    return HL_EINVAL;
  dispatch_init(r, app, &hl__app_http_vt, &r->hio);
  dispatch_method(r);
  r->t = t0;
  return dispatch_run(r, NULL);
}

/* The HTTP server's request callback (the app's own server, or one the app is
 * attached to), here so that the dispatch and the lane are inline in it: the
 * request with its adapter part (http_io.h: one pooled object), the checks
 * of hl_app_handle(), the close callback's registration and what the
 * dispatch needs in one server call (the server's reading when it parsed the
 * headers, just before calling us: a traced request starts there, one clock
 * reading less; the method and path; the body's announcement), then the
 * lifecycle's start with a direct call (it runs in the request's context
 * already, so no run() hop). */
HL_EXPORT void hl_app_http_request(hl_http_server_t *server, hl_http_req_t *req,
                                   hl_http_res_t *res) {
  if (server == NULL || server->data == NULL) {
    hl__app_http_answer_500(res);
    return;
  }
  hl_app_t *app = server->data;
  hl_ctx_t *r = hl__app_http_ctx_get(app, res);
  if (r == NULL)
    return;
  hio_t *io = &r->hio;
  hl__http_app_begin_t b; /* (all set on success) */
  int has_body = hl__http_req_app_begin(req, res, hl__app_http_on_close, io, &b);
  if (has_body < 0) {
    hl__app_http_ctx_drop(r);
    return;
  }
  io->req = req;
  io->res = res;
  /* The completion: a request read whole gets its close callback right after
   * the finish, in the same step, so on_close reports it and no FINISH
   * listener is needed; one with a body gets the FINISH listener (http.c) */
  if (has_body) {
    if (hl__app_http_body_on(io, req, res, 1) != 0)
      return;
  } else { /* whole now: the lifecycle need not wait for the end-of-message callback */
    io->body_end = 1;
  }
  io->refs = 2; /* the server's (until its close callback) and the app's (until release) */
  /* (the adapter's table is complete: no vt_check) */
  dispatch_init(r, app, &hl__app_http_vt, io);
  const char *m = b.method; /* the server's: a method name (3 letters at least, and the NUL) */
  static const char get[4] = "GET";
  uint32_t w, g;
  memcpy(&w, m, 4); /* GET, the commonest, with one comparison */
  memcpy(&g, get, 4);
  r->method = m;
  r->mbit = w == g ? HL_GET : hl_method_bit(m);
  start_in(r, app, b.path, b.t0); /* nothing touches r after it */
}

static void closed_in_ctx(void *arg) {
  hl_ctx_t *r = arg;
  if (!r->running)
    r->t_ok = 0; /* resumed after a wait: the cached trace time is stale */
  switch (r->phase) {
  case HL__PH_FN_WAIT: /* abandon the function's promise */
    r->waiting = r->waiting_next = NULL;
    if (r->ev_active)
      trace_event_stop(r, HL_ECLIENTGONE);
    r->stage_err = HL_ECLIENTGONE;
    r->phase = HL__PH_STAGE_END;
    break;
  case HL__PH_BODY_WAIT:
  case HL__PH_SEND_WAIT:
    r->streaming = 0;
    if (r->traced && !((r->app->stage_mask | (r->route ? r->route->stage_mask : 0)) &
                       (1u << HL_STAGE_AFTER_RESPONSE))) {
      /* a traced request's usual end: stage_begin()'s empty afterResponse
       * inline, then, when that leaves nothing to wait for, what run() does
       * at DONE */
      r->idx = 0;
      r->stage_err = 0;
      r->cut = 0;
      r->phase = HL__PH_FN_NEXT;
      r->stage = HL_STAGE_AFTER_RESPONSE;
      r->napp = r->total = 0;
      traced_empty_after_response_in(r);
      if (r->phase == HL__PH_DONE && !r->running) {
        r->running = 1;
        finish_in(r);
        r->running = 0;
        maybe_free_in(r);
        return;
      }
      break;
    }
    stage_begin(r, HL_STAGE_AFTER_RESPONSE);
    break;
  default: /* running or waiting for the lock: the transition sees `closed` */
    break;
  }
  run(r);
}

void hl__app_io_closed(hl__req_t *r, int status) {
  if (r == NULL || r->closed || r->phase == HL__PH_DONE)
    return;
  r->closed = 1;
  r->close_status = status;
  /* The untraced common end: the response is out and the request has no
   * afterResponse function; what closed_in_ctx() and run() would do, an
   * empty afterResponse stage and the end, in a few stores. */
  if (r->phase == HL__PH_SEND_WAIT && !r->running && !r->traced && r->vt->run &&
      !(lane_held(r) & (1u << HL_STAGE_AFTER_RESPONSE))) {
    r->streaming = 0;
    r->stage = HL_STAGE_AFTER_RESPONSE;
    r->idx = r->napp = r->total = 0;
    r->phase = HL__PH_DONE;
    finish(r);
    maybe_free(r);
    return;
  }
  if (r->running || r->vt->run) {
    closed_in_ctx(r);
    return;
  }
  r->refs++;
  hl_async_resource_run(&r->res, closed_in_ctx, r);
  r->refs--;
  maybe_free(r);
}

HL_EXPORT int hl_ctx_stream_write(hl_ctx_t *r, const void *data, size_t len) {
  if (r == NULL || (data == NULL && len))
    return HL_EINVAL;
  if (!r->streaming || r->closed)
    return HL_ESTATE;
  return r->vt->stream_write(r->io, data, len);
}

HL_EXPORT int hl_ctx_stream_end(hl_ctx_t *r) {
  if (r == NULL)
    return HL_EINVAL;
  int rc = HL_ESTATE;
  if (r->streaming && !r->closed) {
    r->streaming = 0;
    rc = r->vt->stream_end(r->io);
  }
  if (r->stream_ref) {
    r->stream_ref = 0;
    r->refs--;
    if (r->running) /* ended from inside the stream function */
      return rc;
    maybe_free(r);
  }
  return rc;
}

/* ---- Server-Timing's formatting ------------------------------------------------------ */
/* Milliseconds with three decimals ("0.042"). Under 10 ms (the usual
 * case): the microseconds' four digits from two table pairs, one division
 * by a constant each (multiply-shift). */
HL_INLINE char *st_put_ms(char *w, uint64_t ns) {
  static const char d2[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536"
      "37383940414243444546474849505152535455565758596061626364656667686970717273"
      "7475767778798081828384858687888990919293949596979899";
  uint64_t us = ns / 1000;
  if (HL_LIKELY(us < 10000)) {
    unsigned u = (unsigned)us, hi = u / 100, lo = u - hi * 100;
    const char *h = d2 + 2 * hi; /* the ms digit and the first decimal */
    w[0] = h[0];
    w[1] = '.';
    w[2] = h[1];
    memcpy(w + 3, d2 + 2 * lo, 2);
    return w + 5;
  }
  uint64_t ms = us / 1000;
  unsigned frac = (unsigned)(us - ms * 1000), hi = frac / 100, lo = frac - hi * 100;
  char tmp[24];
  int n = 0;
  do
    tmp[n++] = (char)('0' + ms % 10);
  while ((ms /= 10) != 0);
  while (n)
    *w++ = tmp[--n];
  w[0] = '.';
  w[1] = (char)('0' + hi);
  memcpy(w + 2, d2 + 2 * lo, 2);
  return w + 4;
}

char *hl__st_put_ms(char *w, uint64_t ns) {
  return st_put_ms(w, ns);
}

/* The header, set once the mapResponse (or error) stage stopped: the text so
 * far. Once set, the text is not appended to in place (see st_add_slow). */
static void st_write(hl_ctx_t *r) {
  struct hl__st_s *rec = r->st;
  if (rec->n == 0 || rec->failed)
    return;
  char *buf = rec->buf, *w = rec->w;
  *w = '\0';
  rec->written = 1;
  rec->end = w; /* the next metric goes into a copy */
  static const char name[] = "Server-Timing";
  int rc;
  if (r->caph == 0) { /* no header set yet (the common case): the array made here, as
                       * set_header() makes it, with this one in it */
    hl_header_t *h = hl__ctx_alloc_fast(r, HL__HDR_CAP0 * sizeof(*h));
    rc = HL_ENOMEM;
    if (h) {
      h[0].name = name;
      h[0].value = buf + 2;
      r->hdrs = h;
      r->caph = HL__HDR_CAP0;
      r->nh = 1;
      rc = 0;
    }
  } else {
    rc = hl__ctx_set_header_owned(r, name, buf + 2);
  }
  if (rc == 0) { /* the value starts after the first ", " */
    r->own_hn[0] = name;
    r->own_hn_len[0] = sizeof name - 1;
    r->own_hv[0] = buf + 2;
    r->own_hv_len[0] = (size_t)(w - buf - 2);
    r->own_set |= 1;
  }
}

HL_EXPORT int hl_app_server_timing(hl_app_t *app, unsigned options) {
  if (app == NULL || (options & ~(unsigned)HL_SERVER_TIMING_FUNCTIONS))
    return HL_EINVAL;
  app->st_on = 1;
  app->traced = 1;
  app->st_opts = options;
  return 0;
}
