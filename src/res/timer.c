/* src/res/timer.c - Timeout (setTimeout/setInterval) and Immediate resources.
 *
 * Timers follow Node's design (lib/internal/timers.js): one list per distinct
 * duration, each driven by a single uv_timer_t armed for its head. Timers of
 * one duration expire in insertion order, so scheduling and clearing are O(1)
 * list operations instead of a heap insert per timer; timer objects are
 * pooled, so a timer costs no allocation once warm. Immediates are a FIFO list
 * run from one uv_check handle (an idle handle keeps the poll from blocking
 * while any are queued), as Node does: each check phase runs the immediates
 * queued before it began.
 */
#include "../core/internal.h"

#define HL__TIMEOUT_MAX 2147483647ull

typedef struct hl__tlist_s hl__tlist_t;

typedef struct hl__timer_s {
  void *pool_link;
  hl__loop_t *L;
  hl__async_t async;
  hl_fn cb;
  void *arg;
  hl__tlist_t *list;
  struct hl__timer_s *next, *prev;
  uint64_t due;
  uint8_t active, interval, in_cb, refd;
} hl__timer_t;

/* The timers of one duration, in expiry order. */
struct hl__tlist_s {
  uv_timer_t uv;
  hl__loop_t *L;
  uint64_t ms;
  hl__timer_t *head, *tail;
  uint32_t refs;     /* ref'd timers in the list: the uv timer is ref'd iff > 0 */
  hl__tlist_t *next; /* hash chain */
};

typedef struct hl__immediate_s {
  void *pool_link;
  hl__loop_t *L;
  hl__async_t async;
  hl_fn cb;
  void *arg;
  struct hl__immediate_s *next, *prev;
  uint32_t gen;
  uint8_t pending;
} hl__immediate_t;

static void hl__imm_check_cb(uv_check_t *h);
static void hl__imm_idle_cb(uv_idle_t *h) {
  (void)h;
}
static void hl__tlist_cb(uv_timer_t *h);

int hl__timers_init(hl__loop_t *L) {
  hl__pool_init(&L->timer_pool, sizeof(hl__timer_t), 64);
  hl__pool_init(&L->imm_pool, sizeof(hl__immediate_t), 64);
  uv_check_init(L->uv, &L->imm_check);
  uv_idle_init(L->uv, &L->imm_idle);
  return 0;
}

static hl__tlist_t *hl__tlist_get(hl__loop_t *L, uint64_t ms) {
  hl__tlist_t **b = &L->tlists[ms & (HL__TLIST_BUCKETS - 1)];
  for (hl__tlist_t *l = *b; l; l = l->next)
    if (l->ms == ms)
      return l;
  hl__tlist_t *l = hl__calloc(1, sizeof *l);
  if (!l)
    return NULL;
  uv_timer_init(L->uv, &l->uv);
  uv_unref((uv_handle_t *)&l->uv);
  l->L = L;
  l->ms = ms;
  l->next = *b;
  *b = l;
  return l;
}

static void hl__tlist_ref(hl__tlist_t *l, hl__timer_t *t) {
  if (t->refd && l->refs++ == 0)
    uv_ref((uv_handle_t *)&l->uv);
}

static void hl__tlist_unref(hl__tlist_t *l, hl__timer_t *t) {
  if (t->refd && --l->refs == 0)
    uv_unref((uv_handle_t *)&l->uv);
}

static void hl__tlist_append(hl__tlist_t *l, hl__timer_t *t) {
  uint64_t now = uv_now(l->L->uv);
  t->due = now + l->ms;
  t->list = l;
  t->next = NULL;
  t->prev = l->tail;
  if (l->tail)
    l->tail->next = t;
  else {
    l->head = t;
    uv_timer_start(&l->uv, hl__tlist_cb, l->ms, 0);
  }
  l->tail = t;
  hl__tlist_ref(l, t);
}

/* Take t out of its list. The uv timer stays armed for a removed head: firing
 * early is harmless (the callback re-arms for the new head), as in Node. */
static void hl__tlist_remove(hl__tlist_t *l, hl__timer_t *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    l->head = t->next;
  if (t->next)
    t->next->prev = t->prev;
  else
    l->tail = t->prev;
  t->next = t->prev = NULL;
  hl__tlist_unref(l, t);
  if (!l->head)
    uv_timer_stop(&l->uv);
}

