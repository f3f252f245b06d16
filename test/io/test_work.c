/* test/io/test_work.c - work on the thread pool (include/hookloop/work.h).
 *
 * A WORKREQ is triggered by its caller; work_cb runs on a pool thread with no
 * hook around it (every hook call happens on the loop thread); after_cb runs
 * inside the request's context with one before/after pair, and destroy
 * follows. A cancelled request (libuv pool held busy in a child process with
 * one pool thread) gets UV_ECANCELED and still its before/after/destroy. The
 * request may be freed or queued again inside after_cb. Bad arguments are
 * refused; the loop refuses to close while a request is pending; the store of
 * the caller is seen in after_cb; an error raised in after_cb is uncaught as
 * anywhere else.
 *
 * Node has no public thread-pool work API; its WORKREQ resources (zlib,
 * crypto) follow the same request rules as FSREQCALLBACK. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "child.h"
#include "counting.h"
#include "record.h"

static hl_loop_t loop;
static hl_rec_t rec;
static hl_log_t LOG;

TestSuite(work, .init = hl_counting_on, .fini = hl_counting_off);

static void start(void) {
  cr_assert_eq(hl_rec_start(&loop, &rec, &LOG, 0), 0);
}

static void finish(void) {
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "%ld allocation(s) left after close", hl_counting_live());
}

static void check_inv(hl_async_id_t id, int init, int before, int after, int destroy) {
  cr_assert_eq(hl_log_count(&LOG, EV_INIT, id), init, "%lld init", (long long)id);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), before, "%lld before", (long long)id);
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), after, "%lld after", (long long)id);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), destroy, "%lld destroy", (long long)id);
}

static hl_async_id_t last_init_id(const char *type) {
  cr_assert_gt(LOG.n, 0);
  const hl_ev_t *e = &LOG.ev[LOG.n - 1];
  cr_assert_eq(e->kind, EV_INIT, "init emitted before hl_queue_work returned");
  cr_assert_str_eq(e->type, type);
  return e->id;
}

/* ---- hooks, threads, triggers ----------------------------------------------- */

static pthread_t main_thread;
static atomic_int hooks_off_thread;

static void on_thread_check(void) {
  if (!pthread_equal(pthread_self(), main_thread))
    atomic_fetch_add(&hooks_off_thread, 1);
}
static void tc_init(hl_async_id_t id, const char *t, hl_async_id_t trig, void *res, void *arg) {
  (void)id, (void)t, (void)trig, (void)res, (void)arg;
  on_thread_check();
}
static void tc_ev(hl_async_id_t id, void *arg) {
  (void)id, (void)arg;
  on_thread_check();
}

typedef struct job_s {
  hl_work_t req; /* embedded, as an application would */
  int input, output;
  pthread_t ran_on;
  int after_calls, status;
  hl_async_id_t queued_id, exec, trigger;
  void *resource;
} job_t;

static void square(hl_work_t *req) {
  job_t *j = req->data;
  j->ran_on = pthread_self();
  j->output = j->input * j->input;
}

static void job_after(hl_work_t *req, int status) {
  job_t *j = req->data;
  cr_assert(pthread_equal(pthread_self(), main_thread), "after_cb runs on the loop thread");
  j->after_calls++;
  j->status = status;
  j->exec = hl_execution_async_id();
  j->trigger = hl_trigger_async_id();
  j->resource = hl_execution_async_resource();
}

static job_t jobs[9];
static hl_async_id_t timer_id;

static void queue_job(job_t *j, int input) {
  j->req.data = j;
  j->input = input;
  cr_assert_eq(hl_queue_work(&loop, &j->req, square, job_after), 0);
  j->queued_id = last_init_id("WORKREQ");
}

static void from_timer(void *arg) {
  (void)arg;
  timer_id = hl_execution_async_id();
  queue_job(&jobs[8], 12);
}

