/* hookloop/timer.h - timeouts, intervals and immediates (Node's setTimeout,
 * setInterval, setImmediate), each an async resource.
 *
 * The library owns the timer objects (pooled, no allocation per timer once
 * warm); the application holds a small hl_timer_t / hl_immediate_t reference
 * that stays safe to clear after the timer has run: clearing a finished timer
 * is a no-op.
 *
 * Types as Node's: "Timeout" (setTimeout and setInterval) and "Immediate". A
 * timer created in another timer's callback is triggered by it. An interval
 * keeps one id for all its runs (one before/after pair per run). As in Node,
 * a delay of 0 is run as 1 ms; inside an I/O callback an immediate runs before
 * any timer.
 */
#ifndef HOOKLOOP_TIMER_H
#define HOOKLOOP_TIMER_H

#include <stdint.h>
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A reference to a timer; zero-initialize before use if it may be cleared
 * before being set. */
typedef struct hl_timer_s {
  struct hl__timer_s *impl;
  hl_async_id_t id;
} hl_timer_t;

typedef struct hl_immediate_s {
  struct hl__immediate_s *impl;
  hl_async_id_t id;
} hl_immediate_t;

/* Run cb(arg) once after `ms` milliseconds. As Node, a delay of 0 or above
 * 2147483647 runs as 1 ms. `out` may be NULL. Returns 0; HL_EINVAL (NULL
 * loop/cb); HL_ENOMEM. */
int hl_set_timeout(hl_loop_t *loop, hl_fn cb, void *arg, uint64_t ms, hl_timer_t *out);

/* Run cb(arg) every `ms` milliseconds until cleared. Same returns. */
int hl_set_interval(hl_loop_t *loop, hl_fn cb, void *arg, uint64_t ms, hl_timer_t *out);

/* Cancel a timeout or interval (also from inside its own callback). Clearing a
 * timer that already ran or was cleared returns 0 and does nothing; a zeroed
 * reference likewise. HL_EINVAL for NULL. */
int hl_clear_timer(hl_timer_t *timer);

/* ref/unref: whether the timer keeps the loop alive (default: it does).
 * Returns 0, or HL_ESTATE for a finished timer, HL_EINVAL for NULL. */
int hl_timer_ref(hl_timer_t *timer);
int hl_timer_unref(hl_timer_t *timer);

/* 1 if the timer is active (pending), 0 otherwise. */
int hl_timer_active(const hl_timer_t *timer);

/* Run cb(arg) in the check phase of this loop iteration (or the next, when
 * called from an immediate). `out` may be NULL. 0, HL_EINVAL, HL_ENOMEM. */
int hl_set_immediate(hl_loop_t *loop, hl_fn cb, void *arg, hl_immediate_t *out);

/* Cancel an immediate; a no-op returning 0 if it already ran or was cleared. */
int hl_clear_immediate(hl_immediate_t *imm);

#ifdef __cplusplus
}
#endif
#endif
