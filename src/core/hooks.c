/* src/core/hooks.c - async hooks: create/enable/disable and the dispatch.
 *
 * As in Node (lib/internal/async_hooks.js), enabled hooks live in one array in
 * enable order, and per-callback counters (hook_fields) say whether any hook
 * listens, so the resource path tests one counter. While a dispatch runs,
 * enable/disable edit a copy of the array that replaces the active one when
 * the outermost dispatch returns, and so do the counters (Node's
 * storeActiveHooks/restoreActiveHooks).
 */
#include <string.h>
#include "internal.h"

struct hl_hook_s {
  hl__loop_t *L;
  hl_hook_callbacks_t cb;
  void *arg;
  uint8_t destroyed;
  hl_hook_t *zombie_next;
  hl_hook_t *all_next, *all_prev; /* every hook of the loop, for hl_loop_close */
};

static void hl__all_unlink(hl__loop_t *L, hl_hook_t *h) {
  if (h->all_prev)
    h->all_prev->all_next = h->all_next;
  else
    L->all_hooks = h->all_next;
  if (h->all_next)
    h->all_next->all_prev = h->all_prev;
}

HL_EXPORT int hl_hook_create(hl_loop_t *loop, const hl_hook_callbacks_t *callbacks, void *arg,
                             hl_hook_t **out) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !callbacks || !out)
    return HL_EINVAL;
  hl_hook_t *h = hl__calloc(1, sizeof *h);
  if (!h)
    return HL_ENOMEM;
  h->L = L;
  h->cb = *callbacks;
  h->arg = arg;
  h->all_next = L->all_hooks;
  if (L->all_hooks)
    L->all_hooks->all_prev = h;
  L->all_hooks = h;
  *out = h;
  return 0;
}

/* Counters of the array being edited: the active ones, or during a dispatch
 * the copy's (Node's storeActiveHooks copies async_hook_fields too). */
static void hl__fields_add(hl__loop_t *L, const hl_hook_t *h, int d) {
  uint32_t *f = L->has_pend ? L->pend_fields : L->hook_fields;
  f[HL__F_INIT] += d * !!h->cb.init;
  f[HL__F_BEFORE] += d * !!h->cb.before;
  f[HL__F_AFTER] += d * !!h->cb.after;
  f[HL__F_DESTROY] += d * !!h->cb.destroy;
  f[HL__F_PROMISE_RESOLVE] += d * !!h->cb.promise_resolve;
}

/* An edit made during a dispatch waits for the outermost one to return: the
 * inline dispatch leaves its fast path until then. */
static void hl__hk_edit_wait(hl__loop_t *L) {
  L->hk_edit = 1;
  L->hook_depth |= HL__HD_EDIT;
}

/* The array edits go to: the active one, or its copy during a dispatch. */
static int hl__target(hl__loop_t *L, hl_hook_t ****arr, uint32_t **n, uint32_t **cap) {
  if (!hl__in_hook(L)) {
    *arr = &L->hooks;
    *n = &L->n_hooks;
    *cap = &L->cap_hooks;
    return 0;
  }
  if (!L->has_pend) {
    if (L->cap_pend < L->n_hooks) {
      hl_hook_t **p = hl__realloc(L->pend, (L->n_hooks + 4) * sizeof *p);
      if (!p)
        return HL_ENOMEM;
      L->pend = p;
      L->cap_pend = L->n_hooks + 4;
    }
    if (L->n_hooks)
      memcpy(L->pend, L->hooks, L->n_hooks * sizeof *L->pend);
    L->n_pend = L->n_hooks;
    memcpy(L->pend_fields, L->hook_fields, sizeof L->pend_fields);
    L->has_pend = 1;
    hl__hk_edit_wait(L);
  }
  *arr = &L->pend;
  *n = &L->n_pend;
  *cap = &L->cap_pend;
  return 0;
}

/* Room for n hooks in every per-event array. */
static int hl__hk_reserve(hl__loop_t *L, uint32_t n) {
  if (n <= L->hk_cap)
    return 0;
  uint32_t cap = L->hk_cap ? L->hk_cap * 2 : 4;
  while (cap < n)
    cap *= 2;
  for (int f = 0; f < HL__F_COUNT; f++) {
    hl__hk_ent_t *e = hl__realloc(L->hk[f], cap * sizeof *e);
    if (!e)
      return HL_ENOMEM; /* arrays already grown stay grown: no harm */
    L->hk[f] = e;
  }
  L->hk_cap = cap;
  return 0;
}

