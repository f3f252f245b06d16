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

/* The array edits go to: the active one, or its copy during a dispatch. */
static int hl__target(hl__loop_t *L, hl_hook_t ****arr, uint32_t **n, uint32_t **cap) {
  if (L->hook_depth == 0) {
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
  }
  *arr = &L->pend;
  *n = &L->n_pend;
  *cap = &L->cap_pend;
  return 0;
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
  return 0;
}

HL_EXPORT void hl_hook_destroy(hl_hook_t *h) {
  if (!h || h->destroyed)
    return;
  hl__loop_t *L = h->L;
  if (hl_hook_disable(h) != 0) {
    /* No memory for the copy: remove from the active array once it is safe. */
  }
  h->destroyed = 1;
  hl__all_unlink(L, h);
  if (L->hook_depth > 0) {
    h->zombie_next = L->zombies;
    L->zombies = h;
  } else {
    hl__free(h);
  }
}

/* The outermost dispatch returned: apply edits made during it. */
static void hl__hooks_commit(hl__loop_t *L) {
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
}

void hl__emit_init(hl__loop_t *L, hl_async_id_t id, const char *type, hl_async_id_t trigger,
                   void *resource) {
  hl_hook_t **hs = L->hooks;
  uint32_t n = L->n_hooks;
  L->hook_depth++;
  for (uint32_t i = 0; i < n; i++)
    if (hs[i]->cb.init && !hs[i]->destroyed)
      hs[i]->cb.init(id, type, trigger, resource, hs[i]->arg);
  if (--L->hook_depth == 0 && (L->has_pend || L->zombies))
    hl__hooks_commit(L);
}

void hl__emit(hl__loop_t *L, int field, hl_async_id_t id) {
  hl_hook_t **hs = L->hooks;
  uint32_t n = L->n_hooks;
  L->hook_depth++;
  for (uint32_t i = 0; i < n; i++) {
    hl_hook_t *h = hs[i];
    void (*fn)(hl_async_id_t, void *);
    switch (field) {
    case HL__F_BEFORE:
      fn = h->cb.before;
      break;
    case HL__F_AFTER:
      fn = h->cb.after;
      break;
    case HL__F_DESTROY:
      fn = h->cb.destroy;
      break;
    default:
      fn = h->cb.promise_resolve;
      break;
    }
    if (fn && !h->destroyed)
      fn(id, h->arg);
  }
  if (--L->hook_depth == 0 && (L->has_pend || L->zombies))
    hl__hooks_commit(L);
}

void hl__hooks_close(hl__loop_t *L) {
  /* Hooks the application did not destroy are freed with the loop. */
  while (L->all_hooks) {
    hl_hook_t *h = L->all_hooks;
    L->all_hooks = h->all_next;
    hl__free(h);
  }
  hl__free(L->hooks);
  hl__free(L->pend);
  L->hooks = L->pend = NULL;
  L->n_hooks = L->n_pend = 0;
}
