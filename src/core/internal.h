/* src/core/internal.h - what the library's files share: the loop's private
 * state and the execution-context path.
 *
 * The path every resource type goes through (timers, immediates, ticks,
 * microtasks, promises, user resources, and later I/O) is:
 *
 *   hl__async_init()   at construction: new id, trigger, capture the storage
 *                      frame, emit init;
 *   hl__invoke()       around each callback: hl__push() (save the context,
 *                      install the resource's, emit before), the callback,
 *                      route a raised error, hl__pop() (emit after, check the
 *                      stack, restore), then drain ticks and microtasks when
 *                      the stack is empty;
 *   hl__async_end()    when the resource ends: release the frame, queue the
 *                      destroy (batched), give the object back to its pool.
 *
 * Hooks cost one branch on a counter when none is enabled (hook_fields).
 */
#ifndef HL_INTERNAL_H
#define HL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "hookloop.h"

#define HL_LIKELY(x)                        __builtin_expect(!!(x), 1)
#define HL_UNLIKELY(x)                      __builtin_expect(!!(x), 0)
#define HL_EXPORT                           __attribute__((visibility("default")))
#define HL_INLINE                           static inline __attribute__((always_inline))
#define hl__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct hl__loop_s hl__loop_t;

/* ---- memory ---------------------------------------------------------------- */
void *hl__malloc(size_t size);
void *hl__calloc(size_t count, size_t size);
void *hl__realloc(void *ptr, size_t size);
void hl__free(void *ptr);
char *hl__strdup(const char *s);
void hl__heap_stats(size_t *bytes, size_t *blocks); /* live library blocks (libc allocator) */

/* Fixed-size object pool: slabs that live until the pool is destroyed, so a
 * pointer to a pooled object stays valid memory (stale references can be
 * detected by id). Objects must start with a `void *` the pool uses as a link
 * while they are free. */
typedef struct hl__pool_s {
  size_t size;
  uint32_t per_slab;
  void *free;
  void *slabs;
  /* Objects whose destroy is queued: linked now (while they are in cache),
   * moved to `free` in one splice when the destroy batch has been emitted. */
  void *limbo, *limbo_tail;
  struct hl__pool_s *limbo_next; /* pools with a limbo, from the loop */
} hl__pool_t;
void hl__pool_init(hl__pool_t *pool, size_t size, uint32_t per_slab);
void *hl__pool_refill(hl__pool_t *pool); /* adds a slab; returns an object or NULL */
/* An object, zeroed on its first use only; NULL on OOM. */
static inline void *hl__pool_get(hl__pool_t *pool) {
  void *obj = pool->free;
  if (HL_UNLIKELY(obj == NULL))
    return hl__pool_refill(pool);
  pool->free = *(void **)obj;
  return obj;
}
static inline void hl__pool_put(hl__pool_t *pool, void *obj) {
  *(void **)obj = pool->free;
  pool->free = obj;
}
/* Park obj until the open destroy batch has been emitted (hl__pool_release_limbo).
 * `L` is the loop (declared below). */
struct hl__loop_s;
void hl__pool_limbo_register(struct hl__loop_s *L, hl__pool_t *pool);
static inline void hl__pool_defer(struct hl__loop_s *L, hl__pool_t *pool, void *obj) {
  void *old = pool->limbo;
  *(void **)obj = old;
  pool->limbo = obj;
  if (!old) {
    pool->limbo_tail = obj;
    hl__pool_limbo_register(L, pool);
  }
}
/* Call each(obj, arg) on every object ever handed out (free or not). */
void hl__pool_each(hl__pool_t *pool, void (*each)(void *obj, void *arg), void *arg);
void hl__pool_destroy(hl__pool_t *pool);

/* ---- async-local storage frames --------------------------------------------
 * Immutable once published: a store per storage slot. Reference counted (one
 * loop, one thread: plain integers). */
typedef struct hl__frame_s {
  uint32_t refs;
  uint32_t n;
  void *vals[];
} hl__frame_t;
extern char hl__unset_mark;
#define HL__UNSET ((void *)&hl__unset_mark)
void hl__frame_free(hl__loop_t *L, hl__frame_t *f);
static inline void hl__frame_release(hl__loop_t *L, hl__frame_t *f) {
  if (f && --f->refs == 0)
    hl__frame_free(L, f);
}

/* ---- execution context ------------------------------------------------------ */
/* In hl__async_t's order (id, trigger, frame, resource): installing a
 * resource's context is a straight copy. */
