/* src/res/promise.c - PROMISE resources: settle, then/catch/finally,
 * adoption, all/race/any/all_settled, unhandled rejections, and lifetime.
 *
 * Reactions are pooled microtask jobs. A reaction with a user handler runs on
 * the shared execution-context path (hl__push/hl__pop) with the chained
 * promise's id and frame, so before/after wrap it and async-local storage is
 * the one current at `then`. A raise inside a handler rejects the chained
 * promise instead of being uncaught.
 *
 * Ownership: a value belongs to the promise it was settled on (its `owner`);
 * promises that pass it through hold a reference to the owner. A promise is
 * freed by the sweep at the end of a drain once it is settled and nothing
 * holds it (user retains, queued reactions, owners, the unhandled list).
 */
#include <string.h>
#include "../core/internal.h"

enum { HL__R_THEN, HL__R_FINALLY, HL__R_ADOPT, HL__R_ALL, HL__R_RACE, HL__R_ANY, HL__R_SETTLED };

typedef struct hl__combo_s hl__combo_t;

struct hl_promise_s {
  hl_promise_t *sweep_next; /* first: the pool's link while free */
  hl__loop_t *L;
  hl__async_t async;
  uint8_t state, locked, handled, in_sweep, in_unhandled, reported, chained, hidden;
  uint32_t refs;
  void *value;
  hl_free_fn dtor;
  hl_promise_t *owner; /* who frees value: itself, or a promise it holds */
  struct hl__reaction_s *rhead, *rtail;
  hl_promise_t *unh_next;
};

typedef struct hl__reaction_s {
  hl__job_t job; /* first: pool link and microtask link */
  struct hl__reaction_s *next;
  hl_promise_t *parent; /* referenced once queued */
  hl_promise_t *target; /* referenced */
  uint8_t kind, embedded;
  void *arg;
  union {
    struct {
      hl_then_fn on_ful, on_rej;
    } then;
    hl_fn on_fin;
    struct {
      hl__combo_t *combo;
      size_t index;
    } combo;
  } u;
} hl__reaction_t;

/* What then/catch/finally return: the chained promise and its reaction. */
typedef struct hl__chained_s {
  hl_promise_t p; /* first: the pool link */
  hl__reaction_t rx;
} hl__chained_t;

struct hl__combo_s {
  int kind;
  uint32_t refs; /* reactions not yet run */
  hl_promise_t *result;
  size_t n, remaining;
  hl_promise_t *inputs[];
};

static void hl__p_reaction_run(hl__loop_t *L, hl__job_t *job);

static void hl__p_pools(hl__loop_t *L) {
  if (HL_UNLIKELY(!L->promise_pool.size)) {
    hl__pool_init(&L->promise_pool, sizeof(hl_promise_t), 128);
    hl__pool_init(&L->chained_pool, sizeof(hl__chained_t), 128);
    hl__pool_init(&L->reaction_pool, sizeof(hl__reaction_t), 128);
  }
}

static hl_promise_t *hl__p_alloc(hl__loop_t *L, hl_async_id_t trigger, int chained) {
  hl__p_pools(L);
  hl_promise_t *p = hl__pool_get(chained ? &L->chained_pool : &L->promise_pool);
  if (!p)
    return NULL;
  p->L = L;
  p->state = HL_PROMISE_PENDING;
  p->locked = p->handled = p->in_sweep = p->in_unhandled = p->reported = 0;
  p->chained = (uint8_t)chained;
  p->hidden = 0;
  p->refs = 0;
  p->value = NULL;
  p->dtor = NULL;
  p->owner = NULL;
  p->rhead = p->rtail = NULL;
  hl__async_init(L, &p->async, "PROMISE", trigger, p);
  return p;
}

static void hl__p_free(hl_promise_t *p);

static void hl__p_maybe_sweep(hl_promise_t *p) {
  if (p->refs == 0 && p->state != HL_PROMISE_PENDING && !p->in_sweep) {
    /* A chained promise whose pointer was never handed out (then without
     * `out`): nothing can reach it any more, so it goes now, not at the sweep. */
    if (p->hidden && !p->L->closing_promises) {
      hl__p_free(p);
      return;
    }
    hl__loop_t *L = p->L;
    p->in_sweep = 1;
    p->sweep_next = L->sweep;
    L->sweep = p;
    L->npending++;
  }
}

