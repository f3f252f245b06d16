/* hookloop/hooks.h - async hooks: watch every async resource's lifecycle.
 *
 * The C form of Node's async_hooks.createHook(). A hook has five optional
 * callbacks. Semantics follow Node:
 * - init runs synchronously inside the resource's construction;
 * - before/after bracket each callback of the resource, strictly nested (LIFO);
 *   a handle (timer interval, socket) sees 0..N before/after pairs, a request
 *   (timeout, tick, fs request) exactly one;
 * - destroy is deferred: queued when the resource ends, emitted in one batch
 *   after the current loop phase (in the check phase, like Node's immediate),
 *   and before the init of an object that is reused;
 * - promise_resolve fires when a promise's resolve/reject is invoked;
 * - hooks run in the order they were enabled; enabling twice is a no-op;
 * - hl_hook_enable/disable called inside a hook callback take effect when the
 *   outermost hook dispatch returns;
 * - with no hook enabled, the cost is one predictable branch per event.
 * A hook callback must not call hl_raise(): an error raised there is fatal.
 */
#ifndef HOOKLOOP_HOOKS_H
#define HOOKLOOP_HOOKS_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_hook_callbacks_s {
  /* `type` is valid only during the call; `resource` is the object that
   * hl_execution_async_resource() returns inside the resource's callbacks. */
  void (*init)(hl_async_id_t id, const char *type, hl_async_id_t trigger_id, void *resource,
               void *arg);
  void (*before)(hl_async_id_t id, void *arg);
  void (*after)(hl_async_id_t id, void *arg);
  void (*destroy)(hl_async_id_t id, void *arg);
  void (*promise_resolve)(hl_async_id_t id, void *arg);
} hl_hook_callbacks_t;

typedef struct hl_hook_s hl_hook_t;

/* Create a (disabled) hook on `loop`. `callbacks` is copied; any member may be
 * NULL. Returns 0 and sets *out; HL_EINVAL for NULL arguments; HL_ENOMEM. */
int hl_hook_create(hl_loop_t *loop, const hl_hook_callbacks_t *callbacks, void *arg,
                   hl_hook_t **out);

/* Enable: from now on (or, inside a hook callback, from when the outermost
 * hook dispatch returns) the hook sees events. Enabling an enabled hook is a
 * no-op returning 0. HL_EINVAL for NULL; HL_ENOMEM. */
int hl_hook_enable(hl_hook_t *hook);

/* Disable; same timing rule as enable. Disabling a disabled hook returns 0. */
int hl_hook_disable(hl_hook_t *hook);

/* Disable and free the hook. Safe inside a hook callback (freed once the
 * dispatch returns). NULL is ignored. Hooks not destroyed are freed by
 * hl_loop_close(); their pointers are invalid afterwards. */
void hl_hook_destroy(hl_hook_t *hook);

#ifdef __cplusplus
}
#endif
#endif
