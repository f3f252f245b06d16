/* src/res/tick.c - the next-tick queue (TickObject) and queueMicrotask
 * (Microtask): pooled jobs drained by hl__drain() after every callback.
 */
#include "../core/internal.h"

typedef struct hl__task_s {
  hl__job_t job; /* first: the pool link */
  hl__loop_t *L;
  hl__async_t async;
  hl_fn cb;
  void *arg;
} hl__task_t;

static void hl__task_run(hl__loop_t *L, hl__job_t *job) {
  hl__task_t *t = (hl__task_t *)job;
  L->live--;
  hl__invoke(L, &t->async, &t->cb, &t->arg);
  hl__async_end(L, &t->async, t, &L->task_pool);
}

static hl__task_t *hl__task_new(hl__loop_t *L, hl_fn cb, void *arg, const char *type) {
  if (!L->task_pool.size)
    hl__pool_init(&L->task_pool, sizeof(hl__task_t), 128);
  hl__task_t *t = hl__pool_get(&L->task_pool);
  if (!t)
    return NULL;
  t->job.next = NULL;
  t->job.run = hl__task_run;
  t->L = L;
  t->cb = cb;
  t->arg = arg;
  L->live++;
  L->npending++;
  hl__async_init(L, &t->async, type, -1, t);
  return t;
}

HL_EXPORT int hl_next_tick(hl_loop_t *loop, hl_fn cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  hl__task_t *t = hl__task_new(L, cb, arg, "TickObject");
  if (!t)
    return HL_ENOMEM;
  *L->tick_tail = &t->job;
  L->tick_tail = &t->job.next;
  return 0;
}

HL_EXPORT int hl_queue_microtask(hl_loop_t *loop, hl_fn cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb)
    return HL_EINVAL;
  hl__task_t *t = hl__task_new(L, cb, arg, "Microtask");
  if (!t)
    return HL_ENOMEM;
  *L->micro_tail = &t->job;
  L->micro_tail = &t->job.next;
  return 0;
}

/* Queue an internal job (a promise reaction) on the microtask queue. */
void hl__microtask_push(hl__loop_t *L, hl__job_t *job) {
  job->next = NULL;
  *L->micro_tail = job;
  L->micro_tail = &job->next;
  L->npending++;
}