static void hl__p_unref(hl_promise_t *p) {
  if (p->L->closing_promises)
    return;
  p->refs--;
  hl__p_maybe_sweep(p);
}

static void hl__p_free(hl_promise_t *p) {
  hl__loop_t *L = p->L;
  if (p->owner == p) {
    if (p->dtor)
      p->dtor(p->value);
  } else if (p->owner) {
    hl__p_unref(p->owner);
  }
  hl__async_end(L, &p->async, p, p->chained ? &L->chained_pool : &L->promise_pool);
}

static void hl__p_unhandled_add(hl_promise_t *p) {
  hl__loop_t *L = p->L;
  p->in_unhandled = 1;
  p->refs++;
  p->unh_next = NULL;
  if (L->unhandled_tail)
    L->unhandled_tail->unh_next = p;
  else
    L->unhandled_head = p;
  L->unhandled_tail = p;
  L->npending++;
}

/* Settle p. `owner` owns value (p itself, or another promise p now holds). */
static void hl__p_settle(hl_promise_t *p, int state, void *value, hl_free_fn dtor,
                         hl_promise_t *owner, int emit_resolve) {
  hl__loop_t *L = p->L;
  p->locked = 1;
  p->state = (uint8_t)state;
  p->value = value;
  p->dtor = dtor;
  p->owner = owner;
  if (owner && owner != p)
    owner->refs++;
  if (emit_resolve && HL_UNLIKELY(L->hook_fields[HL__F_PROMISE_RESOLVE]))
    hl__emit_inline(L, HL__F_PROMISE_RESOLVE, p->async.id);
  hl__reaction_t *r = p->rhead;
  p->rhead = p->rtail = NULL;
  while (r) {
    hl__reaction_t *next = r->next;
    r->parent = p;
    p->refs++;
    hl__microtask_push(L, &r->job);
    r = next;
  }
  if (state == HL_PROMISE_REJECTED && !p->handled)
    hl__p_unhandled_add(p);
  hl__p_maybe_sweep(p);
}

/* Settle p with src's state and value (pass-through, adoption). */
static void hl__p_follow(hl_promise_t *p, hl_promise_t *src, int emit_resolve) {
  hl__p_settle(p, src->state, src->value, src->dtor, src->owner ? src->owner : src, emit_resolve);
}

static int hl__p_check(const hl_promise_t *p) {
  return p && p->L && (p->async.flags & HL__A_LIVE) ? 0 : HL_EINVAL;
}

HL_EXPORT int hl_promise_new(hl_loop_t *loop, hl_promise_t **out) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !out)
    return HL_EINVAL;
  hl_promise_t *p = hl__p_alloc(L, -1, 0);
  if (!p)
    return HL_ENOMEM;
  *out = p;
  return 0;
}

HL_EXPORT int hl_promise_resolve(hl_promise_t *p, void *value, hl_free_fn dtor) {
  if (hl__p_check(p))
    return HL_EINVAL;
  if (p->locked)
    return HL_EALREADY;
  hl__p_settle(p, HL_PROMISE_FULFILLED, value, dtor, p, 1);
  return 0;
}

HL_EXPORT int hl_promise_reject(hl_promise_t *p, void *reason, hl_free_fn dtor) {
  if (hl__p_check(p))
    return HL_EINVAL;
  if (p->locked)
    return HL_EALREADY;
  hl__p_settle(p, HL_PROMISE_REJECTED, reason, dtor, p, 1);
  return 0;
}

HL_EXPORT int hl_promise_reject_error(hl_promise_t *p, int code, const char *fmt, ...) {
  if (hl__p_check(p))
    return HL_EINVAL;
  if (p->locked)
    return HL_EALREADY;
  va_list ap;
  va_start(ap, fmt);
  hl_error_t *e = hl_error_newv(code, fmt, ap);
  va_end(ap);
  if (!e)
    return HL_ENOMEM;
  hl__p_settle(p, HL_PROMISE_REJECTED, e, hl_error_free, p, 1);
  return 0;
}

