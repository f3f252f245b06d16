/* hookloop/context.h - where code runs: execution and trigger ids, user async
 * resources (Node's AsyncResource), and async-local storage.
 *
 * Every resource carries the async-local storage context that was active when
 * it was created: an immutable frame captured by pointer at init and swapped in
 * around each of its callbacks (the AsyncContextFrame design). Propagation costs
 * no hook and no per-callback allocation; hl_als_get_store() is O(1).
 */
#ifndef HOOKLOOP_CONTEXT_H
#define HOOKLOOP_CONTEXT_H

#include <stdint.h>
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ids ------------------------------------------------------------------ */

/* Id of the resource whose callback is running on this thread's current loop;
 * 1 at top level (no callback running), 0 when no loop exists. */
hl_async_id_t hl_execution_async_id(void);

/* Id of what triggered the running resource; 0 at top level. */
hl_async_id_t hl_trigger_async_id(void);

/* The object passed as `resource` to init for the running resource; at top
 * level the loop's root resource (the hl_loop_t); NULL with no loop. */
void *hl_execution_async_resource(void);

typedef void (*hl_fn)(void *arg);

/* Run fn(arg) with `trigger_id` as the default trigger of every resource created
 * inside it (Node's defaultTriggerAsyncIdScope). Restored afterwards. Returns 0,
 * HL_EINVAL (NULL loop/fn, trigger_id < 0), or HL_ERAISED if fn raised (the
 * error stays pending: return from your callback). */
int hl_default_trigger_scope(hl_loop_t *loop, hl_async_id_t trigger_id, hl_fn fn, void *arg);

/* ---- private: the part of every resource the execution-context path uses --- */
typedef struct hl__async_s {
  hl_async_id_t id;
  hl_async_id_t trigger_id;
  struct hl__frame_s *frame; /* async-local storage context captured at init */
  void *resource;
  uint32_t flags;
  uint32_t gen;
} hl__async_t;

/* ---- user resources (Node's AsyncResource) -------------------------------- */

#define HL_DEFAULT_TRIGGER ((hl_async_id_t)-1)

enum {
  /* The application calls hl_async_resource_emit_destroy(). Without it, a
   * resource still open when the loop closes gets its destroy then (hookloop's
   * stand-in for Node's garbage collection). */
  HL_REQUIRE_MANUAL_DESTROY = 1u << 0
};

typedef struct hl_async_resource_s {
  void *data; /* for the application */
  /* private */
  struct hl__loop_s *loop;
  struct hl_async_resource_s *next, *prev;
  hl__async_t async;
} hl_async_resource_t;

/* Initialize a user resource of `type` (non-empty; read only during the call)
 * and emit init. trigger_id: an id >= 0, or HL_DEFAULT_TRIGGER (the default
 * trigger scope, else the execution id). Returns 0; HL_EINVAL (NULL loop/res);
 * HL_EASYNCTYPE (NULL or empty type); HL_EASYNCID (trigger_id < -1);
 * HL_EINVAL (unknown flags). A resource whose destroy is still queued may be
 * re-initialized: its destroy is emitted before the new init. */
int hl_async_resource_init(hl_loop_t *loop, hl_async_resource_t *res, const char *type,
                           hl_async_id_t trigger_id, unsigned flags);

/* Run fn(arg) in the resource's execution context (runInAsyncScope): before,
 * fn, after, with the resource's storage context. Recursion is fine. Returns 0;
 * HL_EINVAL; HL_ESTATE (destroyed); HL_ENOMEM (fn not run); HL_ERAISED if fn raised (the error
 * keeps propagating to the enclosing callback, or is uncaught at top level). */
int hl_async_resource_run(hl_async_resource_t *res, hl_fn fn, void *arg);

/* Embedder API: enter / leave the resource's context without a function
 * (emitBefore / emitAfter). Leave must match the innermost enter: a mismatch is
 * fatal ("Error: async hook stack has become corrupted (actual: X, expected: Y)"
 * on stderr, exit code 1), as in Node. Returns 0, HL_EINVAL, HL_ESTATE,
 * HL_ENOMEM (enter). */
int hl_async_resource_enter(hl_async_resource_t *res);
int hl_async_resource_leave(hl_async_resource_t *res);

/* Queue the resource's destroy (emitted with the next batch). Returns 0;
 * HL_EINVAL; HL_ESTATE when already destroyed. The memory stays the caller's. */
int hl_async_resource_emit_destroy(hl_async_resource_t *res);

hl_async_id_t hl_async_resource_async_id(const hl_async_resource_t *res);   /* -1 if NULL */
hl_async_id_t hl_async_resource_trigger_id(const hl_async_resource_t *res); /* -1 if NULL */

/* A function bound to a resource (AsyncResource.bind): calling it runs fn(arg)
 * in the resource's context. `res` must outlive the binding. */
typedef struct hl_bound_fn_s {
  hl_async_resource_t *res;
  hl_fn fn;
  void *arg;
} hl_bound_fn_t;
int hl_async_resource_bind(hl_async_resource_t *res, hl_fn fn, void *arg, hl_bound_fn_t *out);
int hl_bound_fn_call(const hl_bound_fn_t *bound); /* as hl_async_resource_run */

/* ---- async-local storage (Node's AsyncLocalStorage) ----------------------- */

typedef struct hl_als_s {
  void *data; /* for the application */
  /* private */
  struct hl__loop_s *loop;
  uint32_t slot;
  uint32_t disabled;
  void *default_store;
} hl_als_t;

/* Initialize a storage on `loop`; get_store returns `default_store` where no
 * store was set. Returns 0, HL_EINVAL, HL_ENOMEM. Storages live as long as the
 * loop (no close). */
int hl_als_init(hl_loop_t *loop, hl_als_t *als, void *default_store);

/* Run fn(arg) with `store` as this storage's store; everything fn schedules
 * carries it. The previous store is restored after fn, also when fn raised.
 * Returns 0; HL_EINVAL; HL_ENOMEM (fn not run); HL_ERAISED (fn raised; the
 * error keeps propagating). Clears a disable. */
int hl_als_run(hl_als_t *als, void *store, hl_fn fn, void *arg);

/* Run fn(arg) outside this storage's context: get_store returns NULL inside;
 * other storages are left alone. Returns as hl_als_run(). */
int hl_als_exit(hl_als_t *als, hl_fn fn, void *arg);

/* The current store: O(1), no allocation. NULL for a NULL or disabled storage;
 * the default store where none was set. */
void *hl_als_get_store(const hl_als_t *als);

/* Set the store for the rest of the current synchronous execution and for
 * everything it schedules (enterWith). Returns 0, HL_EINVAL, HL_ENOMEM. */
int hl_als_enter_with(hl_als_t *als, void *store);

/* get_store returns NULL everywhere until the next run or enter_with. */
int hl_als_disable(hl_als_t *als);

/* A snapshot of every storage's current store (AsyncLocalStorage.snapshot):
 * hl_als_snapshot_run() runs a function in the captured context. Close it to
 * release the context. Returns 0, HL_EINVAL. */
typedef struct hl_als_snapshot_s {
  struct hl__loop_s *loop;
  struct hl__frame_s *frame;
} hl_als_snapshot_t;
int hl_als_snapshot(hl_loop_t *loop, hl_als_snapshot_t *out);
int hl_als_snapshot_run(const hl_als_snapshot_t *snap, hl_fn fn, void *arg);
void hl_als_snapshot_close(hl_als_snapshot_t *snap);

#ifdef __cplusplus
}
#endif
#endif