static void hl__timer_finish(hl__loop_t *L, hl__timer_t *t) {
  hl__async_end(L, &t->async, t, &L->timer_pool);
}

static void hl__tlist_cb(uv_timer_t *h) {
  hl__tlist_t *l = hl__container_of(h, hl__tlist_t, uv);
  hl__loop_t *L = l->L;
  uint64_t now = uv_now(L->uv);
  hl__timer_t *t;
  while ((t = l->head) != NULL && t->due <= now) {
    hl__tlist_remove(l, t);
    if (!t->interval) {
      t->active = 0;
      if (t->refd)
        L->live--;
    }
    t->in_cb = 1;
    hl__invoke(L, &t->async, &t->cb, &t->arg);
    t->in_cb = 0;
    if (t->active) /* an interval not cleared in its callback: next run */
      hl__tlist_append(l, t);
    else
      hl__timer_finish(L, t);
  }
  if (l->head) {
    uint64_t due = l->head->due;
    uv_timer_start(&l->uv, hl__tlist_cb, due > now ? due - now : 0, 0);
  }
}

static int hl__timer_start(hl_loop_t *loop, hl_fn cb, void *arg, uint64_t ms, int interval,
                           hl_timer_t *out) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  if (ms == 0 || ms > HL__TIMEOUT_MAX) /* Node: a delay outside 1..TIMEOUT_MAX is 1 */
    ms = 1;
  hl__tlist_t *l = hl__tlist_get(L, ms);
  if (!l)
    return HL_ENOMEM;
  hl__timer_t *t = hl__pool_get(&L->timer_pool);
  if (!t)
    return HL_ENOMEM;
  t->L = L;
  t->cb = cb;
  t->arg = arg;
  t->interval = (uint8_t)interval;
  t->in_cb = 0;
  t->active = 1;
  t->refd = 1;
  L->live++;
  hl__async_init(L, &t->async, "Timeout", -1, t);
  hl__tlist_append(l, t);
  if (out) {
    out->impl = t;
    out->id = t->async.id;
  }
  return 0;
}

HL_EXPORT int hl_set_timeout(hl_loop_t *loop, hl_fn cb, void *arg, uint64_t ms, hl_timer_t *out) {
  return hl__timer_start(loop, cb, arg, ms, 0, out);
}

HL_EXPORT int hl_set_interval(hl_loop_t *loop, hl_fn cb, void *arg, uint64_t ms, hl_timer_t *out) {
  return hl__timer_start(loop, cb, arg, ms, 1, out);
}

/* The timer a reference names, if it is still that timer and pending. */
static hl__timer_t *hl__timer_of(const hl_timer_t *ref) {
  hl__timer_t *t = ref->impl;
  if (!t || t->async.id != ref->id || !t->active)
    return NULL;
  return t;
}

HL_EXPORT int hl_clear_timer(hl_timer_t *ref) {
  if (!ref)
    return HL_EINVAL;
  hl__timer_t *t = hl__timer_of(ref);
  if (!t)
    return 0;
  hl__loop_t *L = t->L;
  if (!t->in_cb) /* an interval inside its callback is already out of its list */
    hl__tlist_remove(t->list, t);
  t->active = 0;
  if (t->refd)
    L->live--;
  if (!t->in_cb)
    hl__timer_finish(L, t);
  return 0;
}

HL_EXPORT int hl_timer_ref(hl_timer_t *ref) {
  if (!ref)
    return HL_EINVAL;
  hl__timer_t *t = hl__timer_of(ref);
  if (!t)
    return HL_ESTATE;
  if (!t->refd) {
    t->refd = 1;
    t->L->live++;
    if (!t->in_cb)
      hl__tlist_ref(t->list, t);
  }
  return 0;
}

HL_EXPORT int hl_timer_unref(hl_timer_t *ref) {
  if (!ref)
    return HL_EINVAL;
  hl__timer_t *t = hl__timer_of(ref);
  if (!t)
    return HL_ESTATE;
  if (t->refd) {
    if (!t->in_cb)
      hl__tlist_unref(t->list, t);
    t->refd = 0;
    t->L->live--;
  }
  return 0;
}