/* Attach reaction r (filled in by the caller) to p: queued at once if p is
 * settled. */
static void hl__p_attach(hl_promise_t *p, hl__reaction_t *r) {
  hl__loop_t *L = p->L;
  r->job.run = hl__p_reaction_run;
  r->next = NULL;
  if (r->target)
    r->target->refs++;
  if (HL_UNLIKELY(p->reported && !p->handled) && L->proc) /* a late handler */
    hl__proc_rejection_handled(L, p);
  p->handled = 1;
  if (p->state == HL_PROMISE_PENDING) {
    r->parent = NULL;
    if (p->rtail)
      p->rtail->next = r;
    else
      p->rhead = r;
    p->rtail = r;
  } else {
    r->parent = p;
    p->refs++;
    hl__microtask_push(L, &r->job);
  }
}

/* A pooled reaction for adoption and the combinators. */
static hl__reaction_t *hl__p_rx_new(hl__loop_t *L, int kind, hl_promise_t *target) {
  hl__reaction_t *r = hl__pool_get(&L->reaction_pool);
  if (!r)
    return NULL;
  r->kind = (uint8_t)kind;
  r->embedded = 0;
  r->target = target;
  r->arg = NULL;
  return r;
}

HL_EXPORT int hl_promise_resolve_promise(hl_promise_t *p, hl_promise_t *other) {
  if (hl__p_check(p) || hl__p_check(other) || p->L != other->L || p == other)
    return HL_EINVAL;
  if (p->locked)
    return HL_EALREADY;
  hl__reaction_t *r = hl__p_rx_new(p->L, HL__R_ADOPT, p);
  if (!r)
    return HL_ENOMEM;
  hl__p_attach(other, r);
  p->locked = 1;
  if (HL_UNLIKELY(p->L->hook_fields[HL__F_PROMISE_RESOLVE]))
    hl__emit(p->L, HL__F_PROMISE_RESOLVE, p->async.id);
  return 0;
}

static int hl__p_chain(hl_promise_t *p, int kind, hl_then_fn ful, hl_then_fn rej, hl_fn fin,
                       void *arg, hl_promise_t **out) {
  if (hl__p_check(p))
    return HL_EINVAL;
  hl_promise_t *d = hl__p_alloc(p->L, p->async.id, 1);
  if (!d)
    return HL_ENOMEM;
  hl__reaction_t *r = &((hl__chained_t *)d)->rx;
  r->kind = (uint8_t)kind;
  r->embedded = 1;
  r->target = d;
  r->arg = arg;
  if (kind == HL__R_FINALLY) {
    r->u.on_fin = fin;
  } else {
    r->u.then.on_ful = ful;
    r->u.then.on_rej = rej;
  }
  hl__p_attach(p, r);
  if (out)
    *out = d;
  else
    d->hidden = 1;
  return 0;
}

HL_EXPORT int hl_promise_then(hl_promise_t *p, hl_then_fn on_fulfilled, hl_then_fn on_rejected,
                              void *arg, hl_promise_t **out) {
  return hl__p_chain(p, HL__R_THEN, on_fulfilled, on_rejected, NULL, arg, out);
}

HL_EXPORT int hl_promise_catch(hl_promise_t *p, hl_then_fn on_rejected, void *arg,
                               hl_promise_t **out) {
  return hl__p_chain(p, HL__R_THEN, NULL, on_rejected, NULL, arg, out);
}

HL_EXPORT int hl_promise_finally(hl_promise_t *p, hl_fn on_finally, void *arg, hl_promise_t **out) {
  if (!on_finally)
    return HL_EINVAL;
  return hl__p_chain(p, HL__R_FINALLY, NULL, NULL, on_finally, arg, out);
}

/* ---- combinators ---------------------------------------------------------- */

/* The value arrays hold references to the input promises that own the values. */
static void hl__values_free(void *v) {
  hl_promise_values_t *vals = v;
  hl_promise_t **holders = (hl_promise_t **)&vals->values[vals->n];
  for (size_t i = 0; i < vals->n; i++)
    hl__p_unref(holders[i]);
  hl__free(vals);
}

