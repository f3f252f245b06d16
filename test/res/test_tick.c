/* test/res/test_tick.c - the next-tick and microtask queues (tick.h).
 *
 * Node's processTicksAndRejections order: after each callback, all ticks, then
 * all microtasks, repeated until both are empty (test/parallel/
 * test-next-tick-ordering*, test-queue-microtask); port of
 * test/async-hooks/test-nexttick-default-trigger.js and
 * test-internal-nexttick-default-trigger.js; TickObject / Microtask resource
 * types and triggers; ticks queued at top level run at the start of hl_run.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <string.h>
#include "record.h"

static hl_log_t LOG;
static hl_rec_t REC;
static hl_loop_t *g_loop;

static char order[64];
static int order_n;
static void mark(char c) {
  cr_assert_lt(order_n, (int)sizeof order - 1);
  order[order_n++] = c;
  order[order_n] = 0;
}

static void start(hl_loop_t *loop, int hooks) {
  LOG.n = 0;
  order_n = 0;
  order[0] = 0;
  g_loop = loop;
  cr_assert_eq(hl_loop_init(loop), 0);
  if (hooks) {
    cr_assert_eq(hl_rec_create(loop, &REC, &LOG, 1), 0);
    cr_assert_eq(hl_hook_enable(REC.hook), 0);
  }
}

static void noop(void *arg) {
  (void)arg;
}

/* ---- ticks drain completely, then microtasks, until both are empty ------------------- */

static void tick_c(void *arg) {
  (void)arg;
  mark('C');
}
static void micro_n(void *arg) {
  (void)arg;
  mark('N');
}
static void micro_m(void *arg) {
  (void)arg;
  mark('M');
}
static void tick_b(void *arg) {
  (void)arg;
  mark('B');
}
static void tick_a(void *arg) {
  (void)arg;
  mark('A');
  cr_assert_eq(hl_next_tick(g_loop, tick_c, NULL), 0);
  cr_assert_eq(hl_queue_microtask(g_loop, micro_n, NULL), 0);
}
static void imm_last(void *arg) {
  (void)arg;
  mark('I');
}
static void order_timer(void *arg) {
  (void)arg;
  mark('t');
  cr_assert_eq(hl_set_immediate(g_loop, imm_last, NULL, NULL), 0);
  cr_assert_eq(hl_next_tick(g_loop, tick_a, NULL), 0);
  cr_assert_eq(hl_queue_microtask(g_loop, micro_m, NULL), 0);
  cr_assert_eq(hl_next_tick(g_loop, tick_b, NULL), 0);
  cr_assert_str_eq(order, "t", "nothing queued runs inside the callback");
}

