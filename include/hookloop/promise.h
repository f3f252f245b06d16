/* hookloop/promise.h - promises for C, with Node's async_hooks semantics.
 *
 * A promise is a "PROMISE" async resource: init when created (a chained
 * promise is triggered by its parent, a new one by the execution id or default
 * trigger), promise_resolve when its resolve or reject is invoked, before/after
 * around each reaction with the chained promise's id (so a reaction runs in the
 * execution context, and async-local storage, that was current when `then`
 * was called), destroy when hookloop frees it.
 *
 * Values are `void *` with an optional destructor; a promise owns its value and
 * shares it with promises that pass it through (reference counted).
 *
 * Lifetime: a pending promise stays valid until it settles. Once settled, it is
 * freed at the end of the turn (the current callback and the tick/microtask
 * drain after it) unless retained. To keep a pointer longer, call
 * hl_promise_retain() and later hl_promise_release(). Promises still alive
 * when the loop closes are freed then.
 *
 * A rejection that no handler takes by the end of the microtask drain goes to
 * the unhandled-rejection path: by default it is raised as an uncaught error
 * ("Error: <message>" on stderr, exit code 1).
 */
#ifndef HOOKLOOP_PROMISE_H
#define HOOKLOOP_PROMISE_H

#include <stddef.h>
#include "context.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_promise_s hl_promise_t;

typedef enum {
  HL_PROMISE_PENDING = 0,
  HL_PROMISE_FULFILLED = 1,
  HL_PROMISE_REJECTED = 2
} hl_promise_state_t;

/* A reaction. It settles `next` (the chained promise) with hl_promise_resolve,
 * hl_promise_reject or hl_promise_resolve_promise; if it returns without
 * settling it, `next` is fulfilled with NULL (JavaScript's undefined); if it
 * raises (hl_raise), `next` is rejected with that error. `value` is the
 * parent's value or reason, borrowed for the call. */
typedef void (*hl_then_fn)(hl_promise_t *next, void *value, void *arg);

/* Create a pending promise. 0, HL_EINVAL, HL_ENOMEM. */
int hl_promise_new(hl_loop_t *loop, hl_promise_t **out);

/* Fulfill / reject with `value` (ownership passes to the promise; `dtor` frees
 * it, may be NULL). Settling a promise already settled (or resolved with
 * another promise) does nothing and returns HL_EALREADY; on any error the
 * value stays the caller's. */
int hl_promise_resolve(hl_promise_t *p, void *value, hl_free_fn dtor);
int hl_promise_reject(hl_promise_t *p, void *reason, hl_free_fn dtor);

/* Reject with a new hl_error_t (hl_promise_error() reads it back). */
int hl_promise_reject_error(hl_promise_t *p, int code, const char *fmt, ...);

/* Resolve `p` with `other`: p follows other's state (adoption, as resolving
 * with a thenable). HL_EINVAL when p == other (a cycle, TypeError in JS). */
int hl_promise_resolve_promise(hl_promise_t *p, hl_promise_t *other);

/* Chain: returns in *out a promise settled by the reaction that runs (as a
 * microtask) when `p` settles. A NULL handler passes the state through.
 * `out` may be NULL. 0, HL_EINVAL, HL_ENOMEM. */
int hl_promise_then(hl_promise_t *p, hl_then_fn on_fulfilled, hl_then_fn on_rejected, void *arg,
                    hl_promise_t **out);
int hl_promise_catch(hl_promise_t *p, hl_then_fn on_rejected, void *arg, hl_promise_t **out);

/* on_finally(arg) runs when p settles; the chained promise then takes p's
 * state and value, unless on_finally raised (then it is rejected with that). */
int hl_promise_finally(hl_promise_t *p, hl_fn on_finally, void *arg, hl_promise_t **out);

/* Combinators. The array of inputs is read during the call only; n may be 0.
 * all: fulfilled with an hl_promise_values_t of the values in input order, or
 *      rejected with the first reason.
 * race: settled as the first input to settle (pending forever if n == 0).
 * any: fulfilled with the first value; rejected when all reject, with an
 *      hl_promise_values_t of the reasons (hl_promise_error() gives
 *      HL_EAGGREGATE "All promises were rejected").
 * all_settled: fulfilled with an hl_promise_settled_t. */
typedef struct hl_promise_values_s {
  size_t n;
  void *values[];
} hl_promise_values_t;

typedef struct hl_promise_outcome_s {
  hl_promise_state_t state;
  void *value; /* value or reason */
} hl_promise_outcome_t;

typedef struct hl_promise_settled_s {
  size_t n;
  hl_promise_outcome_t outcomes[];
} hl_promise_settled_t;

int hl_promise_all(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n, hl_promise_t **out);
int hl_promise_race(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n, hl_promise_t **out);
int hl_promise_any(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n, hl_promise_t **out);
int hl_promise_all_settled(hl_loop_t *loop, hl_promise_t *const *inputs, size_t n,
                           hl_promise_t **out);

/* Inspection. */
hl_promise_state_t hl_promise_state(const hl_promise_t *p); /* PENDING for NULL */
void *hl_promise_value(const hl_promise_t *p);              /* value or reason; NULL if pending */
/* The reason as an error when p was rejected by hl_raise, hl_promise_reject_error
 * or an any() with all inputs rejected; NULL otherwise. */
const hl_error_t *hl_promise_error(const hl_promise_t *p);
hl_async_id_t hl_promise_async_id(const hl_promise_t *p); /* -1 for NULL */

/* Keep a promise alive past the end of the turn; release when done. */
int hl_promise_retain(hl_promise_t *p);
void hl_promise_release(hl_promise_t *p);

#ifdef __cplusplus
}
#endif
#endif
