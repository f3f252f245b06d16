/* test/core/test_als.c - async-local storage (Node's AsyncLocalStorage):
 * default store, run/exit/enter_with/disable, propagation to every resource
 * type (the store current when it was scheduled, never a later one), several
 * storages, many interleaved contexts, snapshots, errors raised inside run,
 * and bad arguments.
 *
 * Mirrors Node's test/async-hooks/test-async-local-storage-enter-with.js,
 * -no-mix-contexts.js, -snapshot.js, -errors.js and -enable-disable.js. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "child.h"
#include "counting.h"
#include "record.h"

static hl_loop_t loop;
static hl_als_t als, als2;

static char A[] = "A", B[] = "B", C[] = "C", D[] = "D", DEF[] = "default";

static void loop_close(void) {
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "%ld allocation(s) of hookloop left after close",
               hl_counting_live());
}

TestSuite(als, .init = hl_counting_on, .fini = hl_counting_off);

static void open_loop(void) {
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  cr_assert_eq(hl_als_init(&loop, &als2, NULL), 0);
}

static void finish_loop(void) {
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  loop_close();
}

/* ---- an observation log: (label, store) pairs ------------------------------- */

typedef struct obs_s {
  const char *label;
  void *store, *store2;
} obs_t;
static obs_t g_obs[1024];
static int g_nobs;

static void observe(const char *label) {
  cr_assert_lt(g_nobs, 1024);
  g_obs[g_nobs].label = label;
  g_obs[g_nobs].store = hl_als_get_store(&als);
  g_obs[g_nobs].store2 = hl_als_get_store(&als2);
  g_nobs++;
}

static const obs_t *seen(const char *label) {
  for (int i = 0; i < g_nobs; i++)
    if (!strcmp(g_obs[i].label, label))
      return &g_obs[i];
  cr_assert_fail("no observation '%s'", label);
  return NULL;
}

static void observe_fn(void *arg) {
  observe(arg);
}

/* ---- default store, run, nesting, exit ---------------------------------------- */

static hl_als_t als_def;
static void *def_in_timer;
static void def_timer(void *arg) {
  (void)arg;
  def_in_timer = hl_als_get_store(&als_def);
}
static void *def_seen;
static void def_observe(void *arg) {
  (void)arg;
  def_seen = hl_als_get_store(&als_def);
}

Test(als, default_store_where_none_is_set) {
  open_loop();
  cr_assert_eq(hl_als_init(&loop, &als_def, DEF), 0);
  cr_assert_eq(hl_als_get_store(&als_def), DEF);
  cr_assert_null(hl_als_get_store(&als), "no default: NULL");
  cr_assert_eq(hl_set_timeout(&loop, def_timer, NULL, 1, NULL), 0);
  /* a store set on another storage does not hide the default */
  cr_assert_eq(hl_als_enter_with(&als, A), 0);
  cr_assert_eq(hl_als_get_store(&als_def), DEF);
  finish_loop();
  cr_assert_eq(def_in_timer, DEF);
}

static int depth_checks;
static void inner_b(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_get_store(&als), B);
  depth_checks++;
}
static void outer_a_only(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_get_store(&als), A);
  cr_assert_eq(hl_als_run(&als, B, inner_b, NULL), 0);
  cr_assert_eq(hl_als_get_store(&als), A, "the inner run restored A");
  cr_assert_eq(hl_als_run(&als, NULL, observe_fn, "null-store"), 0);
  cr_assert_eq(hl_als_get_store(&als), A);
  depth_checks++;
}