static void (*hl__hk_fn(const hl_hook_t *h, int f))(void) {
  switch (f) {
  case HL__F_INIT:
    return (void (*)(void))h->cb.init;
  case HL__F_BEFORE:
    return (void (*)(void))h->cb.before;
  case HL__F_AFTER:
    return (void (*)(void))h->cb.after;
  case HL__F_DESTROY:
    return (void (*)(void))h->cb.destroy;
  default:
    return (void (*)(void))h->cb.promise_resolve;
  }
}

/* What the inline dispatch calls when more than one hook has the event
 * (argument: the loop): every entry, in enable order. The entries do not
 * change during a dispatch (edits wait; a destroyed hook's become no-ops). */
static void hl__emit_all_init(hl_async_id_t id, const char *type, hl_async_id_t trigger,
                              void *resource, void *arg) {
  hl__loop_t *L = arg;
  const hl__hk_ent_t *e = L->hk[HL__F_INIT];
  uint32_t n = L->hk_n[HL__F_INIT];
  for (uint32_t i = 0; i < n; i++)
    ((hl__init_fn)e[i].fn)(id, type, trigger, resource, e[i].arg);
}
#define HL__EMIT_ALL(name, field)                                                                  \
  static void name(hl_async_id_t id, void *arg) {                                                  \
    hl__loop_t *L = arg;                                                                           \
    const hl__hk_ent_t *e = L->hk[field];                                                          \
    uint32_t n = L->hk_n[field];                                                                   \
    for (uint32_t i = 0; i < n; i++)                                                               \
      ((void (*)(hl_async_id_t, void *))e[i].fn)(id, e[i].arg);                                    \
  }
HL__EMIT_ALL(hl__emit_all_before, HL__F_BEFORE)
HL__EMIT_ALL(hl__emit_all_after, HL__F_AFTER)
HL__EMIT_ALL(hl__emit_all_destroy, HL__F_DESTROY)
HL__EMIT_ALL(hl__emit_all_resolve, HL__F_PROMISE_RESOLVE)
static void (*const hl__emit_all[HL__F_COUNT])(void) = {
    (void (*)(void))hl__emit_all_init,    (void (*)(void))hl__emit_all_before,
    (void (*)(void))hl__emit_all_after,   (void (*)(void))hl__emit_all_destroy,
    (void (*)(void))hl__emit_all_resolve,
};

/* The active array changed and no dispatch runs: rebuild what dispatch reads. */
static void hl__hk_rebuild(hl__loop_t *L) {
  for (int f = 0; f < HL__F_COUNT; f++) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < L->n_hooks; i++) {
      void (*fn)(void) = hl__hk_fn(L->hooks[i], f);
      if (fn) {
        L->hk[f][n].fn = fn;
        L->hk[f][n].arg = L->hooks[i]->arg;
        L->hk[f][n].hook = L->hooks[i];
        n++;
      }
    }
    L->hk_n[f] = n;
    if (n == 1) {
      L->hk1[f].fn = L->hk[f][0].fn;
      L->hk1[f].arg = L->hk[f][0].arg;
    } else {
      L->hk1[f].fn = n ? hl__emit_all[f] : NULL;
      L->hk1[f].arg = L;
    }
  }
}

static void hl__noop_init(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                          void *arg) {
  (void)id, (void)type, (void)trigger, (void)res, (void)arg;
}
static void hl__noop_event(hl_async_id_t id, void *arg) {
  (void)id, (void)arg;
}

/* A hook destroyed while a dispatch may be iterating its entries: make them
 * no-ops, so the dispatch loop needs no check. */
static void hl__hk_silence(hl__loop_t *L, const hl_hook_t *h) {
  for (int f = 0; f < HL__F_COUNT; f++)
    for (uint32_t i = 0; i < L->hk_n[f]; i++)
      if (L->hk[f][i].hook == h) {
        L->hk[f][i].fn =
            f == HL__F_INIT ? (void (*)(void))hl__noop_init : (void (*)(void))hl__noop_event;
        if (L->hk_n[f] == 1) /* (else hk1 calls the entries) */
          L->hk1[f].fn = L->hk[f][0].fn;
      }
}

static int hl__index_of(hl_hook_t **arr, uint32_t n, const hl_hook_t *h) {
  for (uint32_t i = 0; i < n; i++)
    if (arr[i] == h)
      return (int)i;
  return -1;
}