HL_EXPORT int hl_timer_active(const hl_timer_t *ref) {
  return ref && hl__timer_of(ref) ? 1 : 0;
}

/* ---- immediates ------------------------------------------------------------ */

HL_EXPORT int hl_set_immediate(hl_loop_t *loop, hl_fn cb, void *arg, hl_immediate_t *out) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  hl__immediate_t *im = hl__pool_get(&L->imm_pool);
  if (!im)
    return HL_ENOMEM;
  im->L = L;
  im->cb = cb;
  im->arg = arg;
  im->gen = L->imm_gen;
  im->pending = 1;
  im->next = NULL;
  im->prev = L->imm_tail;
  if (L->imm_tail)
    L->imm_tail->next = im;
  else {
    L->imm_head = im;
    uv_check_start(&L->imm_check, hl__imm_check_cb);
    uv_idle_start(&L->imm_idle, hl__imm_idle_cb);
  }
  L->imm_tail = im;
  L->live++;
  hl__async_init(L, &im->async, "Immediate", -1, im);
  if (out) {
    out->impl = im;
    out->id = im->async.id;
  }
  return 0;
}

static void hl__imm_unlink(hl__loop_t *L, hl__immediate_t *im) {
  if (im->prev)
    im->prev->next = im->next;
  else
    L->imm_head = im->next;
  if (im->next)
    im->next->prev = im->prev;
  else
    L->imm_tail = im->prev;
  im->pending = 0;
  L->live--;
  if (!L->imm_head) {
    uv_check_stop(&L->imm_check);
    uv_idle_stop(&L->imm_idle);
  }
}

HL_EXPORT int hl_clear_immediate(hl_immediate_t *ref) {
  if (!ref)
    return HL_EINVAL;
  hl__immediate_t *im = ref->impl;
  if (!im || im->async.id != ref->id || !im->pending)
    return 0;
  hl__loop_t *L = im->L;
  hl__imm_unlink(L, im);
  hl__async_end(L, &im->async, im, &L->imm_pool);
  return 0;
}

static void hl__imm_check_cb(uv_check_t *h) {
  hl__loop_t *L = hl__container_of(h, hl__loop_t, imm_check);
  uint32_t gen = L->imm_gen++;
  hl__immediate_t *im;
  /* Take from the head (no general unlink); the handles stop once, after. */
  while ((im = L->imm_head) != NULL && im->gen == gen) {
    hl__immediate_t *next = im->next;
    L->imm_head = next;
    if (next)
      next->prev = NULL;
    else
      L->imm_tail = NULL;
    im->pending = 0;
    L->live--;
    hl__invoke(L, &im->async, &im->cb, &im->arg);
    hl__async_end(L, &im->async, im, &L->imm_pool);
  }
  if (!L->imm_head) {
    uv_check_stop(&L->imm_check);
    uv_idle_stop(&L->imm_idle);
  }
}

/* ---- loop close -------------------------------------------------------------- */

/* Timers still pending at close are unref'd ones (ref'd ones keep close busy). */
void hl__timers_cancel(hl__loop_t *L) {
  for (int b = 0; b < HL__TLIST_BUCKETS; b++)
    for (hl__tlist_t *l = L->tlists[b]; l; l = l->next)
      while (l->head) {
        hl__timer_t *t = l->head;
        hl__tlist_remove(l, t);
        t->active = 0;
        hl__async_end(L, &t->async, NULL, NULL);
      }
}

void hl__timers_close(hl__loop_t *L) {
  for (int b = 0; b < HL__TLIST_BUCKETS; b++)
    for (hl__tlist_t *l = L->tlists[b]; l; l = l->next)
      uv_close((uv_handle_t *)&l->uv, NULL);
  uv_close((uv_handle_t *)&L->imm_check, NULL);
  uv_close((uv_handle_t *)&L->imm_idle, NULL);
}

/* After the close callbacks ran. */
void hl__timers_free(hl__loop_t *L) {
  for (int b = 0; b < HL__TLIST_BUCKETS; b++) {
    hl__tlist_t *l = L->tlists[b];
    while (l) {
      hl__tlist_t *next = l->next;
      hl__free(l);
      l = next;
    }
    L->tlists[b] = NULL;
  }
}
