/* src/core/loop.c - the loop: init/run/close, the execution stack, the
 * next-tick and microtask drain, and the batched destroy queue.
 *
 * Drain order is Node's (processTicksAndRejections): all ticks, then all
 * microtasks, repeated while ticks remain or unhandled rejections were
 * processed; then settled promises nobody holds are swept. Destroys are queued
 * and emitted in one batch in the check phase (where Node runs its destroy
 * immediate), before the init of a reused object, and when hl_run returns.
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

_Thread_local hl__loop_t *hl__current HL__TLS_HOT;

#define HL__STACK_INIT 16

static void hl__dq_check_cb(uv_check_t *h) {
  hl__destroy_flush(hl__container_of(h, hl__loop_t, dq_check));
}

static int hl__loop_setup(hl_loop_t *loop, uv_loop_t *uv, int owns) {
  hl__loop_t *L = hl__calloc(1, sizeof *L);
  if (!L)
    return HL_ENOMEM;
  L->stack = hl__malloc(HL__STACK_INIT * sizeof(hl__ctx_t));
  if (!L->stack) {
    hl__free(L);
    return HL_ENOMEM;
  }
  L->stack_cap = HL__STACK_INIT;
  if (owns) {
    int r = uv_loop_init(&L->own_uv);
    if (r) {
      hl__free(L->stack);
      hl__free(L);
      return r;
    }
    uv = &L->own_uv;
  }
  L->owns_uv = owns;
  L->uv = uv;
  L->pub = loop;
  L->cur.exec_id = 1;
  L->cur.trigger_id = 0;
  L->cur.resource = loop;
  L->cur.frame = NULL;
  L->next_id = 1;
  L->default_trigger = -1;
  L->tick_tail = &L->tick_head;
  L->micro_tail = &L->micro_head;
  uv_check_init(uv, &L->dq_check);
  uv_unref((uv_handle_t *)&L->dq_check);
  hl__timers_init(L);
  loop->impl = L;
  hl__current = L;
  return 0;
}

HL_EXPORT int hl_loop_init(hl_loop_t *loop) {
  if (!loop)
    return HL_EINVAL;
  loop->impl = NULL;
  return hl__loop_setup(loop, NULL, 1);
}

HL_EXPORT int hl_loop_init_uv(hl_loop_t *loop, uv_loop_t *uv) {
  if (!loop || !uv)
    return HL_EINVAL;
  loop->impl = NULL;
  return hl__loop_setup(loop, uv, 0);
}

HL_EXPORT uv_loop_t *hl_loop_uv(const hl_loop_t *loop) {
  return loop && loop->impl ? loop->impl->uv : NULL;
}

HL_EXPORT hl_loop_t *hl_loop_current(void) {
  return hl__current ? hl__current->pub : NULL;
}

HL_EXPORT const char *hl_version_string(void) {
  return HL_VERSION_STRING;
}

HL_EXPORT int hl_loop_alive_resources(const hl_loop_t *loop) {
  hl__loop_t *L = hl__L(loop);
  return L ? L->live : HL_EINVAL;
}

HL_EXPORT int hl_run(hl_loop_t *loop, hl_run_mode mode) {
  hl__loop_t *L = hl__L(loop);
  if (!L || (mode != HL_RUN_DEFAULT && mode != HL_RUN_ONCE && mode != HL_RUN_NOWAIT))
    return HL_EINVAL;
  if (L->running || L->depth > 0)
    return HL_ESTATE;
  hl__loop_t *prev = hl__current;
  hl__current = L;
  int r;
  L->running = 1;
  for (;;) {
    if (L->npending)
      hl__drain(L);
    r = uv_run(L->uv, (uv_run_mode)mode);
    if (L->npending)
      hl__drain(L);
    if (L->dq_len)
      hl__destroy_flush(L);
    if (mode != HL_RUN_DEFAULT)
      break;
    if (!uv_loop_alive(L->uv)) {
      /* Empty: beforeExit (a listener may schedule more work: run again),
       * then exit on the process's loop (src/proc/proc.c). */
      if (L->proc && hl__proc_loop_empty(L))
        continue;
      break;
    }
  }
  L->running = 0;
  /* Run from inside another loop's callback: that loop is current again. */
  if (prev && prev != L && prev->depth > 0)
    hl__current = prev;
  return r;
}

