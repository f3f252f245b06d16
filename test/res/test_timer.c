/* test/res/test_timer.c - timeouts, intervals and immediates (timer.h).
 *
 * Ports of Node's test/async-hooks/test-graph.timeouts.js,
 * test-graph.intervals.js and test-immediate.js, plus Node's timers rules: an
 * immediate set inside an I/O callback runs before any timer
 * (test-timers-immediate-queue / the event loop guide), clearing a finished
 * timer is a no-op (also when its pool slot was reused), an interval can clear
 * itself, unref lets the loop end, close is busy while a ref'd timer is
 * pending, bad arguments.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <string.h>
#include "record.h"

static hl_log_t LOG;
static hl_rec_t REC;

static void start(hl_loop_t *loop) {
  cr_assert_eq(hl_rec_start(loop, &REC, &LOG, 1), 0);
}

static void noop(void *arg) {
  (void)arg;
}

static const hl_ev_t *init_of(hl_async_id_t id) {
  const hl_ev_t *e = hl_log_init_of(&LOG, id);
  cr_assert_not_null(e, "no init for id %lld", (long long)id);
  return e;
}

static void check_inv(hl_async_id_t id, int init, int before, int after, int destroy,
                      const char *stage) {
  cr_assert_eq(hl_log_count(&LOG, EV_INIT, id), init, "%s: init", stage);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), before, "%s: before", stage);
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), after, "%s: after", stage);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), destroy, "%s: destroy", stage);
}

/* ---- test-graph.timeouts.js ----------------------------------------------------- */

static hl_loop_t *g_loop;
static hl_timer_t gt1, gt2;
static hl_async_id_t gt1_exec, gt1_trig, gt2_exec, gt2_trig;
static int gt_second_ran;

static void on_second_timeout(void *arg) {
  (void)arg;
  gt2_exec = hl_execution_async_id();
  gt2_trig = hl_trigger_async_id();
  gt_second_ran++;
}
static void on_timeout(void *arg) {
  (void)arg;
  gt1_exec = hl_execution_async_id();
  gt1_trig = hl_trigger_async_id();
  cr_assert_eq(hl_set_timeout(g_loop, on_second_timeout, NULL, 2, &gt2), 0);
}

