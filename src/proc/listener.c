/* src/proc/listener.c - AsyncListener (Node v0.11) on top of the hooks
 * machinery: one internal hook (init/before/after/destroy), enabled while a
 * listener or a record exists, so the resource path pays nothing new.
 *
 * - init: when the current listener set is not empty, the event gets a record
 *   (pooled; up to 4 listeners inline) with the set and one storage value per
 *   listener, kept in a hash map by async id until destroy.
 * - before: a level is pushed on the listener-set stack; its set is the
 *   record's (shared until add/remove edits it: copy on write), so events
 *   queued by the callback inherit it; before callbacks run.
 * - after: after callbacks run unless the callback raised; the level is popped.
 * - hl__handle_raised (core) calls hl__al_on_error before the uncaught routing.
 * Listener callbacks run with hook_depth cleared so that hl_raise inside them
 * marks the running callback as failed instead of being fatal (as a raise in a
 * hook callback is); raises there are handled here.
 */
#include <string.h>
#include "proc.h"

#define HL__AL_INLINE 4

struct hl_async_listener_s {
  hl__loop_t *L;
  hl_async_listener_callbacks_t cb;
  void *user_data;
  uint32_t refs; /* the user's + one per record and per owned level entry */
  uint8_t destroyed;
  hl_async_listener_t *all_next, *all_prev;
};

typedef struct hl__alrec_s {
  struct hl__alrec_s *next; /* pool link, then hash chain */
  hl_async_id_t id;
  uint32_t n, refs; /* refs: the map's + one per level using it */
  hl_async_listener_t **ls;
  void **st;
  hl_async_listener_t *ls_in[HL__AL_INLINE];
  void *st_in[HL__AL_INLINE];
} hl__alrec_t;

typedef struct hl__allevel_s {
  hl_async_id_t id;
  hl__alrec_t *rec; /* the event's record (NULL: none) */
  uint8_t own;      /* v is this level's own copy */
  uint8_t raised;   /* the callback raised: no after */
  uint32_t n, cap;
  hl_async_listener_t **v;
} hl__allevel_t;

typedef struct hl__al_s {
  hl_hook_t *hook;
  uint8_t enabled;
  uint8_t in_cb; /* a listener callback runs: events it creates are not tracked */
  uint8_t in_error;
  hl__alrec_t **buckets;
  uint32_t nbuckets, nrecs;
  hl__pool_t rec_pool;
  hl__allevel_t *levels; /* [0]: top level, always own */
  uint32_t nlevels, cap_levels;
  uint32_t nlisteners;
  hl_async_listener_t *all;
  hl_error_t *skip_err; /* raised in before: error callbacks already ran */
} hl__al_t;

/* ---- listener references ---------------------------------------------------------- */

/* Freed when the last reference goes; it stays on the loop's list until then
 * (hl_loop_close frees what is left). */
static void hl__al_unref(hl_async_listener_t *l) {
  if (--l->refs)
    return;
  hl__al_t *A = l->L->proc->al;
  if (l->all_prev)
    l->all_prev->all_next = l->all_next;
  else
    A->all = l->all_next;
  if (l->all_next)
    l->all_next->all_prev = l->all_prev;
  hl__free(l);
}

static void hl__rec_release(hl__al_t *A, hl__alrec_t *r) {
  if (--r->refs)
    return;
  for (uint32_t i = 0; i < r->n; i++)
    hl__al_unref(r->ls[i]);
  if (r->ls != r->ls_in) {
    hl__free(r->ls);
    hl__free(r->st);
  }
  hl__pool_put(&A->rec_pool, r);
  A->nrecs--;
}

/* ---- the map ------------------------------------------------------------------------- */