Test(als, run_restores_previous_store_and_nests) {
  open_loop();
  cr_assert_eq(hl_als_init(&loop, &als_def, DEF), 0);
  g_nobs = 0;
  depth_checks = 0;
  cr_assert_eq(hl_als_run(&als, A, outer_a_only, NULL), 0);
  cr_assert_eq(depth_checks, 2);
  cr_assert_null(hl_als_get_store(&als), "restored after run");
  cr_assert_null(seen("null-store")->store, "run with a NULL store");
  /* run over a default store */
  cr_assert_eq(hl_als_run(&als_def, A, def_observe, NULL), 0);
  cr_assert_eq(def_seen, A);
  cr_assert_eq(hl_als_get_store(&als_def), DEF);
  /* run restores an enter_with store too */
  cr_assert_eq(hl_als_enter_with(&als, C), 0);
  cr_assert_eq(hl_als_run(&als, A, outer_a_only, NULL), 0);
  cr_assert_eq(hl_als_get_store(&als), C);
  finish_loop();
}

static void exit_inner(void *arg) {
  (void)arg;
  observe("in-exit");
}
static void exit_outer(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_exit(&als, exit_inner, NULL), 0);
  observe("after-exit");
}
static void exit_both(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_run(&als2, B, exit_outer, NULL), 0);
}

Test(als, exit_clears_only_its_storage) {
  open_loop();
  cr_assert_eq(hl_als_init(&loop, &als_def, DEF), 0);
  g_nobs = 0;
  cr_assert_eq(hl_als_run(&als, A, exit_both, NULL), 0);
  cr_assert_null(seen("in-exit")->store, "get_store is NULL inside exit");
  cr_assert_eq(seen("in-exit")->store2, B, "other storages untouched");
  cr_assert_eq(seen("after-exit")->store, A, "restored after exit");
  cr_assert_eq(seen("after-exit")->store2, B);
  /* inside exit the default store is not returned either (undefined in Node) */
  def_seen = DEF;
  cr_assert_eq(hl_als_exit(&als_def, def_observe, NULL), 0);
  cr_assert_null(def_seen);
  cr_assert_eq(hl_als_get_store(&als_def), DEF);
  finish_loop();
}

/* ---- test-async-local-storage-enter-with.js ------------------------------------ */

static void ew_late_timer(void *arg) {
  (void)arg;
  observe("inner-timeout");
}
static void ew_immediate(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_enter_with(&als, A), 0);
  cr_assert_eq(hl_als_get_store(&als), A);
  cr_assert_eq(hl_set_timeout(&loop, ew_late_timer, NULL, 10, NULL), 0);
}

Test(als, node_enter_with) {
  open_loop();
  g_nobs = 0;
  cr_assert_eq(hl_set_immediate(&loop, ew_immediate, NULL, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "outer-timeout", 10, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, observe_fn, "sibling-immediate", NULL), 0);
  finish_loop();
  cr_assert_eq(seen("inner-timeout")->store, A);
  cr_assert_null(seen("outer-timeout")->store);
  cr_assert_null(seen("sibling-immediate")->store, "enter_with ends with its callback");
}

static void ew_in_run(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_enter_with(&als, B), 0);
  cr_assert_eq(hl_set_immediate(&loop, observe_fn, "scheduled-after-enter", NULL), 0);
  observe("after-enter");
}

Test(als, enter_with_top_level_and_inside_run) {
  open_loop();
  g_nobs = 0;
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "before-enter", 1, NULL), 0);
  cr_assert_eq(hl_als_enter_with(&als, A), 0);
  cr_assert_eq(hl_als_get_store(&als), A, "for the rest of the synchronous execution");
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "after-top-enter", 1, NULL), 0);
  cr_assert_eq(hl_als_run(&als, C, ew_in_run, NULL), 0);
  cr_assert_eq(hl_als_get_store(&als), A, "an enter_with inside run ends with the run");
  finish_loop();
  cr_assert_null(seen("before-enter")->store);
  cr_assert_eq(seen("after-top-enter")->store, A);
  cr_assert_eq(seen("after-enter")->store, B);
  cr_assert_eq(seen("scheduled-after-enter")->store, B);
}

/* ---- test-async-local-storage-enable-disable.js --------------------------------- */