static void hl__settled_free(void *v) {
  hl_promise_settled_t *s = v;
  hl_promise_t **holders = (hl_promise_t **)&s->outcomes[s->n];
  for (size_t i = 0; i < s->n; i++)
    hl__p_unref(holders[i]);
  hl__free(s);
}

static hl_promise_values_t *hl__values_new(hl__combo_t *c) {
  hl_promise_values_t *v =
      hl__malloc(sizeof *v + c->n * sizeof(void *) + c->n * sizeof(hl_promise_t *));
  if (!v)
    return NULL;
  v->n = c->n;
  hl_promise_t **holders = (hl_promise_t **)&v->values[c->n];
  for (size_t i = 0; i < c->n; i++) {
    v->values[i] = c->inputs[i]->value;
    holders[i] = c->inputs[i];
    c->inputs[i]->refs++;
  }
  return v;
}

static void hl__combo_release(hl__combo_t *c) {
  if (--c->refs > 0)
    return;
  for (size_t i = 0; i < c->n; i++)
    hl__p_unref(c->inputs[i]);
  hl__p_unref(c->result);
  hl__free(c);
}

static void hl__combo_finish(hl__combo_t *c) {
  hl_promise_t *res = c->result;
  if (res->locked)
    return;
  if (c->kind == HL__R_ALL) {
    hl_promise_values_t *v = hl__values_new(c);
    if (v)
      hl__p_settle(res, HL_PROMISE_FULFILLED, v, hl__values_free, res, 1);
    else
      hl__p_settle(res, HL_PROMISE_REJECTED, hl__oom_error(), hl_error_free, res, 1);
  } else if (c->kind == HL__R_ANY) {
    hl_error_t *e = hl_error_new(HL_EAGGREGATE, "All promises were rejected");
    hl_promise_values_t *v = e ? hl__values_new(c) : NULL;
    if (!v) {
      hl_error_free(e);
      hl__p_settle(res, HL_PROMISE_REJECTED, hl__oom_error(), hl_error_free, res, 1);
      return;
    }
    e->detail = v;
    e->detail_free = hl__values_free;
    hl__p_settle(res, HL_PROMISE_REJECTED, e, hl_error_free, res, 1);
  } else if (c->kind == HL__R_SETTLED) {
    hl_promise_settled_t *s =
        hl__malloc(sizeof *s + c->n * sizeof(hl_promise_outcome_t) + c->n * sizeof(hl_promise_t *));
    if (!s) {
      hl__p_settle(res, HL_PROMISE_REJECTED, hl__oom_error(), hl_error_free, res, 1);
      return;
    }
    s->n = c->n;
    hl_promise_t **holders = (hl_promise_t **)&s->outcomes[c->n];
    for (size_t i = 0; i < c->n; i++) {
      s->outcomes[i].state = (hl_promise_state_t)c->inputs[i]->state;
      s->outcomes[i].value = c->inputs[i]->value;
      holders[i] = c->inputs[i];
      c->inputs[i]->refs++;
    }
    hl__p_settle(res, HL_PROMISE_FULFILLED, s, hl__settled_free, res, 1);
  }
}

static void hl__combo_step(hl__combo_t *c, hl_promise_t *in) {
  hl_promise_t *res = c->result;
  int ful = in->state == HL_PROMISE_FULFILLED;
  switch (c->kind) {
  case HL__R_ALL:
    if (!ful) {
      if (!res->locked)
        hl__p_follow(res, in, 1);
    } else if (--c->remaining == 0) {
      hl__combo_finish(c);
    }
    break;
  case HL__R_RACE:
    if (!res->locked)
      hl__p_follow(res, in, 1);
    break;
  case HL__R_ANY:
    if (ful) {
      if (!res->locked)
        hl__p_follow(res, in, 1);
    } else if (--c->remaining == 0) {
      hl__combo_finish(c);
    }
    break;
  default:
    if (--c->remaining == 0)
      hl__combo_finish(c);
    break;
  }
}