HL_EXPORT int hl_hook_enable(hl_hook_t *h) {
  if (!h || h->destroyed)
    return HL_EINVAL;
  hl__loop_t *L = h->L;
  hl_hook_t ***arr;
  uint32_t *n, *cap;
  int r = hl__target(L, &arr, &n, &cap);
  if (r)
    return r;
  if (hl__index_of(*arr, *n, h) >= 0)
    return 0;
  r = hl__hk_reserve(L, *n + 1);
  if (r)
    return r;
  if (*n == *cap) {
    uint32_t c = *cap ? *cap * 2 : 4;
    hl_hook_t **p = hl__realloc(*arr, c * sizeof *p);
    if (!p)
      return HL_ENOMEM;
    *arr = p;
    *cap = c;
  }
  (*arr)[(*n)++] = h;
  hl__fields_add(L, h, 1);
  if (!hl__in_hook(L))
    hl__hk_rebuild(L);
  return 0;
}

HL_EXPORT int hl_hook_disable(hl_hook_t *h) {
  if (!h || h->destroyed)
    return HL_EINVAL;
  hl__loop_t *L = h->L;
  hl_hook_t ***arr;
  uint32_t *n, *cap;
  int r = hl__target(L, &arr, &n, &cap);
  if (r)
    return r;
  int i = hl__index_of(*arr, *n, h);
  if (i < 0)
    return 0;
  memmove(*arr + i, *arr + i + 1, (*n - (uint32_t)i - 1) * sizeof **arr);
  (*n)--;
  hl__fields_add(L, h, -1);
  if (!hl__in_hook(L))
    hl__hk_rebuild(L);
  return 0;
}

HL_EXPORT void hl_hook_destroy(hl_hook_t *h) {
  if (!h || h->destroyed)
    return;
  hl__loop_t *L = h->L;
  /* If disabling inside a dispatch finds no memory for the copy, the hook stays
   * in the active array: hl__hk_silence mutes it and the commit removes it. */
  (void)hl_hook_disable(h);
  h->destroyed = 1;
  hl__all_unlink(L, h);
  if (hl__in_hook(L)) {
    hl__hk_silence(L, h);
    h->zombie_next = L->zombies;
    L->zombies = h;
    hl__hk_edit_wait(L);
  } else {
    hl__free(h);
  }
}

/* The outermost dispatch returned: apply edits made during it. */
void hl__hooks_commit(hl__loop_t *L) {
  if (L->has_pend) {
    hl_hook_t **a = L->hooks;
    uint32_t c = L->cap_hooks;
    L->hooks = L->pend;
    L->n_hooks = L->n_pend;
    L->cap_hooks = L->cap_pend;
    L->pend = a;
    L->cap_pend = c;
    L->n_pend = 0;
    memcpy(L->hook_fields, L->pend_fields, sizeof L->hook_fields);
    L->has_pend = 0;
  }
  while (L->zombies) {
    hl_hook_t *h = L->zombies;
    L->zombies = h->zombie_next;
    int i = hl__index_of(L->hooks, L->n_hooks, h);
    if (i >= 0) { /* its disable could not allocate the copy */
      memmove(L->hooks + i, L->hooks + i + 1, (L->n_hooks - (uint32_t)i - 1) * sizeof *L->hooks);
      L->n_hooks--;
      hl__fields_add(L, h, -1);
    }
    hl__free(h);
  }
  L->hk_edit = 0;
  L->hook_depth &= ~HL__HD_EDIT;
  hl__hk_rebuild(L);
}

/* The inline dispatch's decrement turned negative: an edit waits; apply it
 * if that was the outermost dispatch. */
void hl__hk_edit_done(hl__loop_t *L) {
  if (L->hook_depth == HL__HD_EDIT)
    hl__hooks_commit(L);
}

void hl__emit_init(hl__loop_t *L, hl_async_id_t id, const char *type, hl_async_id_t trigger,
                   void *resource) {
  if (L->hk_n[HL__F_INIT])
    hl__emit_init_inline(L, id, type, trigger, resource);
}

void hl__emit(hl__loop_t *L, int field, hl_async_id_t id) {
  if (L->hk_n[field])
    hl__emit_inline(L, field, id);
}

void hl__hooks_close(hl__loop_t *L) {
  /* Hooks the application did not destroy are freed with the loop. */
  while (L->all_hooks) {
    hl_hook_t *h = L->all_hooks;
    L->all_hooks = h->all_next;
    hl__free(h);
  }
  for (int f = 0; f < HL__F_COUNT; f++) {
    hl__free(L->hk[f]);
    L->hk[f] = NULL;
    L->hk_n[f] = 0;
  }
  L->hk_cap = 0;
  hl__free(L->hooks);
  hl__free(L->pend);
  L->hooks = L->pend = NULL;
  L->n_hooks = L->n_pend = 0;
}