Test(work, workreq_runs_on_a_pool_thread_and_completes_in_its_own_context) {
  start();
  main_thread = pthread_self();
  atomic_store(&hooks_off_thread, 0);
  hl_hook_t *tc;
  hl_hook_callbacks_t cbs = {tc_init, tc_ev, tc_ev, tc_ev, tc_ev};
  cr_assert_eq(hl_hook_create(&loop, &cbs, NULL, &tc), 0);
  cr_assert_eq(hl_hook_enable(tc), 0);
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < 8; i++)
    queue_job(&jobs[i], i + 1);
  cr_assert_eq(hl_loop_alive_resources(&loop), 8);
  cr_assert_eq(hl_set_timeout(&loop, from_timer, NULL, 1, NULL), 0);
  finish();
  cr_assert_eq(atomic_load(&hooks_off_thread), 0, "a hook ran on a pool thread");
  for (int i = 0; i < 9; i++) {
    job_t *j = &jobs[i];
    cr_assert_eq(j->after_calls, 1, "job %d: after_cb once", i);
    cr_assert_eq(j->status, 0);
    cr_assert_eq(j->output, j->input * j->input, "job %d: work_cb ran", i);
    cr_assert(!pthread_equal(j->ran_on, main_thread), "job %d: work_cb on a pool thread", i);
    cr_assert_eq(j->exec, j->queued_id, "job %d: after_cb in the request's context", i);
    cr_assert_eq(j->resource, &j->req, "job %d: the resource is the request", i);
    hl_async_id_t want = i < 8 ? 1 : timer_id;
    cr_assert_eq(j->trigger, want, "job %d trigger", i);
    cr_assert_eq(hl_log_init_of(&LOG, j->queued_id)->trigger, want);
    cr_assert_eq(hl_log_init_of(&LOG, j->queued_id)->resource, &j->req);
    check_inv(j->queued_id, 1, 1, 1, 1);
    int b = hl_log_index(&LOG, EV_BEFORE, j->queued_id, -1);
    int a = hl_log_index(&LOG, EV_AFTER, j->queued_id, -1);
    int d = hl_log_index(&LOG, EV_DESTROY, j->queued_id, -1);
    cr_assert(b < a && a < d, "job %d: before < after < destroy", i);
    cr_assert_eq(a, b + 1, "job %d: nothing of the request between its before and after", i);
  }
  cr_assert_eq(hl_log_count_type(&LOG, "WORKREQ"), 9);
}

/* ---- after_cb may free or re-queue the request ------------------------------- */

static int freed_after;
static void free_in_after(hl_work_t *req, int status) {
  cr_assert_eq(status, 0);
  freed_after++;
  free(req);
}
static void nothing(hl_work_t *req) {
  (void)req;
}

static int requeues;
static hl_async_id_t requeue_ids[4];
static void requeue_after(hl_work_t *req, int status) {
  cr_assert_eq(status, 0);
  requeue_ids[requeues] = hl_execution_async_id();
  if (++requeues < 4) {
    cr_assert_eq(hl_queue_work(&loop, req, nothing, requeue_after), 0);
    cr_assert_eq(hl_queue_work(&loop, req, nothing, requeue_after), HL_ESTATE, "now pending");
  }
}

Test(work, after_cb_may_free_or_requeue_its_request) {
  start();
  for (int i = 0; i < 4; i++) {
    hl_work_t *req = malloc(sizeof *req); /* not zeroed: need not be */
    cr_assert_not_null(req);
    memset(req, 0xA5, sizeof *req);
    cr_assert_eq(hl_queue_work(&loop, req, nothing, free_in_after), 0);
  }
  hl_work_t again;
  memset(&again, 0, sizeof again);
  cr_assert_eq(hl_queue_work(&loop, &again, nothing, requeue_after), 0);
  finish();
  cr_assert_eq(freed_after, 4);
  cr_assert_eq(requeues, 4);
  cr_assert_eq(hl_log_init_of(&LOG, requeue_ids[0])->trigger, 1);
  for (int i = 1; i < 4; i++) {
    cr_assert_neq(requeue_ids[i], requeue_ids[i - 1], "a new id each time");
    cr_assert_eq(hl_log_init_of(&LOG, requeue_ids[i])->trigger, requeue_ids[i - 1],
                 "queued in the previous one's after_cb");
    check_inv(requeue_ids[i], 1, 1, 1, 1);
  }
  cr_assert_eq(hl_log_count_type(&LOG, "WORKREQ"), 8);
}