static void dis_run_again(void *arg) {
  (void)arg;
  observe("run-after-disable");
}
static void dis_tick3(void *arg) {
  (void)arg;
  observe("tick-after-disable");
  cr_assert_eq(hl_als_run(&als, B, dis_run_again, NULL), 0);
}
static void dis_tick1(void *arg) {
  (void)arg;
  observe("tick-before-disable");
  cr_assert_eq(hl_next_tick(&loop, observe_fn, "tick-queued-before-disable"), 0);
  cr_assert_eq(hl_als_disable(&als), 0);
  observe("right-after-disable");
  cr_assert_eq(hl_als_exit(&als, observe_fn, "exit-while-disabled"), 0);
  observe("after-exit-while-disabled");
  cr_assert_eq(hl_next_tick(&loop, dis_tick3, NULL), 0);
}
static void dis_start(void *arg) {
  (void)arg;
  cr_assert_eq(hl_next_tick(&loop, dis_tick1, NULL), 0);
}

Test(als, node_enable_disable) {
  open_loop();
  cr_assert_eq(hl_als_init(&loop, &als_def, DEF), 0);
  g_nobs = 0;
  cr_assert_eq(hl_als_run(&als, A, dis_start, NULL), 0);
  cr_assert_eq(hl_als_run(&als2, C, observe_fn, "other-storage"), 0);
  finish_loop();
  cr_assert_eq(seen("tick-before-disable")->store, A);
  cr_assert_null(seen("right-after-disable")->store);
  cr_assert_null(seen("exit-while-disabled")->store);
  cr_assert_null(seen("after-exit-while-disabled")->store, "exit does not re-enable");
  cr_assert_null(seen("tick-queued-before-disable")->store, "NULL everywhere, also in A's frame");
  cr_assert_null(seen("tick-after-disable")->store);
  cr_assert_eq(seen("run-after-disable")->store, B, "run enables it again");
  cr_assert_eq(seen("other-storage")->store2, C);
}

Test(als, disable_returns_null_not_default_until_enter_with) {
  open_loop();
  cr_assert_eq(hl_als_init(&loop, &als_def, DEF), 0);
  cr_assert_eq(hl_als_disable(&als_def), 0);
  cr_assert_null(hl_als_get_store(&als_def), "disabled: NULL, not the default store");
  cr_assert_eq(hl_als_run(&als2, B, observe_fn, "x"), 0);
  cr_assert_null(hl_als_get_store(&als_def), "another storage's run does not re-enable");
  cr_assert_eq(hl_als_disable(&als_def), 0, "disabling twice is fine");
  cr_assert_eq(hl_als_enter_with(&als_def, A), 0);
  cr_assert_eq(hl_als_get_store(&als_def), A, "enter_with enables it again");
  finish_loop();
}

/* ---- propagation to every resource type ------------------------------------------ */

static hl_async_resource_t user_res;
static hl_promise_t *prop_p;
static void res_fn(void *arg) {
  observe(arg);
}
static void prop_timer_first(void *arg) {
  (void)arg;
  observe("timer");
  /* a callback that changes the store does not leak it to the others */
  cr_assert_eq(hl_als_enter_with(&als, C), 0);
}
static void prop_react(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  observe(arg);
}
static void prop_schedule(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(&loop, prop_timer_first, NULL, 1, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "timer2", 2, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, observe_fn, "immediate", NULL), 0);
  cr_assert_eq(hl_next_tick(&loop, observe_fn, "tick"), 0);
  cr_assert_eq(hl_queue_microtask(&loop, observe_fn, "microtask"), 0);
  cr_assert_eq(hl_promise_then(prop_p, prop_react, NULL, "then", NULL), 0);
  cr_assert_eq(hl_async_resource_init(&loop, &user_res, "USER", HL_DEFAULT_TRIGGER, 0), 0);
}
static void prop_resolve(void *arg) {
  (void)arg;
  cr_assert_eq(hl_promise_resolve(prop_p, NULL, NULL), 0);
  cr_assert_eq(hl_async_resource_run(&user_res, res_fn, "resource-in-D"), 0);
}
static void prop_late_timer(void *arg) {
  (void)arg;
  cr_assert_eq(hl_async_resource_run(&user_res, res_fn, "resource-from-timer"), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&user_res), 0);
}