typedef struct hl__ctx_s {
  hl_async_id_t exec_id;
  hl_async_id_t trigger_id;
  hl__frame_t *frame; /* holds one reference */
  void *resource;
} hl__ctx_t;

enum { HL__F_INIT, HL__F_BEFORE, HL__F_AFTER, HL__F_DESTROY, HL__F_PROMISE_RESOLVE, HL__F_COUNT };

enum { HL__A_LIVE = 1u, HL__A_DESTROY_QUEUED = 2u, HL__A_DESTROYED = 4u, HL__A_MANUAL = 8u };

/* A job in the next-tick or microtask queue. `next` is first so pooled jobs
 * can use it as their pool link. */
typedef struct hl__job_s hl__job_t;
typedef void (*hl__job_fn)(hl__loop_t *L, hl__job_t *job);
struct hl__job_s {
  hl__job_t *next;
  hl__job_fn run;
};

typedef struct hl__hk_ent_s {
  void (*fn)(void);
  void *arg;
  hl_hook_t *hook;
} hl__hk_ent_t;

typedef struct hl__destroy_s {
  hl_async_id_t id; /* the object, if pooled, waits in its pool's limbo */
} hl__destroy_t;

typedef struct hl__exit_listener_s {
  struct hl__exit_listener_s *next;
  hl_exit_cb cb;
  void *arg;
} hl__exit_listener_t;

enum { HL__ORIGIN_EXCEPTION = 0, HL__ORIGIN_REJECTION = 1 };

struct hl__immediate_s;
#define HL__TLIST_BUCKETS 32
struct hl__timer_s;

struct hl__loop_s {
  /* hot: read on every callback */
  hl__ctx_t cur;
  uint32_t hook_fields[HL__F_COUNT]; /* enabled hooks having each callback */
  /* Per event, what the inline dispatch calls: a copy of the only entry's
   * callback and argument (of hk[f]) when one hook has the event, else a
   * function of hooks.c calling every entry (argument: the loop). Kept by
   * hl__hk_rebuild and hl__hk_silence; read only while hook_fields[f] != 0. */
  struct {
    void (*fn)(void);
    void *arg;
  } hk1[HL__F_COUNT];
  uint32_t depth; /* execution stack height */
  uint32_t stack_cap;
  hl__ctx_t *stack;
  uint32_t npending; /* ticks + microtasks + unhandled rejections + promises to sweep */
  uint8_t draining;
  uint8_t running;
  uint8_t flushing;
  uint8_t exiting;
  uint8_t closing_promises;
  hl_error_t *raised; /* set by hl_raise inside a callback */
  hl_async_id_t next_id;
  hl_async_id_t default_trigger; /* -1: none */

  hl__job_t *tick_head, **tick_tail;
  hl__job_t *micro_head, **micro_tail;

  /* hooks */
  hl_hook_t **hooks; /* the active array, in enable order */
  uint32_t n_hooks, cap_hooks;
  hl_hook_t **pend; /* copy-on-write array while a dispatch runs */
  uint32_t n_pend, cap_pend;
  uint8_t has_pend;
  uint8_t hk_edit; /* has_pend || zombies: edits wait for the outermost dispatch */
  uint32_t pend_fields[HL__F_COUNT]; /* the counters the copy will bring */
  /* Dispatches running, | HL__HD_EDIT while hk_edit (set by hl__hk_edit_wait,
   * cleared by the commit): the inline dispatch's decrement then turns
   * negative, its one test for "edits wait for the outermost return". */
  uint32_t hook_depth;
  hl_hook_t *zombies; /* destroyed during a dispatch */
  /* What a dispatch iterates: per event, the callbacks of the active hooks in
   * enable order. Rebuilt (never reallocated) when the active array changes;
   * capacity is reserved by hl_hook_enable. */
  struct hl__hk_ent_s *hk[HL__F_COUNT];
  uint32_t hk_n[HL__F_COUNT];
  uint32_t hk_cap;
  hl_hook_t *all_hooks; /* every hook created on the loop */

  /* destroy batch */
  hl__destroy_t *dq;
  uint32_t dq_len, dq_cap, dq_gen;
  uint32_t dq_lim;         /* dq_cap while a batch is open, else 0: one test to append */
  hl__destroy_t *dq_spare; /* the other array: a flush emits one while hooks fill the other */
  uint32_t dq_spare_cap;
  hl__pool_t *limbo_pools; /* pools holding objects of the open batch */
  uv_check_t dq_check;