static inline uint32_t hl__al_hash(hl__al_t *A, hl_async_id_t id) {
  return (uint32_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & (A->nbuckets - 1);
}

static int hl__map_put(hl__al_t *A, hl__alrec_t *r) {
  if (A->nrecs >= A->nbuckets) {
    uint32_t nb = A->nbuckets ? A->nbuckets * 2 : 64;
    hl__alrec_t **b = hl__calloc(nb, sizeof *b);
    if (!b)
      return HL_ENOMEM;
    hl__alrec_t **old = A->buckets;
    uint32_t on = A->nbuckets;
    A->buckets = b;
    A->nbuckets = nb;
    for (uint32_t i = 0; i < on; i++)
      for (hl__alrec_t *e = old[i], *next; e; e = next) {
        next = e->next;
        uint32_t h = hl__al_hash(A, e->id);
        e->next = b[h];
        b[h] = e;
      }
    hl__free(old);
  }
  uint32_t h = hl__al_hash(A, r->id);
  r->next = A->buckets[h];
  A->buckets[h] = r;
  return 0;
}

static hl__alrec_t *hl__map_find(hl__al_t *A, hl_async_id_t id, int unlink) {
  if (!A->nbuckets)
    return NULL;
  for (hl__alrec_t **pp = &A->buckets[hl__al_hash(A, id)]; *pp; pp = &(*pp)->next)
    if ((*pp)->id == id) {
      hl__alrec_t *r = *pp;
      if (unlink)
        *pp = r->next;
      return r;
    }
  return NULL;
}

/* ---- the current set ------------------------------------------------------------------ */

static inline hl__allevel_t *hl__top(hl__al_t *A) {
  return &A->levels[A->nlevels - 1];
}

static inline uint32_t hl__set(const hl__allevel_t *lv, hl_async_listener_t *const **v) {
  if (lv->own) {
    *v = lv->v;
    return lv->n;
  }
  if (lv->rec) {
    *v = lv->rec->ls;
    return lv->rec->n;
  }
  *v = NULL;
  return 0;
}

/* Make the level's set its own copy (before add/remove edits it). */
static int hl__own(hl__allevel_t *lv, uint32_t extra) {
  hl_async_listener_t *const *v;
  uint32_t n = hl__set(lv, &v);
  if (lv->own && lv->n + extra <= lv->cap)
    return 0;
  uint32_t cap = lv->cap ? lv->cap : 4;
  while (cap < n + extra)
    cap *= 2;
  if (lv->own) {
    hl_async_listener_t **nv = hl__realloc(lv->v, cap * sizeof *nv);
    if (!nv)
      return HL_ENOMEM;
    lv->v = nv;
    lv->cap = cap;
    return 0;
  }
  if (cap > lv->cap) {
    hl_async_listener_t **nv = hl__realloc(lv->v, cap * sizeof *nv);
    if (!nv)
      return HL_ENOMEM;
    lv->v = nv;
    lv->cap = cap;
  }
  for (uint32_t i = 0; i < n; i++) {
    lv->v[i] = v[i];
    v[i]->refs++;
  }
  lv->n = n;
  lv->own = 1;
  return 0;
}

/* ---- calling listener callbacks --------------------------------------------------------- */

/* Run a listener callback so that hl_raise inside marks the running callback
 * (L->raised) rather than being fatal as in a hook; returns the raised error,
 * taken off L->raised, or NULL. */
#define HL__AL_CALL(L, A, call)                                                                    \
  do {                                                                                             \
    uint32_t hd_ = (L)->hook_depth;                                                                \
    uint32_t dp_ = (L)->depth;                                                                     \
    (L)->hook_depth = 0;                                                                           \
    if (dp_ == 0) /* a raise at depth 0 would be uncaught at once */                               \
      (L)->depth = 1;                                                                              \
    (A)->in_cb++;                                                                                  \
    call;                                                                                          \
    (A)->in_cb--;                                                                                  \
    (L)->depth = dp_;                                                                              \
    (L)->hook_depth = hd_;                                                                         \
  } while (0)

static hl_error_t *hl__take_raised(hl__loop_t *L, hl_error_t *was) {
  if (HL_LIKELY(L->raised == was))
    return NULL;
  hl_error_t *e = L->raised;
  L->raised = was;
  return e;
}

/* Every error callback of the set (storages from rec when attached there);
 * returns 1 when one returned true. A raise inside one exits 7. */
static int hl__run_errors(hl__loop_t *L, hl__al_t *A, hl__alrec_t *rec, int lvi,
                          const hl_error_t *err) {
  int handled = 0;
  hl_error_t *was = L->raised;
  A->in_error = 1;
  if (rec)
    for (uint32_t i = 0; i < rec->n; i++) {
      hl_async_listener_t *l = rec->ls[i];
      if (l->destroyed || !l->cb.error)
        continue;
      bool r = false;
      HL__AL_CALL(L, A, r = l->cb.error(rec->st[i], err));
      if (L->raised != was)
        hl__proc_handler_failed(L);
      handled |= r;
    }
  /* listeners added to the current set during the callback; the level is
   * looked up by index (a callback may grow the level stack) */
  for (uint32_t i = 0; lvi >= 0; i++) {
    hl_async_listener_t *const *v;
    uint32_t n = hl__set(&A->levels[lvi], &v);
    if (i >= n)
      break;
    hl_async_listener_t *l = v[i];
    int seen = 0;
    for (uint32_t j = 0; rec && j < rec->n && !seen; j++)
      seen = rec->ls[j] == l;
    if (seen || l->destroyed || !l->cb.error)
      continue;
    bool r = false;
    HL__AL_CALL(L, A, r = l->cb.error(l->user_data, err));
    if (L->raised != was)
      hl__proc_handler_failed(L);
    handled |= r;
  }
  A->in_error = 0;
  return handled;
}

int hl__al_in_error(hl__loop_t *L) {
  return L->proc && L->proc->al && L->proc->al->in_error;
}

/* A raise inside create/after: error callbacks once, then uncaught. */
static void hl__hook_raise(hl__loop_t *L, hl__al_t *A, hl__alrec_t *rec, hl_error_t *err) {
  hl__run_errors(L, A, rec, -1, err);
  uint32_t hd = L->hook_depth;
  L->hook_depth = 0;
  hl__uncaught(L, err, HL__ORIGIN_EXCEPTION, NULL);
  L->hook_depth = hd;
}

/* ---- the hook ----------------------------------------------------------------------------- */

static void hl__al_init(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                        void *arg) {
  (void)type, (void)trigger, (void)res;
  hl__al_t *A = arg;
  hl_async_listener_t *const *v;
  uint32_t n = hl__set(hl__top(A), &v);
  if (n == 0 || A->in_cb)
    return;
  hl__loop_t *L = v[0]->L;
  hl__alrec_t *r = hl__pool_get(&A->rec_pool);
  if (!r)
    return; /* no memory: the event goes untracked */
  r->id = id;
  r->n = n;
  r->refs = 1;
  r->ls = r->ls_in;
  r->st = r->st_in;
  if (n > HL__AL_INLINE) {
    r->ls = hl__malloc(n * sizeof *r->ls);
    r->st = hl__malloc(n * sizeof *r->st);
    if (!r->ls || !r->st) {
      hl__free(r->ls);
      hl__free(r->st);
      hl__pool_put(&A->rec_pool, r);
      return;
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    r->ls[i] = v[i];
    v[i]->refs++;
  }
  A->nrecs++;
  if (hl__map_put(A, r)) { /* no memory: untracked */
    hl__rec_release(A, r);
    return;
  }
  hl_error_t *was = L->raised;
  for (uint32_t i = 0; i < n; i++) {
    hl_async_listener_t *l = r->ls[i];
    r->st[i] = l->user_data;
    if (l->cb.create) {
      void *s = NULL;
      HL__AL_CALL(L, A, s = l->cb.create(l->user_data));
      if (s)
        r->st[i] = s;
      hl_error_t *e = hl__take_raised(L, was);
      if (e) {
        for (uint32_t j = i + 1; j < n; j++)
          r->st[j] = r->ls[j]->user_data;
        hl__hook_raise(L, A, r, e);
        return;
      }
    }
  }
}

static void hl__al_before(hl_async_id_t id, void *arg) {
  hl__al_t *A = arg;
  if (A->nlevels == A->cap_levels) {
    uint32_t cap = A->cap_levels * 2;
    hl__allevel_t *lv = hl__realloc(A->levels, cap * sizeof *lv);
    if (!lv)
      return; /* no level: after finds a mismatched id and leaves the stack alone */
    memset(lv + A->cap_levels, 0, (cap - A->cap_levels) * sizeof *lv);
    A->levels = lv;
    A->cap_levels = cap;
  }
  hl__allevel_t *lv = &A->levels[A->nlevels++];
  hl__alrec_t *r = A->nrecs ? hl__map_find(A, id, 0) : NULL;
  lv->id = id;
  lv->rec = r;
  lv->own = 0;
  lv->raised = 0;
  lv->n = 0;
  if (!r)
    return;
  r->refs++;
  hl__loop_t *L = r->ls[0]->L;
  void *ctx = L->cur.resource;
  hl_error_t *was = L->raised;
  for (uint32_t i = 0; i < r->n; i++) {
    hl_async_listener_t *l = r->ls[i];
    if (l->destroyed || !l->cb.before)
      continue;
    HL__AL_CALL(L, A, l->cb.before(ctx, r->st[i]));
    hl_error_t *e = hl__take_raised(L, was);
    if (e) {
      /* error callbacks once; the error then propagates whatever they say */
      hl__run_errors(L, A, r, -1, e);
      if (was) {
        hl_error_free(e);
      } else {
        A->skip_err = e;
        L->raised = e;
      }
      break;
    }
  }
}

static void hl__al_maybe_disable(hl__al_t *A) {
  if (A->enabled && A->nlisteners == 0 && A->nrecs == 0 && A->nlevels == 1) {
    hl_hook_disable(A->hook);
    A->enabled = 0;
  }
}

static void hl__al_after(hl_async_id_t id, void *arg) {
  hl__al_t *A = arg;
  if (A->nlevels <= 1 || hl__top(A)->id != id)
    return; /* enabled inside this callback, or no level could be pushed */
  hl__allevel_t *lv = hl__top(A);
  hl__alrec_t *r = lv->rec;
  if (r && !lv->raised) {
    hl__loop_t *L = r->ls[0]->L;
    void *ctx = L->cur.resource;
    hl_error_t *was = L->raised;
    for (uint32_t i = 0; i < r->n; i++) {
      hl_async_listener_t *l = r->ls[i];
      if (l->destroyed || !l->cb.after)
        continue;
      HL__AL_CALL(L, A, l->cb.after(ctx, r->st[i]));
      hl_error_t *e = hl__take_raised(L, was);
      if (e) {
        hl__hook_raise(L, A, r, e);
        break;
      }
    }
  }
  lv = hl__top(A); /* reread: nothing above pushes, but be safe */
  if (lv->own)
    for (uint32_t i = 0; i < lv->n; i++)
      hl__al_unref(lv->v[i]);
  lv->own = 0;
  lv->n = 0;
  A->nlevels--;
  if (r)
    hl__rec_release(A, r);
  if (HL_UNLIKELY(A->nlisteners == 0))
    hl__al_maybe_disable(A);
}

static void hl__al_destroy(hl_async_id_t id, void *arg) {
  hl__al_t *A = arg;
  if (!A->nrecs)
    return;
  hl__alrec_t *r = hl__map_find(A, id, 1);
  if (r) {
    hl__rec_release(A, r);
    hl__al_maybe_disable(A);
  }
}

/* The raised-error path (hl__handle_raised): 1 when an error callback handled it. */
int hl__al_on_error(hl__loop_t *L, hl_error_t *err) {
  hl__al_t *A = L->proc->al;
  if (!A)
    return 0;
  if (err == A->skip_err) { /* raised in before: its error callbacks already ran */
    A->skip_err = NULL;
    return 0;
  }
  if (A->nlevels <= 1 || hl__top(A)->id != L->cur.exec_id)
    return 0;
  hl__allevel_t *lv = hl__top(A);
  lv->raised = 1;
  return hl__run_errors(L, A, lv->rec, (int)A->nlevels - 1, err);
}

/* ---- public API ------------------------------------------------------------------------------ */

static hl__al_t *hl__al_get(hl__loop_t *L) {
  hl__proc_t *P = hl__proc_get(L);
  if (!P)
    return NULL;
  if (P->al)
    return P->al;
  hl__al_t *A = hl__calloc(1, sizeof *A);
  if (!A)
    return NULL;
  A->levels = hl__calloc(8, sizeof *A->levels);
  hl_hook_callbacks_t cb = {hl__al_init, hl__al_before, hl__al_after, hl__al_destroy, NULL};
  if (!A->levels || hl_hook_create(L->pub, &cb, A, &A->hook)) {
    hl__free(A->levels);
    hl__free(A);
    return NULL;
  }
  A->cap_levels = 8;
  A->nlevels = 1;
  A->levels[0].own = 1;
  hl__pool_init(&A->rec_pool, sizeof(hl__alrec_t), 64);
  P->al = A;
  return A;
}

HL_EXPORT int hl_async_listener_create(hl_loop_t *loop,
                                       const hl_async_listener_callbacks_t *callbacks,
                                       void *user_data, hl_async_listener_t **out) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !callbacks || !out)
    return HL_EINVAL;
  hl__al_t *A = hl__al_get(L);
  if (!A)
    return HL_ENOMEM;
  if (!A->enabled) {
    int r = hl_hook_enable(A->hook);
    if (r)
      return r;
    A->enabled = 1;
  }
  hl_async_listener_t *l = hl__calloc(1, sizeof *l);
  if (!l) {
    hl__al_maybe_disable(A);
    return HL_ENOMEM;
  }
  l->L = L;
  l->cb = *callbacks;
  l->user_data = user_data;
  l->refs = 1;
  l->all_next = A->all;
  if (A->all)
    A->all->all_prev = l;
  A->all = l;
  A->nlisteners++;
  *out = l;
  return 0;
}

