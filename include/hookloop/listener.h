/* hookloop/listener.h - AsyncListener, the async-event listener API of Node
 * v0.11 (process.createAsyncListener / addAsyncListener), on top of hooks.
 *
 * A listener is added to the current *listener set*: at top level the loop's,
 * inside a callback the set of the async event whose callback runs. Every
 * async event (any resource: timer, immediate, tick, microtask, promise,
 * signal, user resource...) created while the set is not empty takes a copy
 * of it, with one storage value per listener: create(user_data)'s return value
 * when not NULL, else user_data. Around each callback of that event the copy
 * becomes the current set (so what it queues inherits it) and every attached
 * listener sees before(context, storage) and after(context, storage), where
 * context is the resource (hl_execution_async_resource()).
 *
 * - Listeners stay attached to the events queued while they were in the set
 *   and to what those queue, even after hl_async_listener_remove (remove only
 *   edits the current set): removing in flight still fires before and after.
 * - Adding a listener already in the current set is ignored.
 * - When a callback raises (hl_raise), every attached listener's
 *   error(storage, err) runs (listeners added to the current set during the
 *   callback too, with user_data); if any returns true the error is handled
 *   and execution continues, else it goes on to uncaughtException. `after` is
 *   not called for a callback that raised.
 * - A raise inside `before` (or `after`, `create`) calls the error callbacks
 *   once and the error then propagates as uncaught whatever they return (Node
 *   v0.11's test-asynclistener-error-throw-in-before). The callback itself
 *   still runs (C cannot unwind): its own raise is ignored, the first wins.
 * - A raise inside `error` ends the process with exit code 7.
 * Hook ordering: listener callbacks run inside the hook dispatch, so they must
 * not enable or disable hooks. Each event with listeners costs one pooled
 * record; with no listener alive the internal hook is disabled.
 */
#ifndef HOOKLOOP_LISTENER_H
#define HOOKLOOP_LISTENER_H

#include <stdbool.h>
#include "error.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_async_listener_callbacks_s {
  void *(*create)(void *user_data);
  void (*before)(void *context, void *storage);
  void (*after)(void *context, void *storage);
  bool (*error)(void *storage, const hl_error_t *err);
} hl_async_listener_callbacks_t;

typedef struct hl_async_listener_s hl_async_listener_t;

/* Create a listener (not yet added). `callbacks` is copied; any member may be
 * NULL. 0 and *out; HL_EINVAL; HL_ENOMEM. */
int hl_async_listener_create(hl_loop_t *loop, const hl_async_listener_callbacks_t *callbacks,
                             void *user_data, hl_async_listener_t **out);

/* Add to / remove from the current listener set. add: 0 (also when already
 * there), HL_EINVAL, HL_ENOMEM. remove: 0, HL_EINVAL, HL_ENOENT (not in the
 * current set). */
int hl_async_listener_add(hl_async_listener_t *listener);
int hl_async_listener_remove(hl_async_listener_t *listener);

/* Remove the listener from every set and free it once no event holds it; its
 * callbacks are not called any more. NULL is ignored. Listeners not destroyed
 * are freed by hl_loop_close(). */
void hl_async_listener_destroy(hl_async_listener_t *listener);

#ifdef __cplusplus
}
#endif
#endif