  /* immediates */
  struct hl__tlist_s *tlists[HL__TLIST_BUCKETS]; /* timer lists by duration */
  struct hl__immediate_s *imm_head, *imm_tail;
  uint32_t imm_gen;
  uv_check_t imm_check;
  uv_idle_t imm_idle;

  /* pools */
  hl__pool_t timer_pool, imm_pool, task_pool, promise_pool, chained_pool, reaction_pool;

  int live; /* resources that keep hl_loop_close() busy */
  uint32_t als_slots;
  hl_async_resource_t *res_head; /* open user resources */
  struct hl_promise_s *sweep;    /* settled, maybe collectable */
  struct hl_promise_s *unhandled_head, *unhandled_tail;
  hl__exit_listener_t *exit_listeners;
  /* Set by the process module: returns 1 when it handled an uncaught error. */
  int (*on_uncaught)(hl__loop_t *L, hl_error_t *err, int origin, void *origin_obj);

  hl_loop_t *pub;
  uv_loop_t *uv;
  int owns_uv;
  uv_loop_t own_uv;

  struct hl__io_s *io; /* streams and DNS (src/io): request pools, read buffers */
  /* src/io/fs.c: pooled fs requests and read/write-file chains (initialized
   * on first use, destroyed by hl_loop_close) */
  hl__pool_t fs_pool, fs_chain_pool;
  /* module loader (src/module/), created on first use; hl_loop_close calls
   * modsys_close (stops the hooks thread, frees modules, closes its handle). */
  struct hl__modsys_s *modsys;
  void (*modsys_close)(hl__loop_t *L);
  /* process module (src/proc): its state, created on first use; NULL means
   * none of its events, signals or async listeners is in use on this loop. */
  struct hl__proc_s *proc;
};

/* Thread-locals read on hot paths use the initial-exec model: in the shared
 * library the default model calls __tls_get_addr on every access. The cost is
 * static TLS space, which a dlopen() of the library must find free (glibc
 * keeps 512 bytes spare for that): keep what is marked under ~300 bytes
 * (now: hl__current, the clock, the Date cache, the http-hooks count). */
#define HL__TLS_HOT __attribute__((tls_model("initial-exec")))

extern _Thread_local hl__loop_t *hl__current HL__TLS_HOT;

/* slow paths, out of line */
void hl__emit_init(hl__loop_t *L, hl_async_id_t id, const char *type, hl_async_id_t trigger,
                   void *resource);
void hl__emit(hl__loop_t *L, int field, hl_async_id_t id); /* before/after/destroy/resolve */
void hl__hooks_commit(hl__loop_t *L);
void hl__stack_grow(hl__loop_t *L);
int hl__stack_reserve(hl__loop_t *L); /* 0 or HL_ENOMEM */
void hl__stack_corrupted(hl__loop_t *L, hl_async_id_t actual, hl_async_id_t expected)
    __attribute__((noreturn));
void hl__destroy_queue(hl__loop_t *L, hl__async_t *a, void *obj, hl__pool_t *pool);
void hl__destroy_flush(hl__loop_t *L);
void hl__drain(hl__loop_t *L);
void hl__handle_raised(hl__loop_t *L);
void hl__uncaught(hl__loop_t *L, hl_error_t *err, int origin, void *origin_obj);
void hl__fatal(hl__loop_t *L, const char *message, int code) __attribute__((noreturn));
void hl__run_exit_listeners(hl__loop_t *L, int code);
hl_error_t *hl__oom_error(void);

/* Monotonic ns on uv_hrtime()'s scale, from the TSC when it is invariant
 * (src/core/clock.c): for timestamps on hot paths. */
uint64_t hl__clock_ns(void);
int hl__clock_uses_tsc(void); /* 1 once this thread's clock extrapolates the TSC */

/* process module (src/proc), called by the core only when L->proc is set */
extern int hl__exit_code;               /* the process's exit code (hl_process_set_exit_code) */
int hl__proc_loop_empty(hl__loop_t *L); /* beforeExit/exit; 1: work was scheduled, run again */
int hl__al_on_error(hl__loop_t *L, hl_error_t *err); /* AsyncListener error cbs; 1: handled */
void hl__proc_close(hl__loop_t *L);                  /* hl_loop_close: signal handles, listeners */
void hl__proc_rejection_handled(hl__loop_t *L, struct hl_promise_s *p); /* late handler */
int hl__promise_process_rejections(hl__loop_t *L);
void hl__promise_sweep(hl__loop_t *L);
void hl__promise_close_all(hl__loop_t *L);
void hl__timers_close(hl__loop_t *L);
void hl__timers_cancel(hl__loop_t *L);
void hl__timers_free(hl__loop_t *L);
void hl__microtask_push(hl__loop_t *L, hl__job_t *job);
int hl__timers_init(hl__loop_t *L);
void hl__hooks_close(hl__loop_t *L);
void hl__io_free(hl__loop_t *L);           /* src/io/stream.c */
void hl__http_hooks_forget(hl__loop_t *L); /* src/http/hooks.c */