Test(timer, graph_timeouts) {
  hl_loop_t loop;
  start(&loop);
  g_loop = &loop;
  cr_assert_eq(hl_set_timeout(&loop, on_timeout, NULL, 1, &gt1), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(gt_second_ran, 1);

  cr_assert_eq(hl_log_count_type(&LOG, "Timeout"), 2);
  cr_assert_str_eq(init_of(gt1.id)->type, "Timeout");
  cr_assert_eq(init_of(gt1.id)->trigger, 1, "timeout:1 is triggered by the root");
  cr_assert_str_eq(init_of(gt2.id)->type, "Timeout");
  cr_assert_eq(init_of(gt2.id)->trigger, gt1.id, "timeout:2 is triggered by timeout:1");
  cr_assert_eq(gt1_exec, gt1.id, "execution id inside timeout:1");
  cr_assert_eq(gt1_trig, 1);
  cr_assert_eq(gt2_exec, gt2.id, "execution id inside timeout:2");
  cr_assert_eq(gt2_trig, gt1.id, "trigger id inside timeout:2");
  check_inv(gt1.id, 1, 1, 1, 1, "timeout:1");
  check_inv(gt2.id, 1, 1, 1, 1, "timeout:2");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- test-graph.intervals.js ----------------------------------------------------- */

static hl_timer_t iv1, iv2, iv_to;
static int iv1_count, iv2_count, iv_to_ran;
static hl_async_id_t iv1_exec[3], iv2_exec, iv_to_trig;

static void on_iv_timeout(void *arg) {
  (void)arg;
  iv_to_trig = hl_trigger_async_id();
  iv_to_ran++;
}
static void on_second_interval(void *arg) {
  (void)arg;
  iv2_exec = hl_execution_async_id();
  iv2_count++;
  cr_assert_eq(hl_clear_timer(&iv2), 0);
}
static void on_first_interval(void *arg) {
  (void)arg;
  cr_assert_lt(iv1_count, 3, "the first interval ran after it was cleared");
  iv1_exec[iv1_count] = hl_execution_async_id();
  if (iv1_count == 0)
    cr_assert_eq(hl_set_timeout(g_loop, on_iv_timeout, NULL, 1, &iv_to), 0);
  if (++iv1_count == 3) {
    cr_assert_eq(hl_clear_timer(&iv1), 0);
    cr_assert_eq(hl_set_interval(g_loop, on_second_interval, NULL, 2, &iv2), 0);
  }
}

Test(timer, graph_intervals) {
  hl_loop_t loop;
  start(&loop);
  g_loop = &loop;
  cr_assert_eq(hl_set_interval(&loop, on_first_interval, NULL, 1, &iv1), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(iv1_count, 3, "mustCall(onfirstInterval, 3)");
  cr_assert_eq(iv2_count, 1, "mustCall(onsecondInterval, 1)");
  cr_assert_eq(iv_to_ran, 1);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(iv1_exec[i], iv1.id, "interval run %d keeps one id", i);
  cr_assert_eq(iv2_exec, iv2.id);
  cr_assert_eq(hl_log_count_type(&LOG, "Timeout"), 3);
  cr_assert_eq(init_of(iv1.id)->trigger, 1, "timeout:1 (interval) triggered by the root");
  cr_assert_eq(init_of(iv2.id)->trigger, iv1.id, "timeout:2 is triggered by timeout:1");
  cr_assert_eq(init_of(iv_to.id)->trigger, iv1.id, "a timeout made in the interval");
  cr_assert_eq(iv_to_trig, iv1.id);
  check_inv(iv1.id, 1, 3, 3, 1, "interval 1");
  check_inv(iv2.id, 1, 1, 1, 1, "interval 2");
  check_inv(iv_to.id, 1, 1, 1, 1, "timeout in interval");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- test-immediate.js ----------------------------------------------------------- */

static hl_immediate_t imd1, imd2;
static int imd1_ran, imd2_ran;

static void on_immediate_two(void *arg) {
  (void)arg;
  check_inv(imd1.id, 1, 1, 1, 1, "imd1: when second immediate triggered");
  check_inv(imd2.id, 1, 1, 0, 0, "imd2: when second immediate triggered");
  imd2_ran++;
}
static void on_immediate(void *arg) {
  (void)arg;
  cr_assert_eq(hl_log_count_type(&LOG, "Immediate"), 1);
  check_inv(imd1.id, 1, 1, 0, 0, "imd1: when first set immediate triggered");
  cr_assert_eq(hl_set_immediate(g_loop, on_immediate_two, NULL, &imd2), 0);
  cr_assert_eq(hl_log_count_type(&LOG, "Immediate"), 2);
  cr_assert_str_eq(init_of(imd2.id)->type, "Immediate");
  cr_assert_eq(init_of(imd2.id)->trigger, imd1.id, "imd2 triggered by imd1");
  check_inv(imd1.id, 1, 1, 0, 0, "imd1: when second immediate installed");
  check_inv(imd2.id, 1, 0, 0, 0, "imd2: when second immediate installed");
  imd1_ran++;
}

Test(timer, immediate_port) {
  hl_loop_t loop;
  start(&loop);
  g_loop = &loop;
  cr_assert_eq(hl_set_immediate(&loop, on_immediate, NULL, &imd1), 0);
  cr_assert_eq(hl_log_count_type(&LOG, "Immediate"), 1);
  cr_assert_str_eq(init_of(imd1.id)->type, "Immediate");
  cr_assert_eq(init_of(imd1.id)->trigger, 1);
  check_inv(imd1.id, 1, 0, 0, 0, "immediate: when first set immediate installed");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(imd1_ran, 1);
  cr_assert_eq(imd2_ran, 1);
  check_inv(imd1.id, 1, 1, 1, 1, "imd1: when process exits");
  check_inv(imd2.id, 1, 1, 1, 1, "imd2: when process exits");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

static int cleared_ran;
static void cleared_cb(void *arg) {
  (void)arg;
  cleared_ran++;
}

Test(timer, immediate_cleared_at_top_level) {
  hl_loop_t loop;
  start(&loop);
  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, cleared_cb, NULL, &im), 0);
  cr_assert_eq(hl_clear_immediate(&im), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(cleared_ran, 0, "a cleared immediate never runs");
  cr_assert_eq(init_of(im.id)->trigger, 1);
  check_inv(im.id, 1, 0, 0, 1, "cleared immediate: init and destroy only");
  cr_assert_eq(hl_clear_immediate(&im), 0, "clearing again is a no-op");
  hl_immediate_t zero;
  memset(&zero, 0, sizeof zero);
  cr_assert_eq(hl_clear_immediate(&zero), 0, "a zeroed reference is a no-op");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- inside an I/O callback an immediate runs before timers ---------------------------- */

static hl_loop_t *io_loop;
static char io_order[8];
static int io_n, io_cb_ran;
static void io_timeout(void *arg) {
  (void)arg;
  io_order[io_n++] = 'T';
}
static void io_immediate(void *arg) {
  (void)arg;
  io_order[io_n++] = 'I';
}
static void on_stat(uv_fs_t *req) {
  io_cb_ran++;
  cr_assert_eq(req->result, 0, "uv_fs_stat failed: %s", uv_strerror((int)req->result));
  uv_fs_req_cleanup(req);
  cr_assert_eq(hl_set_timeout(io_loop, io_timeout, NULL, 0, NULL), 0);
  cr_assert_eq(hl_set_immediate(io_loop, io_immediate, NULL, NULL), 0);
}

Test(timer, immediate_before_timer_inside_io_callback) {
  hl_loop_t loop;
  io_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  /* Several rounds: the order must hold every time, not by luck. */
  for (int round = 0; round < 5; round++) {
    uv_fs_t req;
    io_n = 0;
    memset(io_order, 0, sizeof io_order);
    cr_assert_eq(uv_fs_stat(hl_loop_uv(&loop), &req, ".", on_stat), 0);
    cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
    cr_assert_eq(io_cb_ran, round + 1);
    cr_assert_str_eq(io_order, "IT", "round %d: immediate must run before the timer", round);
  }
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- clearing a fired timer --------------------------------------------------------------- */

static int a_ran, b_ran;
static void a_cb(void *arg) {
  (void)arg;
  a_ran++;
}
static void b_cb(void *arg) {
  (void)arg;
  b_ran++;
}

Test(timer, clear_fired_timer_is_noop_and_spares_reused_slot) {
  hl_loop_t loop; /* no hooks: a finished timer's slot is reused at once */
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_timer_t a, b;
  cr_assert_eq(hl_set_timeout(&loop, a_cb, NULL, 1, &a), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(a_ran, 1);
  cr_assert_eq(hl_timer_active(&a), 0, "a fired timeout is not active");
  cr_assert_eq(hl_clear_timer(&a), 0, "clearing a fired timer returns 0");

  cr_assert_eq(hl_set_timeout(&loop, b_cb, NULL, 1, &b), 0);
  cr_assert_eq(b.impl, a.impl, "precondition: b reuses a's pool slot");
  cr_assert_neq(b.id, a.id);
  cr_assert_eq(hl_clear_timer(&a), 0, "clearing the stale reference returns 0");
  cr_assert_eq(hl_timer_active(&a), 0);
  cr_assert_eq(hl_timer_active(&b), 1, "the stale clear did not cancel b");
  cr_assert_eq(hl_timer_unref(&a), HL_ESTATE, "a stale reference is a finished timer");
  cr_assert_eq(hl_timer_ref(&a), HL_ESTATE);
  cr_assert_eq(hl_timer_active(&b), 1, "stale ref/unref did not touch b");
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "b is still pending (ref'd)");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(b_ran, 1, "b ran");
  cr_assert_eq(a_ran, 1);
  cr_assert_eq(hl_clear_timer(&b), 0);

  hl_timer_t zero;
  memset(&zero, 0, sizeof zero);
  cr_assert_eq(hl_clear_timer(&zero), 0, "a zeroed reference is a no-op");
  cr_assert_eq(hl_timer_active(&zero), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- an interval clears itself -------------------------------------------------------------- */

static hl_timer_t self_iv;
static int self_iv_runs, self_iv_active_after_clear;
static void self_iv_cb(void *arg) {
  (void)arg;
  self_iv_runs++;
  if (self_iv_runs == 2 || self_iv_runs > 5) { /* > 5: a guard so a bug cannot hang */
    cr_assert_eq(hl_clear_timer(&self_iv), 0);
    self_iv_active_after_clear = hl_timer_active(&self_iv);
    cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, self_iv.id), 0,
                 "destroy is not emitted inside the callback that cleared it");
  }
}

Test(timer, interval_clears_itself) {
  hl_loop_t loop;
  start(&loop);
  cr_assert_eq(hl_set_interval(&loop, self_iv_cb, NULL, 1, &self_iv), 0);
  cr_assert_eq(hl_timer_active(&self_iv), 1);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(self_iv_runs, 2, "no run after clearing inside the callback");
  cr_assert_eq(self_iv_active_after_clear, 0);
  cr_assert_eq(hl_timer_active(&self_iv), 0);
  check_inv(self_iv.id, 1, 2, 2, 1, "self-cleared interval");
  int last_after = -1;
  for (int i = 0; i < LOG.n; i++)
    if (LOG.ev[i].kind == EV_AFTER && LOG.ev[i].id == self_iv.id)
      last_after = i;
  cr_assert_gt(hl_log_index(&LOG, EV_DESTROY, self_iv.id, -1), last_after,
               "destroy after the last after");
  cr_assert_eq(hl_clear_timer(&self_iv), 0, "clearing again is a no-op");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- unref / ref and close --------------------------------------------------------------------
 */

static int unref_ran;
static void unref_cb(void *arg) {
  (void)arg;
  unref_ran++;
}

Test(timer, unref_lets_run_return) {
  hl_loop_t loop;
  start(&loop);
  hl_timer_t t, iv;
  cr_assert_eq(hl_set_timeout(&loop, unref_cb, NULL, 3600 * 1000, &t), 0);
  cr_assert_eq(hl_set_interval(&loop, unref_cb, NULL, 3600 * 1000, &iv), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 2);
  cr_assert_eq(hl_timer_unref(&t), 0);
  cr_assert_eq(hl_timer_unref(&t), 0, "unref twice is fine");
  cr_assert_eq(hl_timer_unref(&iv), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0, "unref'd timers do not count");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0, "hl_run returns with only unref'd timers");
  cr_assert_eq(unref_ran, 0);
  cr_assert_eq(hl_timer_active(&t), 1, "still pending");

  cr_assert_eq(hl_timer_ref(&t), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 1);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "ref'd again: busy");
  cr_assert_eq(hl_timer_unref(&t), 0);
  cr_assert_eq(hl_loop_close(&loop), 0, "unref'd timers are cancelled by close");
  cr_assert_eq(unref_ran, 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, t.id), 1, "cancelled at close: destroy emitted");
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, iv.id), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, t.id), 0);
}

static int unref_short_ran;
static void unref_short_cb(void *arg) {
  (void)arg;
  unref_short_ran++;
}

Test(timer, unref_timer_still_runs_while_loop_is_alive) {
  /* An unref'd timer fires if something else keeps the loop alive long enough. */
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_timer_t u, keep;
  cr_assert_eq(hl_set_timeout(&loop, unref_short_cb, NULL, 1, &u), 0);
  cr_assert_eq(hl_timer_unref(&u), 0);
  cr_assert_eq(hl_set_timeout(&loop, noop, NULL, 50, &keep), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(unref_short_ran, 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(timer, close_busy_while_ref_timer_pending) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_timer_t t, iv;
  cr_assert_eq(hl_set_timeout(&loop, noop, NULL, 3600 * 1000, &t), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "pending ref'd timeout");
  cr_assert_eq(hl_clear_timer(&t), 0);
  cr_assert_eq(hl_set_interval(&loop, noop, NULL, 3600 * 1000, &iv), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "pending ref'd interval");
  cr_assert_eq(hl_clear_timer(&iv), 0);
  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &im), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "pending immediate");
  cr_assert_eq(hl_clear_immediate(&im), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- bad arguments ------------------------------------------------------------------------------
 */

Test(timer, bad_arguments) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_timer_t t;
  hl_immediate_t im;
  cr_assert_eq(hl_set_timeout(NULL, noop, NULL, 1, &t), HL_EINVAL);
  cr_assert_eq(hl_set_timeout(&loop, NULL, NULL, 1, &t), HL_EINVAL);
  cr_assert_eq(hl_set_interval(NULL, noop, NULL, 1, &t), HL_EINVAL);
  cr_assert_eq(hl_set_interval(&loop, NULL, NULL, 1, &t), HL_EINVAL);
  cr_assert_eq(hl_set_immediate(NULL, noop, NULL, &im), HL_EINVAL);
  cr_assert_eq(hl_set_immediate(&loop, NULL, NULL, &im), HL_EINVAL);
  cr_assert_eq(hl_clear_timer(NULL), HL_EINVAL);
  cr_assert_eq(hl_clear_immediate(NULL), HL_EINVAL);
  cr_assert_eq(hl_timer_ref(NULL), HL_EINVAL);
  cr_assert_eq(hl_timer_unref(NULL), HL_EINVAL);
  cr_assert_eq(hl_timer_active(NULL), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0, "failed calls created nothing");
  /* out may be NULL. */
  cr_assert_eq(hl_set_timeout(&loop, noop, NULL, 0, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- an immediate set inside an immediate runs on the next iteration --------------- */

static int nx_first, nx_second;
static void nx_second_cb(void *arg) {
  (void)arg;
  nx_second++;
}
static void nx_first_cb(void *arg) {
  (void)arg;
  nx_first++;
  cr_assert_eq(hl_set_immediate(g_loop, nx_second_cb, NULL, NULL), 0);
}

Test(timer, immediate_from_immediate_runs_next_iteration) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  g_loop = &loop;
  cr_assert_eq(hl_set_immediate(&loop, nx_first_cb, NULL, NULL), 0);
  hl_run(&loop, HL_RUN_ONCE);
  cr_assert_eq(nx_first, 1);
  cr_assert_eq(nx_second, 0, "queued during the check phase: not run in the same one");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(nx_second, 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- equal delays run in creation order (Node's timer lists are FIFO) ---------------- */

static char fifo[16];
static int fifo_n;
static void fifo_cb(void *arg) {
  fifo[fifo_n++] = *(const char *)arg;
}

Test(timer, equal_delays_run_in_creation_order) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  static const char names[] = "abcdef";
  for (int i = 0; i < 6; i++)
    cr_assert_eq(hl_set_timeout(&loop, fifo_cb, (void *)&names[i], 5, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_str_eq(fifo, "abcdef");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- per-duration lists (Node's timer design): edge cases ---------------------------- */

static hl_loop_t *tl_loop;
static char tl_order[16];
static int tl_n;
static uint64_t tl_set_at, tl_fired_at;
static hl_timer_t tl_a, tl_b;

static void tl_mark(void *arg) {
  tl_order[tl_n++] = *(const char *)arg;
  tl_fired_at = uv_now(hl_loop_uv(tl_loop));
}

Test(timer, clearing_a_list_head_keeps_the_timers_behind_it) {
  hl_loop_t loop;
  start(&loop);
  tl_loop = &loop;
  tl_n = 0;
  tl_set_at = uv_now(hl_loop_uv(&loop));
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "A", 10, &tl_a), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "B", 10, &tl_b), 0);
  cr_assert_eq(hl_clear_timer(&tl_a), 0); /* the list's uv timer stays armed for A */
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(tl_n, 1);
  cr_assert_eq(tl_order[0], 'B');
  cr_assert_geq(tl_fired_at - tl_set_at, 10, "B ran early: after %llu ms",
                (unsigned long long)(tl_fired_at - tl_set_at));
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, tl_a.id), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, tl_a.id), 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(timer, different_durations_fire_in_due_order) {
  hl_loop_t loop;
  start(&loop);
  tl_loop = &loop;
  tl_n = 0;
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "c", 30, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "a", 5, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "b", 15, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "A", 5, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  tl_order[tl_n] = 0;
  cr_assert_str_eq(tl_order, "aAbc");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

static int tl_iv_runs;
static void tl_interval(void *arg) {
  tl_mark(arg);
  if (++tl_iv_runs == 2)
    hl_clear_timer(&tl_a);
}

Test(timer, interval_goes_behind_timeouts_of_its_duration) {
  hl_loop_t loop;
  start(&loop);
  tl_loop = &loop;
  tl_n = 0;
  tl_iv_runs = 0;
  cr_assert_eq(hl_set_interval(&loop, tl_interval, "I", 5, &tl_a), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "T", 5, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  tl_order[tl_n] = 0;
  cr_assert_str_eq(tl_order, "ITI");
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, tl_a.id), 2, "one id, two runs");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

static void tl_clear_b(void *arg) {
  tl_mark(arg);
  hl_clear_timer(&tl_b);
}

Test(timer, clearing_the_next_timer_of_the_list_being_run) {
  hl_loop_t loop;
  start(&loop);
  tl_loop = &loop;
  tl_n = 0;
  cr_assert_eq(hl_set_timeout(&loop, tl_clear_b, "A", 5, &tl_a), 0);
  cr_assert_eq(hl_set_interval(&loop, tl_mark, "B", 5, &tl_b), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "C", 5, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  tl_order[tl_n] = 0;
  cr_assert_str_eq(tl_order, "AC", "B was cleared while its list was being run");
  cr_assert_eq(hl_timer_active(&tl_b), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(timer, refs_are_counted_per_timer_within_a_list) {
  hl_loop_t loop;
  start(&loop);
  tl_loop = &loop;
  tl_n = 0;
  /* Same duration: an unref'd timer first, a ref'd one behind it. */
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "u", 5, &tl_a), 0);
  cr_assert_eq(hl_timer_unref(&tl_a), 0);
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "r", 5, &tl_b), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  tl_order[tl_n] = 0;
  cr_assert_str_eq(tl_order, "ur", "the ref'd timer kept the loop alive for both");

  /* Alone, an unref'd timer does not keep the loop alive; close cancels it. */
  tl_n = 0;
  cr_assert_eq(hl_set_timeout(&loop, tl_mark, "x", 50, &tl_a), 0);
  cr_assert_eq(hl_timer_unref(&tl_a), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(tl_n, 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  hl_async_id_t id = tl_a.id;
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), 1, "cancelled at close, destroy emitted");
}