static int hl__combinator(hl_loop_t *loop, int kind, hl_promise_t *const *inputs, size_t n,
                          hl_promise_t **out) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !out || (n && !inputs))
    return HL_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (hl__p_check(inputs[i]) || inputs[i]->L != L)
      return HL_EINVAL;
  hl__p_pools(L);
  hl__combo_t *c = hl__malloc(sizeof *c + n * sizeof(hl_promise_t *));
  if (!c)
    return HL_ENOMEM;
  /* Take every reaction from the pool first, so a failure changes nothing. */
  hl__reaction_t **rs = n ? hl__malloc(n * sizeof *rs) : NULL;
  if (n && !rs) {
    hl__free(c);
    return HL_ENOMEM;
  }
  size_t got = 0;
  for (; got < n; got++) {
    rs[got] = hl__pool_get(&L->reaction_pool);
    if (!rs[got])
      break;
  }
  hl_promise_t *res = got == n ? hl__p_alloc(L, -1, 0) : NULL;
  if (!res) {
    while (got-- > 0)
      hl__pool_put(&L->reaction_pool, rs[got]);
    hl__free(rs);
    hl__free(c);
    return HL_ENOMEM;
  }
  c->kind = kind;
  c->refs = (uint32_t)n + 1;
  c->result = res;
  res->refs++;
  c->n = n;
  c->remaining = n;
  for (size_t i = 0; i < n; i++) {
    c->inputs[i] = inputs[i];
    inputs[i]->refs++;
    hl__reaction_t *r = rs[i];
    r->kind = (uint8_t)kind;
    r->embedded = 0;
    r->target = NULL;
    r->arg = NULL;
    r->u.combo.combo = c;
    r->u.combo.index = i;
    hl__p_attach(inputs[i], r);
  }
  hl__free(rs);
  if (n == 0)
    hl__combo_finish(c);
  *out = res;
  hl__combo_release(c);
  return 0;
}

HL_EXPORT int hl_promise_all(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n,
                             hl_promise_t **out) {
  return hl__combinator(loop, HL__R_ALL, inputs, n, out);
}

HL_EXPORT int hl_promise_race(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n,
                              hl_promise_t **out) {
  return hl__combinator(loop, HL__R_RACE, inputs, n, out);
}

HL_EXPORT int hl_promise_any(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n,
                             hl_promise_t **out) {
  return hl__combinator(loop, HL__R_ANY, inputs, n, out);
}

HL_EXPORT int hl_promise_all_settled(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n,
                                     hl_promise_t **out) {
  return hl__combinator(loop, HL__R_SETTLED, inputs, n, out);
}

/* ---- running reactions ------------------------------------------------------ */

/* A user handler, on the execution-context path of the chained promise t. */
static void hl__p_run_handler(hl__loop_t *L, hl__reaction_t *r, hl_promise_t *t, hl_promise_t *p,
                              hl_then_fn h) {
  hl_async_id_t id = t->async.id;
  hl__push(L, &t->async);
  if (h)
    h(t, p->value, r->arg);
  else
    r->u.on_fin(r->arg);
  if (L->raised) {
    hl_error_t *err = L->raised;
    L->raised = NULL;
    if (!t->locked)
      hl__p_settle(t, HL_PROMISE_REJECTED, err, hl_error_free, t, 1);
    else
      hl_error_free(err);
  } else if (!t->locked) {
    if (h)
      hl__p_settle(t, HL_PROMISE_FULFILLED, NULL, NULL, t, 1);
    else
      hl__p_follow(t, p, 1);
  }
  hl__pop(L, id);
}

static void hl__p_reaction_run(hl__loop_t *L, hl__job_t *job) {
  hl__reaction_t *r = (hl__reaction_t *)job;
  hl_promise_t *p = r->parent, *t = r->target;
  switch (r->kind) {
  case HL__R_THEN: {
    hl_then_fn h = p->state == HL_PROMISE_FULFILLED ? r->u.then.on_ful : r->u.then.on_rej;
    if (h)
      hl__p_run_handler(L, r, t, p, h);
    else if (!t->locked)
      hl__p_follow(t, p, 1);
    break;
  }
  case HL__R_FINALLY:
    hl__p_run_handler(L, r, t, p, NULL);
    break;
  case HL__R_ADOPT:
    hl__p_follow(t, p, 0);
    break;
  default:
    hl__combo_step(r->u.combo.combo, p);
    hl__combo_release(r->u.combo.combo);
    break;
  }
  /* An embedded reaction lives in t: t is only queued for the sweep here. */
  if (!r->embedded)
    hl__pool_put(&L->reaction_pool, r);
  if (t)
    hl__p_unref(t);
  hl__p_unref(p);
}