/* ---- cancel (in a child: one pool thread, held busy) -------------------------- */

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      printf("FAIL line %d: %s\n", __LINE__, #cond);                                               \
      fflush(stdout);                                                                              \
      exit(2);                                                                                     \
    }                                                                                              \
  } while (0)

static uv_sem_t started, release;
static atomic_int target_ran;
static int blocker_status = 1, target_status = 1, target_afters;
static hl_async_id_t target_exec;

static void blocker_work(hl_work_t *req) {
  (void)req;
  uv_sem_post(&started);
  uv_sem_wait(&release);
}
static void target_work(hl_work_t *req) {
  (void)req;
  atomic_store(&target_ran, 1);
}
static void blocker_after(hl_work_t *req, int status) {
  (void)req;
  blocker_status = status;
}
static void target_after(hl_work_t *req, int status) {
  (void)req;
  target_status = status;
  target_afters++;
  target_exec = hl_execution_async_id();
  CHECK(hl_cancel(req) == HL_ESTATE); /* no longer pending */
}

static void cancel_child(void *arg) {
  (void)arg;
  setenv("UV_THREADPOOL_SIZE", "1", 1); /* read when the pool starts */
  CHECK(uv_sem_init(&started, 0) == 0 && uv_sem_init(&release, 0) == 0);
  CHECK(hl_rec_start(&loop, &rec, &LOG, 0) == 0);
  hl_work_t blocker, target;
  memset(&target, 0, sizeof target);
  CHECK(hl_cancel(&target) == HL_ESTATE); /* never queued */
  CHECK(hl_queue_work(&loop, &blocker, blocker_work, blocker_after) == 0);
  uv_sem_wait(&started); /* the only pool thread is inside blocker_work */
  CHECK(hl_queue_work(&loop, &target, target_work, target_after) == 0);
  hl_async_id_t tid = LOG.ev[LOG.n - 1].id;
  CHECK(hl_cancel(&target) == 0);
  CHECK(hl_cancel(&target) == HL_EALREADY);
  CHECK(hl_cancel(&blocker) == UV_EBUSY); /* running */
  CHECK(hl_loop_close(&loop) == UV_EBUSY);
  uv_sem_post(&release);
  CHECK(hl_run(&loop, HL_RUN_DEFAULT) == 0);
  CHECK(blocker_status == 0);
  CHECK(target_status == UV_ECANCELED);
  CHECK(target_afters == 1);
  CHECK(atomic_load(&target_ran) == 0);
  CHECK(target_exec == tid);
  CHECK(hl_log_count(&LOG, EV_INIT, tid) == 1 && hl_log_count(&LOG, EV_BEFORE, tid) == 1 &&
        hl_log_count(&LOG, EV_AFTER, tid) == 1 && hl_log_count(&LOG, EV_DESTROY, tid) == 1);
  CHECK(hl_cancel(&blocker) == HL_ESTATE); /* done */
  CHECK(hl_loop_close(&loop) == 0);
  CHECK(hl_counting_live() == 0);
  uv_sem_destroy(&started);
  uv_sem_destroy(&release);
  printf("cancel ok\n");
}