static void hl__free_user_resources(hl__loop_t *L) {
  while (L->res_head) {
    hl_async_resource_t *res = L->res_head;
    L->res_head = res->next;
    res->next = res->prev = NULL;
    hl__async_end(L, &res->async, NULL, NULL);
  }
}

HL_EXPORT int hl_loop_close(hl_loop_t *loop) {
  hl__loop_t *L = hl__L(loop);
  if (!L)
    return HL_EINVAL;
  if (L->depth > 0 || L->running)
    return HL_ESTATE;
  if (L->live > 0)
    return UV_EBUSY;
  if (L->owns_uv && uv_loop_alive(L->uv))
    return UV_EBUSY;
  if (L->npending) /* promise reactions still queued */
    hl__drain(L);
  hl__free_user_resources(L);
  hl__timers_cancel(L);
  hl__promise_close_all(L);
  hl__destroy_flush(L);
  if (L->modsys_close)
    L->modsys_close(L);
  if (L->proc) /* signal handles, process listeners, async listeners (src/proc) */
    hl__proc_close(L);

  uv_close((uv_handle_t *)&L->dq_check, NULL);
  hl__timers_close(L);
  uv_run(L->uv, L->owns_uv ? UV_RUN_DEFAULT : UV_RUN_NOWAIT);
  hl__destroy_flush(L); /* what the closes above ended; empties the pools' limbo */
  if (L->owns_uv) {
    int r = uv_loop_close(L->uv);
    if (r)
      fprintf(stderr, "hookloop: uv_loop_close: %s\n", uv_strerror(r));
  }
  hl__timers_free(L);
  hl__io_free(L);
  hl__http_hooks_forget(L);
  hl__pool_destroy(&L->timer_pool);
  hl__pool_destroy(&L->imm_pool);
  hl__pool_destroy(&L->task_pool);
  hl__pool_destroy(&L->promise_pool);
  hl__pool_destroy(&L->chained_pool);
  hl__pool_destroy(&L->reaction_pool);
  hl__pool_destroy(&L->fs_pool);
  hl__pool_destroy(&L->fs_chain_pool);
  hl__hooks_close(L);
  hl__frame_release(L, L->cur.frame);
  while (L->exit_listeners) {
    hl__exit_listener_t *l = L->exit_listeners;
    L->exit_listeners = l->next;
    hl__free(l);
  }
  hl__free(L->dq);
  hl__free(L->dq_spare);
  hl__free(L->stack);
  if (hl__current == L)
    hl__current = NULL;
  hl__free(L);
  loop->impl = NULL;
  return 0;
}

int hl__stack_reserve(hl__loop_t *L) {
  if (L->depth < L->stack_cap)
    return 0;
  uint32_t cap = L->stack_cap * 2;
  hl__ctx_t *s = hl__realloc(L->stack, cap * sizeof(hl__ctx_t));
  if (!s)
    return HL_ENOMEM;
  L->stack = s;
  L->stack_cap = cap;
  return 0;
}

/* Internal callbacks have nobody to return an error to: no memory for one more
 * level of context is fatal there. The public entry points (run, enter)
 * reserve first and return HL_ENOMEM instead. */
void hl__stack_grow(hl__loop_t *L) {
  if (hl__stack_reserve(L))
    hl__fatal(L, "out of memory (async context stack)", HL_EXIT_UNCAUGHT);
}

void hl__stack_corrupted(hl__loop_t *L, hl_async_id_t actual, hl_async_id_t expected) {
  (void)L;
  fflush(stdout);
  fprintf(stderr, "Error: async hook stack has become corrupted (actual: %lld, expected: %lld)\n",
          (long long)actual, (long long)expected);
  fflush(stderr);
  exit(1);
}

void hl__drain(hl__loop_t *L) {
  if (L->draining)
    return;
  L->draining = 1;
  do {
    while (L->tick_head) {
      hl__job_t *j = L->tick_head;
      L->tick_head = j->next;
      if (!L->tick_head)
        L->tick_tail = &L->tick_head;
      L->npending--;
      j->run(L, j);
    }
    while (L->micro_head) {
      hl__job_t *j = L->micro_head;
      L->micro_head = j->next;
      if (!L->micro_head)
        L->micro_tail = &L->micro_head;
      L->npending--;
      j->run(L, j);
    }
  } while (L->tick_head || hl__promise_process_rejections(L));
  hl__promise_sweep(L);
  L->draining = 0;
}

