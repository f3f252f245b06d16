/* src/io/work.c - WORKREQ: work on libuv's thread pool (uv_queue_work).
 *
 * The request is the caller's hl_work_t, which embeds its uv_work_t. work_cb
 * runs on a pool thread outside any execution context: nothing of the loop is
 * touched there. The completion (after_cb, also for a cancelled request) runs
 * on the loop thread through the one execution-context path, hl__enter /
 * hl__leave, around a copy of the request's async part: after_cb may free or
 * re-queue the request, so nothing of it is read once after_cb has returned.
 * The request then ends (destroy queued by id; no pool, the memory is the
 * caller's).
 */
#include "../core/internal.h"

/* hl_work_t.state: magic values, so that a request that was never zeroed is
 * almost never mistaken for a pending one. */
#define HL__WORK_PENDING   0x684c5750u /* "hLWP" */
#define HL__WORK_CANCELLED 0x684c5743u /* "hLWC" */

static void hl__work_run(uv_work_t *u) { /* pool thread */
  hl_work_t *w = hl__container_of(u, hl_work_t, uv);
  w->work_cb(w);
}

static void hl__work_after(uv_work_t *u, int status) { /* loop thread */
  hl_work_t *w = hl__container_of(u, hl_work_t, uv);
  hl__loop_t *L = w->loop;
  hl__async_t a = w->async;
  hl_after_work_cb cb = w->after_cb;
  w->state = 0;
  L->live--;
  hl__loop_t *prev = hl__enter(L, &a);
  cb(w, status);
  hl__leave(L, a.id, prev);
  hl__async_end(L, &a, NULL, NULL);
}

HL_EXPORT int hl_queue_work(hl_loop_t *loop, hl_work_t *req, hl_work_cb work_cb,
                            hl_after_work_cb after_cb) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !req || !work_cb || !after_cb)
    return HL_EINVAL;
  if (req->state == HL__WORK_PENDING || req->state == HL__WORK_CANCELLED)
    return HL_ESTATE;
  req->loop = L;
  req->work_cb = work_cb;
  req->after_cb = after_cb;
  int err = uv_queue_work(L->uv, &req->uv, hl__work_run, hl__work_after);
  if (err)
    return err;
  req->state = HL__WORK_PENDING;
  L->live++;
  hl__async_init(L, &req->async, "WORKREQ", -1, req);
  return 0;
}

HL_EXPORT int hl_cancel(hl_work_t *req) {
  if (!req)
    return HL_EINVAL;
  if (req->state == HL__WORK_CANCELLED)
    return HL_EALREADY;
  if (req->state != HL__WORK_PENDING)
    return HL_ESTATE;
  int err = uv_cancel((uv_req_t *)&req->uv);
  if (err == 0)
    req->state = HL__WORK_CANCELLED;
  return err;
}