Test(als, resources_see_store_current_when_scheduled) {
  open_loop();
  g_nobs = 0;
  cr_assert_eq(hl_promise_new(&loop, &prop_p), 0);
  cr_assert_eq(hl_als_run(&als, A, prop_schedule, NULL), 0);
  /* later stores: none of them may leak into what was scheduled under A */
  cr_assert_eq(hl_als_enter_with(&als, B), 0);
  cr_assert_eq(hl_async_resource_run(&user_res, res_fn, "resource-top"), 0);
  cr_assert_eq(hl_als_run(&als, D, prop_resolve, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, prop_late_timer, NULL, 5, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, observe_fn, "immediate-under-B", NULL), 0);
  finish_loop();
  const char *under_a[] = {"timer",        "timer2",        "immediate",
                           "tick",         "microtask",     "then",
                           "resource-top", "resource-in-D", "resource-from-timer"};
  for (size_t i = 0; i < sizeof under_a / sizeof *under_a; i++)
    cr_assert_eq(seen(under_a[i])->store, A, "%s saw %s", under_a[i],
                 seen(under_a[i])->store ? (char *)seen(under_a[i])->store : "NULL");
  cr_assert_eq(seen("immediate-under-B")->store, B);
}

/* test-async-local-storage-no-mix-contexts.js */
static void nm_inner_timer(void *arg) {
  (void)arg;
  observe("nm-inner");
  cr_assert_eq(hl_als_exit(&als, observe_fn, "nm-exit"), 0);
  observe("nm-after-exit");
}
static void nm_run2(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(&loop, nm_inner_timer, NULL, 4, NULL), 0);
}
static void nm_run1(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_run(&als2, B, nm_run2, NULL), 0);
}
static void nm_timer1(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_run(&als, A, nm_run1, NULL), 0);
}
static void nm_run3(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "nm-earth", 2, NULL), 0);
}
static void nm_timer2(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_run(&als, C, nm_run3, NULL), 0);
}

Test(als, node_no_mix_contexts) {
  open_loop();
  g_nobs = 0;
  cr_assert_eq(hl_set_timeout(&loop, nm_timer1, NULL, 2, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, nm_timer2, NULL, 2, NULL), 0);
  finish_loop();
  cr_assert_eq(seen("nm-inner")->store, A);
  cr_assert_eq(seen("nm-inner")->store2, B);
  cr_assert_null(seen("nm-exit")->store);
  cr_assert_eq(seen("nm-exit")->store2, B);
  cr_assert_eq(seen("nm-after-exit")->store, A);
  cr_assert_eq(seen("nm-after-exit")->store2, B);
  cr_assert_eq(seen("nm-earth")->store, C);
  cr_assert_null(seen("nm-earth")->store2);
}

static void two_inner(void *arg) {
  (void)arg;
  observe("both");
  cr_assert_eq(hl_als_disable(&als), 0);
  observe("first-disabled");
}
static void two_outer(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_run(&als2, B, two_inner, NULL), 0);
}

Test(als, two_storages_are_independent) {
  open_loop();
  g_nobs = 0;
  hl_als_t late;
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "before-late-init", 1, NULL), 0);
  cr_assert_eq(hl_als_run(&als, A, two_outer, NULL), 0);
  cr_assert_eq(seen("both")->store, A);
  cr_assert_eq(seen("both")->store2, B);
  cr_assert_null(seen("first-disabled")->store);
  cr_assert_eq(seen("first-disabled")->store2, B, "disable leaves other storages alone");
  cr_assert_eq(hl_als_enter_with(&als2, C), 0);
  cr_assert_null(hl_als_get_store(&als));
  /* a storage created after frames exist */
  cr_assert_eq(hl_als_init(&loop, &late, DEF), 0);
  cr_assert_eq(hl_als_get_store(&late), DEF);
  cr_assert_eq(hl_als_get_store(&als2), C);
  cr_assert_eq(hl_als_enter_with(&late, D), 0);
  cr_assert_eq(hl_als_get_store(&late), D);
  cr_assert_eq(hl_als_get_store(&als2), C);
  finish_loop();
  cr_assert_null(seen("before-late-init")->store2);
}