/* The first destroy of a batch (opens it: the check handle will flush it),
 * or no room left: grow the queue. */
void hl__destroy_queue(hl__loop_t *L, hl__async_t *a, void *obj, hl__pool_t *pool) {
  if (HL_UNLIKELY(L->dq_len == L->dq_cap)) {
    uint32_t cap = L->dq_cap ? L->dq_cap * 2 : 64;
    hl__destroy_t *dq = hl__realloc(L->dq, cap * sizeof *dq);
    if (!dq) { /* no room to defer: emit now rather than lose it */
      hl__emit(L, HL__F_DESTROY, a->id);
      if (pool)
        hl__pool_put(pool, obj);
      return;
    }
    L->dq = dq;
    L->dq_cap = cap;
  }
  if (L->dq_len == 0)
    uv_check_start(&L->dq_check, hl__dq_check_cb);
  L->dq_lim = L->dq_cap;
  hl__dq_push(L, a, obj, pool);
}

void hl__pool_limbo_register(hl__loop_t *L, hl__pool_t *pool) {
  pool->limbo_next = L->limbo_pools;
  L->limbo_pools = pool;
}

/* Emit the destroys q[0..n) (an array no longer receiving new ones). */
static void hl__destroy_emit(hl__loop_t *L, const hl__destroy_t *q, uint32_t n) {
  const hl__destroy_t *p = q, *end = q + n;
  while (p < end) {
    if (!hl__in_hook(L) && L->hk_n[HL__F_DESTROY] == 1) {
      /* The common case, one destroy hook: one dispatch frame for the run of
       * entries, ended early as soon as a hook edit waits to be applied (so
       * edits take effect after the destroy that made them, as usual). */
      void (*fn)(hl_async_id_t, void *) =
          (void (*)(hl_async_id_t, void *))L->hk[HL__F_DESTROY][0].fn;
      void *arg = L->hk[HL__F_DESTROY][0].arg;
      L->hook_depth = 1;
      do
        fn((p++)->id, arg);
      while (p < end && !L->hk_edit);
      L->hook_depth = 0;
      if (L->hk_edit)
        hl__hooks_commit(L);
      continue;
    }
    hl_async_id_t id = (p++)->id;
    if (L->hk_n[HL__F_DESTROY])
      hl__emit_inline(L, HL__F_DESTROY, id);
  }
}

void hl__destroy_flush(hl__loop_t *L) {
  if (L->flushing || L->dq_len == 0)
    return;
  L->flushing = 1;
  L->dq_gen++;
  /* Destroys queued by a destroy hook join this batch (Node loops likewise):
   * the queue is swapped with the spare array before each round (as Node
   * swaps its destroy_async_id_list), so the hooks append to the other one
   * and the round reads an array that neither grows nor moves. */
  while (L->dq_len) {
    hl__destroy_t *q = L->dq;
    uint32_t n = L->dq_len, cap = L->dq_cap;
    L->dq = L->dq_spare;
    L->dq_cap = L->dq_lim = L->dq_spare_cap; /* the batch stays open */
    L->dq_len = 0;
    L->dq_spare = q;
    L->dq_spare_cap = cap;
    hl__destroy_emit(L, q, n);
  }
  if (L->dq_spare_cap > L->dq_cap) { /* the next batch starts in the larger array */
    hl__destroy_t *q = L->dq;
    uint32_t cap = L->dq_cap;
    L->dq = L->dq_spare;
    L->dq_cap = L->dq_spare_cap;
    L->dq_spare = q;
    L->dq_spare_cap = cap;
  }
  L->dq_lim = 0;
  /* Every destroy is out: the parked objects go back to their pools, one
   * splice per pool (the objects themselves are not touched again). */
  while (L->limbo_pools) {
    hl__pool_t *pool = L->limbo_pools;
    L->limbo_pools = pool->limbo_next;
    pool->limbo_next = NULL;
    *(void **)pool->limbo_tail = pool->free;
    pool->free = pool->limbo;
    pool->limbo = pool->limbo_tail = NULL;
  }
  uv_check_stop(&L->dq_check);
  L->flushing = 0;
}