/* ---- unhandled rejections, sweep, close --------------------------------------- */

int hl__promise_process_rejections(hl__loop_t *L) {
  if (!L->unhandled_head)
    return 0;
  hl_promise_t *p;
  while ((p = L->unhandled_head) != NULL) {
    L->unhandled_head = p->unh_next;
    if (!L->unhandled_head)
      L->unhandled_tail = NULL;
    L->npending--;
    p->in_unhandled = 0;
    if (!p->handled) {
      p->reported = 1;
      hl_error_t *err;
      if (p->dtor == hl_error_free && p->value) {
        const hl_error_t *e = p->value;
        err = hl_error_new(e->code, "%s", e->message);
      } else {
        err = hl_error_new(HL_EREJECTED,
                           "This error originated either by throwing inside of an async function "
                           "without a catch block, or by rejecting a promise which was not handled "
                           "with .catch(). The promise rejected with the reason \"%p\".",
                           p->value);
      }
      hl__uncaught(L, err ? err : hl__oom_error(), HL__ORIGIN_REJECTION, p);
    }
    hl__p_unref(p);
  }
  return 1;
}

void hl__promise_sweep(hl__loop_t *L) {
  hl_promise_t *p;
  while ((p = L->sweep) != NULL) {
    L->sweep = p->sweep_next;
    p->in_sweep = 0;
    L->npending--;
    if (p->refs == 0 && p->state != HL_PROMISE_PENDING && !p->in_unhandled)
      hl__p_free(p);
  }
}

/* Every promise still alive, found by walking the pool's slabs (no list to
 * maintain per promise). */
static void hl__p_close_each(void *obj, void *arg) {
  hl_promise_t *p = obj;
  hl__loop_t *L = arg;
  if (p->L != L || !(p->async.flags & HL__A_LIVE))
    return;
  hl__reaction_t *r = p->rhead;
  while (r) {
    hl__reaction_t *next = r->next;
    if (r->kind >= HL__R_ALL && --r->u.combo.combo->refs == 0)
      hl__free(r->u.combo.combo);
    if (!r->embedded)
      hl__pool_put(&L->reaction_pool, r);
    r = next;
  }
  p->rhead = p->rtail = NULL;
  hl__p_free(p);
}

void hl__promise_close_all(hl__loop_t *L) {
  L->closing_promises = 1;
  hl__pool_each(&L->promise_pool, hl__p_close_each, L);
  hl__pool_each(&L->chained_pool, hl__p_close_each, L);
  L->sweep = NULL;
  L->unhandled_head = L->unhandled_tail = NULL;
  L->closing_promises = 0;
}

/* ---- inspection ---------------------------------------------------------------- */

HL_EXPORT hl_promise_state_t hl_promise_state(const hl_promise_t *p) {
  return p ? (hl_promise_state_t)p->state : HL_PROMISE_PENDING;
}

HL_EXPORT void *hl_promise_value(const hl_promise_t *p) {
  return p && p->state != HL_PROMISE_PENDING ? p->value : NULL;
}

HL_EXPORT const hl_error_t *hl_promise_error(const hl_promise_t *p) {
  if (p && p->state == HL_PROMISE_REJECTED && p->dtor == hl_error_free)
    return p->value;
  return NULL;
}

HL_EXPORT hl_async_id_t hl_promise_async_id(const hl_promise_t *p) {
  return p ? p->async.id : -1;
}

HL_EXPORT int hl_promise_retain(hl_promise_t *p) {
  if (hl__p_check(p))
    return HL_EINVAL;
  p->refs++;
  return 0;
}

HL_EXPORT void hl_promise_release(hl_promise_t *p) {
  if (hl__p_check(p) || p->refs == 0)
    return;
  hl__p_unref(p);
}