Test(tick, ticks_then_microtasks_after_callback) {
  hl_loop_t loop;
  start(&loop, 0);
  cr_assert_eq(hl_set_timeout(&loop, order_timer, NULL, 1, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_str_eq(order, "tABCMNI",
                   "ticks A,B then C (queued by A), then microtasks M,N, before the immediate");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

static void tick_t2(void *arg) {
  (void)arg;
  mark('u');
}
static void micro_4(void *arg) {
  (void)arg;
  mark('4');
}
static void tick_t(void *arg) {
  (void)arg;
  mark('T');
  cr_assert_eq(hl_queue_microtask(g_loop, micro_4, NULL), 0);
  cr_assert_eq(hl_next_tick(g_loop, tick_t2, NULL), 0);
}
static void micro_3(void *arg) {
  (void)arg;
  mark('3');
}
static void micro_2(void *arg) {
  (void)arg;
  mark('2');
}
static void micro_1(void *arg) {
  (void)arg;
  mark('1');
  cr_assert_eq(hl_next_tick(g_loop, tick_t, NULL), 0);
  cr_assert_eq(hl_queue_microtask(g_loop, micro_3, NULL), 0);
}
static void micro_order_imm(void *arg) {
  (void)arg;
  mark('i');
  cr_assert_eq(hl_set_immediate(g_loop, imm_last, NULL, NULL), 0);
  cr_assert_eq(hl_queue_microtask(g_loop, micro_1, NULL), 0);
  cr_assert_eq(hl_queue_microtask(g_loop, micro_2, NULL), 0);
}

Test(tick, tick_queued_by_microtask_runs_after_all_microtasks) {
  hl_loop_t loop;
  start(&loop, 0);
  cr_assert_eq(hl_set_immediate(&loop, micro_order_imm, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  /* 1 queues tick T and microtask 3: all microtasks (1,2,3) first, then T; T
   * queues microtask 4 and tick u: ticks first (u), then 4; all before I. */
  cr_assert_str_eq(order, "i123Tu4I");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* After *each* callback, not after a whole phase: two immediates of one check
 * phase are separated by the first one's ticks and microtasks. */
static void per_cb_tick(void *arg) {
  (void)arg;
  mark('k');
}
static void per_cb_micro(void *arg) {
  (void)arg;
  mark('m');
}
static void per_cb_imm1(void *arg) {
  (void)arg;
  mark('1');
  cr_assert_eq(hl_queue_microtask(g_loop, per_cb_micro, NULL), 0);
  cr_assert_eq(hl_next_tick(g_loop, per_cb_tick, NULL), 0);
}
static void per_cb_imm2(void *arg) {
  (void)arg;
  mark('2');
}

Test(tick, queues_drain_after_each_callback) {
  hl_loop_t loop;
  start(&loop, 0);
  cr_assert_eq(hl_set_immediate(&loop, per_cb_imm1, NULL, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, per_cb_imm2, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_str_eq(order, "1km2");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- test-nexttick-default-trigger.js / test-internal-nexttick-default-trigger.js --- */

static hl_async_id_t dt_trig[2], dt_exec[2];
static int dt_ran;
static void dt_tick(void *arg) {
  int i = (int)(intptr_t)arg;
  dt_trig[i] = hl_trigger_async_id();
  dt_exec[i] = hl_execution_async_id();
  dt_ran++;
}
static void dt_queue(void *arg) {
  cr_assert_eq(hl_next_tick(g_loop, dt_tick, arg), 0);
}

Test(tick, nexttick_default_trigger) {
  hl_loop_t loop;
  start(&loop, 1);
  hl_async_id_t root = hl_execution_async_id();
  cr_assert_eq(root, 1);
  cr_assert_eq(hl_next_tick(&loop, dt_tick, (void *)(intptr_t)0), 0);
  cr_assert_eq(hl_default_trigger_scope(&loop, 6, dt_queue, (void *)(intptr_t)1), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(dt_ran, 2);
  cr_assert_eq(dt_trig[0], root, "tick at top level: triggerAsyncId() is the root");
  cr_assert_eq(dt_trig[1], 6, "tick in defaultTriggerAsyncIdScope(6): triggerAsyncId() is 6");

  int ticks = 0;
  for (int i = 0; i < LOG.n; i++) {
    const hl_ev_t *e = &LOG.ev[i];
    if (e->kind != EV_INIT || strcmp(e->type, "TickObject"))
      continue;
    cr_assert_eq(e->id, dt_exec[ticks], "execution id inside tick %d is its own id", ticks);
    cr_assert_eq(e->trigger, ticks == 0 ? root : 6);
    cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, e->id), 1, "TickObject before");
    cr_assert_eq(hl_log_count(&LOG, EV_AFTER, e->id), 1, "TickObject after");
    cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, e->id), 1, "TickObject destroy");
    ticks++;
  }
  cr_assert_eq(ticks, 2);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- types and triggers ---------------------------------------------------------------- */

static hl_timer_t tt_timer;
static hl_async_id_t tt_exec[3], tt_trig[3];
static int tt_ran[3];
static void tt_inner_tick(void *arg) {
  (void)arg;
  tt_exec[2] = hl_execution_async_id();
  tt_trig[2] = hl_trigger_async_id();
  tt_ran[2]++;
}
static void tt_tick(void *arg) {
  (void)arg;
  tt_exec[0] = hl_execution_async_id();
  tt_trig[0] = hl_trigger_async_id();
  tt_ran[0]++;
  cr_assert_eq(hl_next_tick(g_loop, tt_inner_tick, NULL), 0);
}
static void tt_micro(void *arg) {
  (void)arg;
  tt_exec[1] = hl_execution_async_id();
  tt_trig[1] = hl_trigger_async_id();
  tt_ran[1]++;
}
static void tt_timer_cb(void *arg) {
  (void)arg;
  cr_assert_eq(hl_next_tick(g_loop, tt_tick, NULL), 0);
  cr_assert_eq(hl_queue_microtask(g_loop, tt_micro, NULL), 0);
}

Test(tick, types_and_triggers) {
  hl_loop_t loop;
  start(&loop, 1);
  cr_assert_eq(hl_set_timeout(&loop, tt_timer_cb, NULL, 1, &tt_timer), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(tt_ran[i], 1, "job %d ran once", i);

  const hl_ev_t *tick = hl_log_init_of(&LOG, tt_exec[0]);
  const hl_ev_t *micro = hl_log_init_of(&LOG, tt_exec[1]);
  const hl_ev_t *inner = hl_log_init_of(&LOG, tt_exec[2]);
  cr_assert(tick && micro && inner, "each job has an init with its execution id");
  cr_assert_str_eq(tick->type, "TickObject");
  cr_assert_str_eq(micro->type, "Microtask");
  cr_assert_str_eq(inner->type, "TickObject");
  cr_assert_eq(tick->trigger, tt_timer.id, "tick queued in a timer is triggered by it");
  cr_assert_eq(micro->trigger, tt_timer.id, "microtask queued in a timer is triggered by it");
  cr_assert_eq(inner->trigger, tt_exec[0], "tick queued in a tick is triggered by that tick");
  cr_assert_eq(tt_trig[0], tt_timer.id, "hl_trigger_async_id() inside the tick");
  cr_assert_eq(tt_trig[1], tt_timer.id, "hl_trigger_async_id() inside the microtask");
  cr_assert_eq(tt_trig[2], tt_exec[0]);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, tt_exec[i]), 1, "job %d: one before", i);
    cr_assert_eq(hl_log_count(&LOG, EV_AFTER, tt_exec[i]), 1, "job %d: one after", i);
    cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, tt_exec[i]), 1, "job %d: one destroy", i);
  }
  /* Ticks and microtasks run after the timer's after, not nested inside it. */
  int timer_after = hl_log_index(&LOG, EV_AFTER, tt_timer.id, -1);
  cr_assert_gt(hl_log_index(&LOG, EV_BEFORE, tt_exec[0], -1), timer_after);
  cr_assert_eq(hl_log_count_type(&LOG, "TickObject"), 2);
  cr_assert_eq(hl_log_count_type(&LOG, "Microtask"), 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- queued at top level: run at the start of hl_run ------------------------------------- */

static void top_tick(void *arg) {
  (void)arg;
  mark('k');
}
static void top_micro(void *arg) {
  (void)arg;
  mark('m');
}
static void top_imm(void *arg) {
  (void)arg;
  mark('I');
}
static void top_timeout(void *arg) {
  (void)arg;
  mark('T');
}

Test(tick, top_level_queue_runs_at_start_of_run) {
  hl_loop_t loop;
  start(&loop, 1);
  cr_assert_eq(hl_set_immediate(&loop, top_imm, NULL, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, top_timeout, NULL, 0, NULL), 0);
  cr_assert_eq(hl_queue_microtask(&loop, top_micro, NULL), 0);
  cr_assert_eq(hl_next_tick(&loop, top_tick, NULL), 0);
  cr_assert_str_eq(order, "", "nothing runs before hl_run");
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "ticks not yet run keep the loop busy");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(order_n, 4, "all four ran: %s", order);
  cr_assert_eq(order[0], 'k', "the tick first: %s", order);
  cr_assert_eq(order[1], 'm', "then the microtask: %s", order);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

static int nowait_ran;
static void nowait_tick(void *arg) {
  (void)arg;
  nowait_ran++;
}

Test(tick, top_level_tick_runs_with_nowait_run) {
  hl_loop_t loop;
  start(&loop, 0);
  cr_assert_eq(hl_next_tick(&loop, nowait_tick, NULL), 0);
  cr_assert_eq(nowait_ran, 0);
  hl_run(&loop, HL_RUN_NOWAIT);
  cr_assert_eq(nowait_ran, 1, "HL_RUN_NOWAIT drains the top-level queue too");
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(tick, bad_arguments) {
  hl_loop_t loop;
  start(&loop, 0);
  cr_assert_eq(hl_next_tick(NULL, noop, NULL), HL_EINVAL);
  cr_assert_eq(hl_next_tick(&loop, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_queue_microtask(NULL, noop, NULL), HL_EINVAL);
  cr_assert_eq(hl_queue_microtask(&loop, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0, "failed calls queued nothing");
  cr_assert_eq(hl_loop_close(&loop), 0);
}