static inline hl__loop_t *hl__L(const hl_loop_t *loop) {
  return loop ? loop->impl : NULL;
}

static inline hl_async_id_t hl__default_trigger(const hl__loop_t *L) {
  return L->default_trigger >= 0 ? L->default_trigger : L->cur.exec_id;
}

/* before/after/destroy/promise_resolve to every enabled hook having it, in
 * enable order: one call, of the only hook having the event or of a function
 * calling them all (hk1). hook_depth counts the dispatches running:
 * enable/disable/destroy inside one edit a copy (hooks.c), applied
 * (hl__hooks_commit) when the outermost one returns, and hl_raise inside one
 * is fatal. An edit waiting sets HL__HD_EDIT in hook_depth, so the decrement
 * after the call is the one test: negative, hl__hk_edit_done. */
#define HL__HD_EDIT    0x80000000u
#define hl__in_hook(L) (((L)->hook_depth & ~HL__HD_EDIT) != 0)
void hl__hk_edit_done(hl__loop_t *L);
HL_INLINE void hl__emit_inline(hl__loop_t *L, int field, hl_async_id_t id) {
  L->hook_depth++;
  ((void (*)(hl_async_id_t, void *))L->hk1[field].fn)(id, L->hk1[field].arg);
  if (HL_UNLIKELY((int32_t)--L->hook_depth < 0))
    hl__hk_edit_done(L);
}

typedef void (*hl__init_fn)(hl_async_id_t, const char *, hl_async_id_t, void *, void *);
HL_INLINE void hl__emit_init_inline(hl__loop_t *L, hl_async_id_t id, const char *type,
                                    hl_async_id_t trigger, void *resource) {
  L->hook_depth++;
  ((hl__init_fn)L->hk1[HL__F_INIT].fn)(id, type, trigger, resource, L->hk1[HL__F_INIT].arg);
  if (HL_UNLIKELY((int32_t)--L->hook_depth < 0))
    hl__hk_edit_done(L);
}

/* Construction: id, trigger, storage frame, init hooks. `trigger` < 0 means the
 * default trigger. */
HL_INLINE void hl__async_init(hl__loop_t *L, hl__async_t *a, const char *type,
                              hl_async_id_t trigger, void *resource) {
  a->id = ++L->next_id;
  a->trigger_id = trigger >= 0 ? trigger : hl__default_trigger(L);
  a->frame = L->cur.frame;
  if (a->frame)
    a->frame->refs++;
  a->resource = resource;
  a->flags = HL__A_LIVE;
  if (HL_UNLIKELY(L->hook_fields[HL__F_INIT]))
    hl__emit_init_inline(L, a->id, type, a->trigger_id, resource);
}

/* Append a's destroy to the open batch (room checked by the caller). A pooled
 * object waits in its pool's limbo (it cannot be handed out again before the
 * destroy is out); an object of its owner's (pool NULL: user resources) is
 * marked, for hl_async_resource_init's re-init check. */
HL_INLINE void hl__dq_push(hl__loop_t *L, hl__async_t *a, void *obj, hl__pool_t *pool) {
  L->dq[L->dq_len++].id = a->id;
  if (pool) {
    hl__pool_defer(L, pool, obj);
  } else {
    a->flags = HL__A_DESTROYED | HL__A_DESTROY_QUEUED;
    a->gen = L->dq_gen;
  }
}

/* End of life: release the frame; destroy is queued (if anybody listens) and
 * the object goes back to `pool` (may be NULL) once it has been emitted. */
HL_INLINE void hl__async_end(hl__loop_t *L, hl__async_t *a, void *obj, hl__pool_t *pool) {
  hl__frame_t *f = a->frame;
  a->frame = NULL;
  hl__frame_release(L, f);
  /* flags: not live (MANUAL is read only while live); an object of its
   * owner's queued for its destroy gets its final flags once, in hl__dq_push. */
  if (HL_LIKELY(!L->hook_fields[HL__F_DESTROY])) {
    a->flags = HL__A_DESTROYED;
    if (pool)
      hl__pool_put(pool, obj);
  } else if (HL_LIKELY(L->dq_len < L->dq_lim) && !pool) { /* batch open, room */
    hl__dq_push(L, a, obj, pool);
  } else {
    a->flags = HL__A_DESTROYED;
    if (HL_LIKELY(L->dq_len < L->dq_lim))
      hl__dq_push(L, a, obj, pool);
    else
      hl__destroy_queue(L, a, obj, pool);
  }
}