static int hl__in_set(const hl__allevel_t *lv, const hl_async_listener_t *l) {
  hl_async_listener_t *const *v;
  uint32_t n = hl__set(lv, &v);
  for (uint32_t i = 0; i < n; i++)
    if (v[i] == l)
      return (int)i;
  return -1;
}

HL_EXPORT int hl_async_listener_add(hl_async_listener_t *l) {
  if (!l || l->destroyed)
    return HL_EINVAL;
  hl__al_t *A = l->L->proc->al;
  hl__allevel_t *lv = hl__top(A);
  if (hl__in_set(lv, l) >= 0)
    return 0; /* adding twice is ignored */
  int r = hl__own(lv, 1);
  if (r)
    return r;
  lv->v[lv->n++] = l;
  l->refs++;
  return 0;
}

static int hl__set_remove(hl__allevel_t *lv, hl_async_listener_t *l) {
  if (hl__in_set(lv, l) < 0)
    return HL_ENOENT;
  if (hl__own(lv, 0))
    return HL_ENOMEM;
  int i = hl__in_set(lv, l);
  memmove(lv->v + i, lv->v + i + 1, (lv->n - (uint32_t)i - 1) * sizeof *lv->v);
  lv->n--;
  hl__al_unref(l);
  return 0;
}

HL_EXPORT int hl_async_listener_remove(hl_async_listener_t *l) {
  if (!l || l->destroyed)
    return HL_EINVAL;
  return hl__set_remove(hl__top(l->L->proc->al), l);
}

