/* hookloop/tick.h - the next-tick queue and the microtask queue.
 *
 * After every callback hookloop runs (and at the start of hl_run), the
 * next-tick queue drains completely, then the microtask queue, repeated until
 * both are empty: Node's CommonJS order. Promise reactions are microtasks.
 * Ticks are "TickObject" resources, queued microtasks "Microtask" resources,
 * each triggered by the execution id (or default trigger) where it was queued.
 */
#ifndef HOOKLOOP_TICK_H
#define HOOKLOOP_TICK_H

#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Queue cb(arg) on the next-tick queue. 0, HL_EINVAL, HL_ENOMEM. */
int hl_next_tick(hl_loop_t *loop, hl_fn cb, void *arg);

/* Queue cb(arg) on the microtask queue. 0, HL_EINVAL, HL_ENOMEM. */
int hl_queue_microtask(hl_loop_t *loop, hl_fn cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif
