/* hookloop/work.h - work on libuv's thread pool, an async resource of type
 * "WORKREQ".
 *
 * hl_queue_work() runs work_cb on a pool thread, then after_cb on the loop
 * thread. Only after_cb is an async callback: it runs in the request's
 * execution context (before/after hooks around it, hl_execution_async_id() is
 * the request's id, the async-local storage active at hl_queue_work() is the
 * one it sees). The request is triggered by the execution id (or
 * default-trigger scope) of its caller; destroy follows after_cb.
 *
 * work_cb runs on another thread, outside any execution context: no hook runs
 * around it, and it must not call any hookloop function (no ids, no storage,
 * no scheduling, no hl_raise): the loop's state belongs to the loop thread.
 * Hand results to after_cb through the request (req->data).
 *
 * The request is caller-allocated (as libuv's uv_work_t): the application
 * usually embeds it in the struct that carries the job's input and output,
 * and hl_cancel() needs to name it. It need not be zeroed, must stay valid
 * from hl_queue_work() until after_cb is called, and may be freed or queued
 * again inside after_cb. While it is pending the loop is busy: hl_loop_close()
 * returns UV_EBUSY.
 */
#ifndef HOOKLOOP_WORK_H
#define HOOKLOOP_WORK_H

#include <stdint.h>
#include <uv.h>
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_work_s hl_work_t;

/* Runs on a pool thread. No hookloop calls allowed (see above). */
typedef void (*hl_work_cb)(hl_work_t *req);

/* Runs on the loop thread once work_cb has returned (status 0) or once the
 * request was cancelled before it started (status UV_ECANCELED; work_cb never
 * ran). */
typedef void (*hl_after_work_cb)(hl_work_t *req, int status);

struct hl_work_s {
  void *data; /* for the application */
  /* private */
  uv_work_t uv;
  struct hl__loop_s *loop;
  hl__async_t async;
  hl_work_cb work_cb;
  hl_after_work_cb after_cb;
  uint32_t state;
};

/* Queue `req`: work_cb(req) on the thread pool, then after_cb(req, status) on
 * the loop thread. Returns 0; HL_EINVAL for NULL loop/req/work_cb/after_cb;
 * HL_ESTATE if `req` is still pending (queued and its after_cb not yet
 * called). Must be called on the loop's thread. */
int hl_queue_work(hl_loop_t *loop, hl_work_t *req, hl_work_cb work_cb, hl_after_work_cb after_cb);

/* Cancel a pending request that no pool thread has started yet: its work_cb
 * will not run and its after_cb gets UV_ECANCELED (with before/after hooks
 * around it, and its destroy, as usual). Returns 0; HL_EINVAL for NULL;
 * UV_EBUSY when work_cb is running or has run (after_cb still follows with
 * status 0); HL_EALREADY when it was already cancelled; HL_ESTATE when the
 * request is not pending (never queued, or after_cb already called). Must be
 * called on the loop's thread. */
int hl_cancel(hl_work_t *req);

#ifdef __cplusplus
}
#endif
#endif