HL_EXPORT void hl_async_listener_destroy(hl_async_listener_t *l) {
  if (!l || l->destroyed)
    return;
  hl__al_t *A = l->L->proc->al;
  for (uint32_t i = 0; i < A->nlevels; i++) /* owned sets only: records keep it, muted */
    if (A->levels[i].own && hl__in_set(&A->levels[i], l) >= 0)
      hl__set_remove(&A->levels[i], l);
  l->destroyed = 1;
  A->nlisteners--;
  hl__al_unref(l);
  hl__al_maybe_disable(A);
}

static void hl__rec_free_each(void *obj, void *arg) {
  (void)arg;
  hl__alrec_t *r = obj;
  if (r->refs && r->ls != r->ls_in) {
    hl__free(r->ls);
    hl__free(r->st);
  }
}

/* hl_loop_close: every record, level and listener goes, whatever its refs. */
void hl__al_close(hl__loop_t *L) {
  hl__al_t *A = L->proc->al;
  if (!A)
    return;
  hl_hook_destroy(A->hook);
  hl__pool_each(&A->rec_pool, hl__rec_free_each, NULL);
  hl__pool_destroy(&A->rec_pool);
  hl__free(A->buckets);
  for (uint32_t i = 0; i < A->cap_levels; i++)
    hl__free(A->levels[i].v);
  hl__free(A->levels);
  while (A->all) { /* live listeners, and destroyed ones records still held */
    hl_async_listener_t *l = A->all;
    A->all = l->all_next;
    hl__free(l);
  }
  hl__free(A);
  L->proc->al = NULL;
}