/* ---- 100 interleaved contexts ------------------------------------------------------- */

#define N_CTX 100
static int ctx_store[N_CTX];
static int ctx_timer_ok, ctx_imm_ok, ctx_tick_ok, ctx_micro_ok, ctx_then_ok, ctx_bad;
static hl_promise_t *ctx_gate;

static void ctx_check(void *arg, int *ok) {
  int *expect = arg;
  if (hl_als_get_store(&als) == expect)
    (*ok)++;
  else
    ctx_bad++;
}
static void ctx_imm(void *arg) {
  ctx_check(arg, &ctx_imm_ok);
}
static void ctx_tick(void *arg) {
  ctx_check(arg, &ctx_tick_ok);
}
static void ctx_micro(void *arg) {
  ctx_check(arg, &ctx_micro_ok);
}
static void ctx_then(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  ctx_check(arg, &ctx_then_ok);
}
static void ctx_timer(void *arg) {
  ctx_check(arg, &ctx_timer_ok);
  cr_assert_eq(hl_set_immediate(&loop, ctx_imm, arg, NULL), 0);
  cr_assert_eq(hl_next_tick(&loop, ctx_tick, arg), 0);
  cr_assert_eq(hl_queue_microtask(&loop, ctx_micro, arg), 0);
  /* the gate is resolved by the last timer, in its own context */
  cr_assert_eq(hl_promise_then(ctx_gate, ctx_then, NULL, arg, NULL), 0);
  if (ctx_timer_ok + ctx_bad == N_CTX)
    cr_assert_eq(hl_promise_resolve(ctx_gate, NULL, NULL), 0);
}
static void ctx_schedule(void *arg) {
  int i = (int)((int *)arg - ctx_store);
  cr_assert_eq(hl_set_timeout(&loop, ctx_timer, arg, 1 + (uint64_t)((i * 37) % 11), NULL), 0);
}

Test(als, hundred_interleaved_contexts) {
  open_loop();
  ctx_timer_ok = ctx_imm_ok = ctx_tick_ok = ctx_micro_ok = ctx_then_ok = ctx_bad = 0;
  cr_assert_eq(hl_promise_new(&loop, &ctx_gate), 0);
  cr_assert_eq(hl_promise_retain(ctx_gate), 0);
  for (int i = 0; i < N_CTX; i++)
    cr_assert_eq(hl_als_run(&als, &ctx_store[i], ctx_schedule, &ctx_store[i]), 0);
  cr_assert_null(hl_als_get_store(&als));
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(ctx_bad, 0);
  cr_assert_eq(ctx_timer_ok, N_CTX);
  cr_assert_eq(ctx_imm_ok, N_CTX);
  cr_assert_eq(ctx_tick_ok, N_CTX);
  cr_assert_eq(ctx_micro_ok, N_CTX);
  cr_assert_eq(ctx_then_ok, N_CTX);
  hl_promise_release(ctx_gate);
  loop_close();
}

/* ---- snapshots: test-async-local-storage-snapshot.js -------------------------------- */

static hl_als_snapshot_t snap, snap_empty;
static void take_snapshot(void *arg) {
  cr_assert_eq(hl_als_snapshot(&loop, arg), 0);
}
static void snap_run_inside(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_get_store(&als), B);
  cr_assert_eq(hl_als_snapshot_run(&snap, observe_fn, "in-snapshot"), 0);
  observe("after-snapshot");
  cr_assert_eq(hl_als_snapshot_run(&snap_empty, observe_fn, "in-empty-snapshot"), 0);
}
static void snap_timer(void *arg) {
  (void)arg;
  cr_assert_eq(hl_als_snapshot_run(&snap, observe_fn, "snapshot-in-timer"), 0);
  observe("timer-after-snapshot");
}
static void snap_schedule(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(&loop, snap_timer, NULL, 1, NULL), 0);
}