/* Install a resource's context as the current one (taking a reference on
 * its frame); the caller saved or releases what was there. */
HL_INLINE void hl__install(hl__loop_t *L, const hl__async_t *a) {
  L->cur.exec_id = a->id;
  L->cur.trigger_id = a->trigger_id;
  L->cur.resource = a->resource;
  L->cur.frame = a->frame;
  if (a->frame)
    a->frame->refs++;
}

/* The after hooks of `id`, then the stack check Node makes. */
HL_INLINE void hl__after_check(hl__loop_t *L, hl_async_id_t id) {
  if (HL_UNLIKELY(L->hook_fields[HL__F_AFTER]))
    hl__emit_inline(L, HL__F_AFTER, id);
  if (HL_UNLIKELY(L->cur.exec_id != id)) /* (depth > 0: callers pushed, or checked) */
    hl__stack_corrupted(L, L->cur.exec_id, id);
}

/* Enter a resource's execution context. */
HL_INLINE void hl__push(hl__loop_t *L, const hl__async_t *a) {
  if (HL_UNLIKELY(L->depth == L->stack_cap))
    hl__stack_grow(L);
  L->stack[L->depth++] = L->cur;
  hl__install(L, a);
  if (HL_UNLIKELY(L->hook_fields[HL__F_BEFORE]))
    hl__emit_inline(L, HL__F_BEFORE, a->id);
}

/* Leave it: after hooks, then the stack check, then restore. */
HL_INLINE void hl__pop(hl__loop_t *L, hl_async_id_t id) {
  hl__after_check(L, id);
  hl__frame_t *f = L->cur.frame;
  L->cur = L->stack[--L->depth];
  hl__frame_release(L, f);
}

/* Leave the context of `id` and enter a's in one step: the hooks see what
 * hl__pop(L, id) then hl__push(L, a) emit (after, the stack check, before),
 * the context below is neither restored nor saved again. Only for a caller
 * that knows nothing else would run between the two: no error raised, no
 * drain due (hl__after_callback), no code that reads the context. */
HL_INLINE void hl__swap(hl__loop_t *L, hl_async_id_t id, const hl__async_t *a) {
  hl__after_check(L, id);
  hl__frame_t *f = L->cur.frame;
  hl__install(L, a);
  hl__frame_release(L, f);
  if (HL_UNLIKELY(L->hook_fields[HL__F_BEFORE]))
    hl__emit_inline(L, HL__F_BEFORE, a->id);
}

/* Drain ticks and microtasks when the outermost callback has returned. */
HL_INLINE void hl__after_callback(hl__loop_t *L) {
  if (HL_UNLIKELY(L->npending) && L->depth == 0 && !L->draining)
    hl__drain(L);
}

/* The one path, split so that callbacks of any signature can take it:
 *
 *   hl__loop_t *prev = hl__enter(L, &obj->async);
 *   obj->cb(obj, status, ...);
 *   hl__leave(L, id, prev);        (id: obj->async.id read before the call)
 *
 * enter makes L the thread's current loop and installs the resource's context
 * (before hooks); leave routes an error the callback raised, restores the
 * context (after hooks, stack check) and drains ticks and microtasks when the
 * stack is empty. */
HL_INLINE hl__loop_t *hl__enter(hl__loop_t *L, const hl__async_t *a) {
  hl__loop_t *prev = hl__current;
  hl__current = L;
  hl__push(L, a);
  return prev;
}

HL_INLINE void hl__leave(hl__loop_t *L, hl_async_id_t id, hl__loop_t *prev) {
  if (HL_UNLIKELY(L->raised != NULL))
    hl__handle_raised(L);
  hl__pop(L, id);
  hl__after_callback(L);
  hl__current = prev ? prev : L;
}

/* Run (*fn)(*arg) as a callback of resource `a`. The callback and its
 * argument are read once the context is entered: kept in no register across
 * the before hooks. */
HL_INLINE void hl__invoke(hl__loop_t *L, const hl__async_t *a, hl_fn const *fn, void *const *arg) {
  hl_async_id_t id = a->id;
  hl__loop_t *prev = hl__enter(L, a);
  (*fn)(*arg);
  hl__leave(L, id, prev);
}

#endif