Test(work, a_cancelled_request_gets_ecanceled_and_its_full_lifecycle) {
  hl_child_result_t r;
  hl_child_run(cancel_child, NULL, &r);
  cr_assert(r.exited, "child killed by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 0, "child failed: %s%s", r.out, r.err);
  cr_assert_str_eq(r.out, "cancel ok\n");
}

/* ---- async-local storage ------------------------------------------------------ */

static hl_als_t als;
static char STORE_A[] = "A", STORE_B[] = "B";
static hl_work_t als_req[2];
static void *als_seen[2];
static void als_after(hl_work_t *req, int status) {
  cr_assert_eq(status, 0);
  als_seen[req - als_req] = hl_als_get_store(&als);
}
static void als_queue(void *arg) {
  hl_work_t *req = arg;
  cr_assert_eq(hl_queue_work(&loop, req, nothing, als_after), 0);
}

Test(work, after_cb_sees_the_store_active_when_the_work_was_queued) {
  start();
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  memset(als_req, 0, sizeof als_req);
  cr_assert_eq(hl_als_run(&als, STORE_A, als_queue, &als_req[0]), 0);
  cr_assert_eq(hl_als_run(&als, STORE_B, als_queue, &als_req[1]), 0);
  finish();
  cr_assert_eq(als_seen[0], STORE_A);
  cr_assert_eq(als_seen[1], STORE_B);
}

/* ---- bad arguments and states ----------------------------------------------------- */

static void never_after(hl_work_t *req, int status) {
  (void)req;
  (void)status;
  cr_assert_fail("after_cb of a refused request ran");
}
static int pending_done;
static void pending_after(hl_work_t *req, int status) {
  (void)req;
  cr_assert_eq(status, 0);
  pending_done++;
}

Test(work, bad_arguments_are_refused) {
  start();
  hl_work_t req, other;
  memset(&req, 0, sizeof req);
  memset(&other, 0, sizeof other);
  hl_loop_t closed = {0};
  cr_assert_eq(hl_queue_work(NULL, &req, nothing, never_after), HL_EINVAL);
  cr_assert_eq(hl_queue_work(&closed, &req, nothing, never_after), HL_EINVAL);
  cr_assert_eq(hl_queue_work(&loop, NULL, nothing, never_after), HL_EINVAL);
  cr_assert_eq(hl_queue_work(&loop, &req, NULL, never_after), HL_EINVAL);
  cr_assert_eq(hl_queue_work(&loop, &req, nothing, NULL), HL_EINVAL);
  cr_assert_eq(hl_cancel(NULL), HL_EINVAL);
  cr_assert_eq(hl_cancel(&other), HL_ESTATE, "never queued");
  cr_assert_eq(LOG.n, 0, "a refused call emits nothing");
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);

  cr_assert_eq(hl_queue_work(&loop, &req, nothing, pending_after), 0);
  cr_assert_eq(hl_queue_work(&loop, &req, nothing, pending_after), HL_ESTATE, "still pending");
  cr_assert_eq(hl_log_count_type(&LOG, "WORKREQ"), 1);
  finish();
  cr_assert_eq(pending_done, 1);
  cr_assert_eq(hl_cancel(&req), HL_ESTATE, "completed");
}

/* ---- the loop is busy while work is pending ------------------------------------- */

Test(work, loop_close_returns_ebusy_while_work_is_pending) {
  start();
  hl_work_t req;
  memset(&req, 0, sizeof req);
  pending_done = 0;
  cr_assert_eq(hl_queue_work(&loop, &req, nothing, pending_after), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  finish();
  cr_assert_eq(pending_done, 1);
}

Test(work, joined_loop_close_returns_ebusy_while_work_is_pending) {
  uv_loop_t uv;
  cr_assert_eq(uv_loop_init(&uv), 0);
  cr_assert_eq(hl_loop_init_uv(&loop, &uv), 0);
  hl_work_t req;
  memset(&req, 0, sizeof req);
  pending_done = 0;
  cr_assert_eq(hl_queue_work(&loop, &req, nothing, pending_after), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(pending_done, 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(uv_loop_close(&uv), 0);
  cr_assert_eq(hl_counting_live(), 0);
}

/* ---- an error raised in after_cb is uncaught, as from any callback ------------- */

static void raise_after(hl_work_t *req, int status) {
  (void)req;
  (void)status;
  hl_raise(&loop, 0, "boom from after_cb");
}
static void raise_child(void *arg) {
  (void)arg;
  hl_work_t req;
  memset(&req, 0, sizeof req);
  if (hl_loop_init(&loop) || hl_queue_work(&loop, &req, nothing, raise_after))
    exit(3);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("not reached\n");
}

Test(work, an_error_raised_in_after_cb_is_uncaught) {
  hl_child_result_t r;
  hl_child_run(raise_child, NULL, &r);
  char line[256];
  cr_assert(r.exited);
  cr_assert_eq(r.code, 1, "exit code %d", r.code);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: boom from after_cb");
  cr_assert_null(strstr(r.out, "not reached"));
}