Test(als, node_snapshot) {
  open_loop();
  g_nobs = 0;
  cr_assert_eq(hl_als_snapshot(&loop, &snap_empty), 0); /* nothing set yet */
  cr_assert_eq(hl_als_enter_with(&als2, D), 0);
  /* const runInAsyncScope = als.run(123, () => AsyncLocalStorage.snapshot()); */
  cr_assert_eq(hl_als_run(&als, A, take_snapshot, &snap), 0);
  cr_assert_eq(hl_als_enter_with(&als2, C), 0);
  /* als.run(321, () => runInAsyncScope(() => als.getStore())) === 123 */
  cr_assert_eq(hl_als_run(&als, B, snap_run_inside, NULL), 0);
  cr_assert_eq(hl_als_run(&als, C, snap_schedule, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(seen("in-snapshot")->store, A);
  cr_assert_eq(seen("in-snapshot")->store2, D, "a snapshot captures every storage");
  cr_assert_eq(seen("after-snapshot")->store, B);
  cr_assert_eq(seen("after-snapshot")->store2, C);
  cr_assert_null(seen("in-empty-snapshot")->store);
  cr_assert_null(seen("in-empty-snapshot")->store2);
  cr_assert_eq(seen("snapshot-in-timer")->store, A, "usable from a later callback");
  cr_assert_eq(seen("timer-after-snapshot")->store, C);
  hl_als_snapshot_close(&snap);
  hl_als_snapshot_close(&snap_empty);
  hl_als_snapshot_close(&snap); /* closing twice is harmless */
  cr_assert_eq(hl_als_snapshot_run(&snap, observe_fn, "closed"), HL_EINVAL);
  loop_close();
}

/* ---- errors: test-async-local-storage-errors.js --------------------------------------- */

static void raise_err1(void *arg) {
  observe(arg);
  hl_raise(&loop, HL_ERAISED, "err1");
}
static int err_rc_run, err_rc_exit, err_rc_snap, err_rc_res;
static hl_async_resource_t err_res;
static void err_react(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  cr_assert_eq(hl_als_get_store(&als), A);
  err_rc_run = hl_als_run(&als, B, raise_err1, "raising-run");
  observe("after-raising-run");
}
static void err_react_exit(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  err_rc_exit = hl_als_exit(&als, raise_err1, "raising-exit");
  observe("after-raising-exit");
}
static void err_react_snap(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  err_rc_snap = hl_als_snapshot_run(&snap, raise_err1, "raising-snapshot");
  observe("after-raising-snapshot");
}
static void err_res_fn(void *arg) {
  (void)arg;
  err_rc_run = hl_als_run(&als, C, raise_err1, "raising-run-in-resource");
  observe("after-raising-run-in-resource");
}
static void err_react_res(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  err_rc_res = hl_async_resource_run(&err_res, err_res_fn, NULL);
  observe("after-resource");
}
static char err_msgs[4][64];
static void err_catch(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  snprintf(err_msgs[(intptr_t)arg], sizeof err_msgs[0], "%s", ((const hl_error_t *)value)->message);
}
static void err_attach(void *arg) {
  hl_promise_t *p = arg, *t[4];
  hl_then_fn fns[4] = {err_react, err_react_exit, err_react_snap, err_react_res};
  for (intptr_t i = 0; i < 4; i++) {
    cr_assert_eq(hl_promise_then(p, fns[i], NULL, NULL, &t[i]), 0);
    cr_assert_eq(hl_promise_catch(t[i], err_catch, (void *)i, NULL), 0);
  }
  cr_assert_eq(hl_async_resource_init(&loop, &err_res, "ERR", HL_DEFAULT_TRIGGER, 0), 0);
}

Test(als, node_errors_restore_store_and_propagate) {
  open_loop();
  g_nobs = 0;
  memset(err_msgs, 0, sizeof err_msgs);
  err_rc_run = err_rc_exit = err_rc_snap = err_rc_res = 0;
  hl_promise_t *p;
  cr_assert_eq(hl_promise_new(&loop, &p), 0);
  cr_assert_eq(hl_als_run(&als, D, take_snapshot, &snap), 0);
  cr_assert_eq(hl_als_run(&als, A, err_attach, p), 0);
  cr_assert_eq(hl_promise_resolve(p, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  hl_als_snapshot_close(&snap);

  cr_assert_eq(seen("raising-run")->store, B);
  cr_assert_eq(err_rc_run, HL_ERAISED, "run returns HL_ERAISED when fn raised");
  cr_assert_eq(seen("after-raising-run")->store, A, "the previous store is restored");
  cr_assert_str_eq(err_msgs[0], "err1", "and the raise propagates (rejects next)");

  cr_assert_null(seen("raising-exit")->store);
  cr_assert_eq(err_rc_exit, HL_ERAISED);
  cr_assert_eq(seen("after-raising-exit")->store, A);
  cr_assert_str_eq(err_msgs[1], "err1");

  cr_assert_eq(seen("raising-snapshot")->store, D);
  cr_assert_eq(err_rc_snap, HL_ERAISED);
  cr_assert_eq(seen("after-raising-snapshot")->store, A);
  cr_assert_str_eq(err_msgs[2], "err1");

  cr_assert_eq(seen("raising-run-in-resource")->store, C);
  cr_assert_eq(seen("after-raising-run-in-resource")->store, A, "the resource's store (A)");
  cr_assert_eq(err_rc_res, HL_ERAISED);
  cr_assert_eq(seen("after-resource")->store, A);
  cr_assert_str_eq(err_msgs[3], "err1");
  loop_close();
}

/* The uncaught case (err2 in Node's test): no capture callback exists in
 * hookloop, so the error is fatal; the exit listeners run in the failing
 * callback's context, where the store is still the one of its run. */
static void err2_exit_listener(int code, void *arg) {
  (void)arg;
  const char *s = hl_als_get_store(&als);
  printf("exit %d store=%s\n", code, s ? s : "(null)");
}
static void err2_tick(void *arg) {
  (void)arg;
  printf("tick ran\n");
}
static void err2_timer(void *arg) {
  (void)arg;
  hl_next_tick(&loop, err2_tick, NULL);
  hl_raise(&loop, HL_ERAISED, "err2");
}
static void err2_run(void *arg) {
  (void)arg;
  hl_set_timeout(&loop, err2_timer, NULL, 1, NULL);
}
static void child_err2(void *arg) {
  (void)arg;
  static char node[] = "node";
  hl_loop_init(&loop);
  hl_als_init(&loop, &als, NULL);
  hl_process_on_exit(&loop, err2_exit_listener, NULL);
  hl_als_run(&als, node, err2_run, NULL);
  const char *s = hl_als_get_store(&als);
  printf("top store=%s\n", s ? s : "(null)");
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("survived\n");
}

Test(als, node_errors_uncaught_in_child) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(child_err2, NULL, &r);
  cr_assert(r.exited, "signal %d", r.signal);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: err2");
  cr_assert_str_eq(r.out, "top store=(null)\nexit 1 store=node\n");
}

/* ---- no hooks needed; bad arguments ----------------------------------------------------- */

static void nohook_cb(void *arg) {
  observe(arg);
}

Test(als, get_store_works_without_hooks) {
  open_loop();
  g_nobs = 0;
  hl_hook_t *h;
  hl_hook_callbacks_t none = {0};
  /* a hook that exists but is disabled changes nothing either */
  cr_assert_eq(hl_hook_create(&loop, &none, NULL, &h), 0);
  cr_assert_eq(hl_als_run(&als, A, observe_fn, "sync"), 0);
  cr_assert_eq(hl_als_enter_with(&als, B), 0);
  cr_assert_eq(hl_set_timeout(&loop, nohook_cb, "timer", 1, NULL), 0);
  cr_assert_eq(hl_als_enter_with(&als, NULL), 0);
  finish_loop();
  cr_assert_eq(seen("sync")->store, A);
  cr_assert_eq(seen("timer")->store, B);
}

/* Hook callbacks see the store of the resource concerned: in init the store
 * where it is created, in before/after its own (Node sets the context before
 * emitting before and restores it after emitting after). */
static void *hk_init_store, *hk_before_store, *hk_after_store;
static hl_async_id_t hk_id;
static void hk_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res, void *arg) {
  (void)trig;
  (void)res;
  (void)arg;
  if (!strcmp(type, "Timeout")) {
    hk_id = id;
    hk_init_store = hl_als_get_store(&als);
  }
}
static void hk_before(hl_async_id_t id, void *arg) {
  (void)arg;
  if (id == hk_id)
    hk_before_store = hl_als_get_store(&als);
}
static void hk_after(hl_async_id_t id, void *arg) {
  (void)arg;
  if (id == hk_id)
    hk_after_store = hl_als_get_store(&als);
}
static void hk_schedule(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(&loop, observe_fn, "hooked", 1, NULL), 0);
}

Test(als, hook_callbacks_see_the_resource_store) {
  open_loop();
  g_nobs = 0;
  hl_hook_t *h;
  hl_hook_callbacks_t cb = {hk_init, hk_before, hk_after, NULL, NULL};
  cr_assert_eq(hl_hook_create(&loop, &cb, NULL, &h), 0);
  cr_assert_eq(hl_hook_enable(h), 0);
  cr_assert_eq(hl_als_run(&als, A, hk_schedule, NULL), 0);
  cr_assert_eq(hl_als_enter_with(&als, B), 0);
  finish_loop();
  cr_assert_eq(hk_init_store, A);
  cr_assert_eq(hk_before_store, A);
  cr_assert_eq(hk_after_store, A);
  cr_assert_eq(seen("hooked")->store, A);
}

Test(als, bad_arguments) {
  open_loop();
  hl_als_t zero;
  memset(&zero, 0, sizeof zero);
  hl_als_snapshot_t sn;
  memset(&sn, 0, sizeof sn);
  cr_assert_eq(hl_als_init(NULL, &als_def, NULL), HL_EINVAL);
  cr_assert_eq(hl_als_init(&loop, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_als_run(NULL, A, observe_fn, "x"), HL_EINVAL);
  cr_assert_eq(hl_als_run(&als, A, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_als_run(&zero, A, observe_fn, "x"), HL_EINVAL);
  cr_assert_eq(hl_als_exit(NULL, observe_fn, "x"), HL_EINVAL);
  cr_assert_eq(hl_als_exit(&als, NULL, NULL), HL_EINVAL);
  cr_assert_null(hl_als_get_store(NULL));
  cr_assert_null(hl_als_get_store(&zero));
  cr_assert_eq(hl_als_enter_with(NULL, A), HL_EINVAL);
  cr_assert_eq(hl_als_enter_with(&zero, A), HL_EINVAL);
  cr_assert_eq(hl_als_disable(NULL), HL_EINVAL);
  cr_assert_eq(hl_als_disable(&zero), HL_EINVAL);
  cr_assert_eq(hl_als_snapshot(NULL, &sn), HL_EINVAL);
  cr_assert_eq(hl_als_snapshot(&loop, NULL), HL_EINVAL);
  cr_assert_eq(hl_als_snapshot_run(NULL, observe_fn, "x"), HL_EINVAL);
  cr_assert_eq(hl_als_snapshot_run(&sn, observe_fn, "x"), HL_EINVAL);
  cr_assert_eq(hl_als_snapshot(&loop, &sn), 0);
  cr_assert_eq(hl_als_snapshot_run(&sn, NULL, NULL), HL_EINVAL);
  hl_als_snapshot_close(&sn);
  hl_als_snapshot_close(NULL);
  cr_assert_null(hl_als_get_store(&als), "nothing changed by the failed calls");
  finish_loop();
}
