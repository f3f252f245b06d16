/* test/core/test_resource.c - user resources, Node's AsyncResource (context.h).
 *
 * Mirrors Node's test/async-hooks/test-embedder.api.async-resource.js (init with
 * type and trigger, errors for a bad type / trigger id, runInAsyncScope setting
 * and restoring the context), test-async-hooks-recursive-stack-runInAsyncScope
 * (1000 nested runs), AsyncResource.bind, emitDestroy, and the fatal ports of
 * test-embedder.api.async-resource-improper-order.js and -improper-unwind.js
 * (child processes: exit 1, heartbeat first, "async hook stack has become
 * corrupted (actual: X, expected: Y)" on stderr). requireManualDestroy: an open
 * manual resource keeps hl_loop_close busy; others get destroy at close.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <string.h>
#include "child.h"
#include "record.h"

static hl_log_t LOG;
static hl_rec_t REC;

static void start(hl_loop_t *loop) {
  cr_assert_eq(hl_rec_start(loop, &REC, &LOG, 1), 0);
}

static void noop(void *arg) {
  (void)arg;
}

/* ---- init ------------------------------------------------------------------------- */

Test(resource, init_with_type_and_trigger) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r, d;
  char type[16] = "MyResource";
  cr_assert_eq(hl_async_resource_init(&loop, &r, type, 42, 0), 0);
  memset(type, 'x', sizeof type - 1); /* type is read only during the call */
  hl_async_id_t id = hl_async_resource_async_id(&r);
  cr_assert_gt(id, 1);
  cr_assert_eq(hl_async_resource_trigger_id(&r), 42);
  const hl_ev_t *e = hl_log_init_of(&LOG, id);
  cr_assert_not_null(e, "init emitted");
  cr_assert_str_eq(e->type, "MyResource");
  cr_assert_eq(e->trigger, 42);
  cr_assert_eq(e->resource, &r);

  cr_assert_eq(hl_async_resource_init(&loop, &d, "Default", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_async_resource_trigger_id(&d), 1, "default trigger at top level: root");
  cr_assert_gt(hl_async_resource_async_id(&d), id);
  hl_async_resource_t z;
  cr_assert_eq(hl_async_resource_init(&loop, &z, "Zero", 0, 0), 0);
  cr_assert_eq(hl_async_resource_trigger_id(&z), 0, "trigger 0 is a valid explicit trigger");
  cr_assert_eq(hl_async_resource_emit_destroy(&z), 0);

  cr_assert_eq(hl_async_resource_async_id(NULL), -1);
  cr_assert_eq(hl_async_resource_trigger_id(NULL), -1);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&d), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(resource, init_errors) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r;
  memset(&r, 0, sizeof r);
  cr_assert_eq(hl_async_resource_init(&loop, &r, "", HL_DEFAULT_TRIGGER, 0), HL_EASYNCTYPE,
               "empty type");
  cr_assert_eq(hl_async_resource_init(&loop, &r, NULL, HL_DEFAULT_TRIGGER, 0), HL_EASYNCTYPE,
               "NULL type");
  cr_assert_eq(hl_async_resource_init(&loop, &r, "T", -2, 0), HL_EASYNCID, "trigger -2");
  cr_assert_eq(hl_async_resource_init(&loop, &r, "T", -100, 0), HL_EASYNCID, "trigger -100");
  cr_assert_eq(hl_async_resource_init(NULL, &r, "T", HL_DEFAULT_TRIGGER, 0), HL_EINVAL);
  cr_assert_eq(hl_async_resource_init(&loop, NULL, "T", HL_DEFAULT_TRIGGER, 0), HL_EINVAL);
  cr_assert_eq(hl_async_resource_init(&loop, &r, "T", HL_DEFAULT_TRIGGER, 1u << 7), HL_EINVAL,
               "unknown flags");
  cr_assert_eq(LOG.n, 0, "failed inits emit nothing");
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- run sets and restores the context ---------------------------------------------- */

static hl_async_resource_t run_res;
static hl_async_id_t run_exec, run_trig;
static void *run_resource, *run_arg;
static void run_fn(void *arg) {
  run_exec = hl_execution_async_id();
  run_trig = hl_trigger_async_id();
  run_resource = hl_execution_async_resource();
  run_arg = arg;
}

static hl_timer_t rt_timer;
static int rt_ok;
static void run_in_timer(void *arg) {
  (void)arg;
  cr_assert_eq(hl_async_resource_run(&run_res, run_fn, &rt_timer), 0);
  cr_assert_eq(run_exec, hl_async_resource_async_id(&run_res));
  cr_assert_eq(run_arg, &rt_timer);
  cr_assert_eq(hl_execution_async_id(), rt_timer.id, "the timer's context is restored");
  cr_assert_eq(hl_trigger_async_id(), 1);
  cr_assert_neq(hl_execution_async_resource(), &run_res);
  rt_ok = 1;
}

Test(resource, run_sets_and_restores_context) {
  hl_loop_t loop;
  start(&loop);
  cr_assert_eq(hl_async_resource_init(&loop, &run_res, "R", 77, 0), 0);
  hl_async_id_t id = hl_async_resource_async_id(&run_res);
  int arg;
  cr_assert_eq(hl_async_resource_run(&run_res, run_fn, &arg), 0);
  cr_assert_eq(run_exec, id, "execution id inside run");
  cr_assert_eq(run_trig, 77, "trigger id inside run");
  cr_assert_eq(run_resource, &run_res, "resource inside run");
  cr_assert_eq(run_arg, &arg);
  cr_assert_eq(hl_execution_async_id(), 1, "restored");
  cr_assert_eq(hl_trigger_async_id(), 0, "restored");
  cr_assert_eq(hl_execution_async_resource(), &loop, "restored");
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), 1);

  cr_assert_eq(hl_set_timeout(&loop, run_in_timer, NULL, 1, &rt_timer), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(rt_ok, 1);
  cr_assert_eq(hl_async_resource_run(&run_res, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_async_resource_run(NULL, run_fn, NULL), HL_EINVAL);
  cr_assert_eq(hl_async_resource_emit_destroy(&run_res), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- 1000-deep recursion ------------------------------------------------------------- */

#define DEPTH 1000
static hl_async_resource_t deep[DEPTH];
static int deep_bad, deep_max;
static void deep_fn(void *arg) {
  int level = (int)(intptr_t)arg;
  hl_async_resource_t *r = &deep[level];
  if (hl_execution_async_id() != hl_async_resource_async_id(r) ||
      hl_trigger_async_id() != hl_async_resource_trigger_id(r) ||
      hl_execution_async_resource() != r)
    deep_bad++;
  if (level > deep_max)
    deep_max = level;
  if (level + 1 < DEPTH) {
    if (hl_async_resource_run(&deep[level + 1], deep_fn, (void *)(intptr_t)(level + 1)) != 0)
      deep_bad++;
    /* back from the deeper level: ours again */
    if (hl_execution_async_id() != hl_async_resource_async_id(r) ||
        hl_trigger_async_id() != hl_async_resource_trigger_id(r))
      deep_bad++;
  }
}

Test(resource, recursive_run_1000_deep) {
  hl_loop_t loop;
  start(&loop);
  for (int i = 0; i < DEPTH; i++) {
    hl_async_id_t trig = i ? hl_async_resource_async_id(&deep[i - 1]) : HL_DEFAULT_TRIGGER;
    cr_assert_eq(hl_async_resource_init(&loop, &deep[i], "Deep", trig, 0), 0);
  }
  cr_assert_eq(hl_async_resource_run(&deep[0], deep_fn, (void *)(intptr_t)0), 0);
  cr_assert_eq(deep_max, DEPTH - 1, "reached the bottom");
  cr_assert_eq(deep_bad, 0, "%d context mismatches", deep_bad);
  cr_assert_eq(hl_execution_async_id(), 1);

  /* before/after balanced and nested: b0 b1 ... b999 a999 ... a0 */
  int k = 0;
  for (int i = 0; i < LOG.n; i++) {
    const hl_ev_t *e = &LOG.ev[i];
    if (e->kind != EV_BEFORE && e->kind != EV_AFTER)
      continue;
    int level = k < DEPTH ? k : 2 * DEPTH - 1 - k;
    cr_assert_eq(e->kind, k < DEPTH ? EV_BEFORE : EV_AFTER, "event %d kind", k);
    cr_assert_eq(e->id, hl_async_resource_async_id(&deep[level]), "event %d id", k);
    k++;
  }
  cr_assert_eq(k, 2 * DEPTH);
  for (int i = 0; i < DEPTH; i++)
    cr_assert_eq(hl_async_resource_emit_destroy(&deep[i]), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  for (int i = 0; i < DEPTH; i++)
    cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, hl_async_resource_async_id(&deep[i])), 1);
}

/* ---- bind ------------------------------------------------------------------------------ */

static hl_bound_fn_t bound;
static int bound_in_timer;
static void call_bound(void *arg) {
  (void)arg;
  hl_async_id_t timer_exec = hl_execution_async_id();
  run_exec = 0;
  cr_assert_eq(hl_bound_fn_call(&bound), 0);
  cr_assert_eq(run_exec, hl_async_resource_async_id(&run_res), "bound fn runs in its resource");
  cr_assert_eq(run_resource, &run_res);
  cr_assert_eq(hl_execution_async_id(), timer_exec, "caller's context restored");
  bound_in_timer = 1;
}

Test(resource, bind_and_call) {
  hl_loop_t loop;
  start(&loop);
  cr_assert_eq(hl_async_resource_init(&loop, &run_res, "Bound", HL_DEFAULT_TRIGGER, 0), 0);
  int arg;
  cr_assert_eq(hl_async_resource_bind(&run_res, run_fn, &arg, &bound), 0);
  cr_assert_eq(run_arg, NULL, "binding does not call");
  cr_assert_eq(hl_bound_fn_call(&bound), 0);
  cr_assert_eq(run_exec, hl_async_resource_async_id(&run_res));
  cr_assert_eq(run_arg, &arg, "bound arg passed");
  cr_assert_eq(hl_execution_async_id(), 1);
  cr_assert_eq(hl_set_timeout(&loop, call_bound, NULL, 1, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(bound_in_timer, 1);
  hl_async_id_t id = hl_async_resource_async_id(&run_res);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), 2, "one before per call");
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), 2);

  hl_bound_fn_t b2;
  cr_assert_eq(hl_async_resource_bind(&run_res, NULL, NULL, &b2), HL_EINVAL);
  cr_assert_eq(hl_async_resource_bind(&run_res, run_fn, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_async_resource_bind(NULL, run_fn, NULL, &b2), HL_EINVAL);
  cr_assert_eq(hl_bound_fn_call(NULL), HL_EINVAL);
  cr_assert_eq(hl_async_resource_emit_destroy(&run_res), 0);
  cr_assert_eq(hl_bound_fn_call(&bound), HL_ESTATE, "calling a binding of a destroyed resource");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- destroyed resources --------------------------------------------------------------- */

static int should_not_run;
static void not_run(void *arg) {
  (void)arg;
  should_not_run++;
}

Test(resource, emit_destroy_then_run_is_state_error) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r;
  hl_bound_fn_t b;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t id = hl_async_resource_async_id(&r);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_async_resource_run(&r, not_run, NULL), HL_ESTATE);
  cr_assert_eq(hl_async_resource_enter(&r), HL_ESTATE);
  cr_assert_eq(hl_async_resource_bind(&r, not_run, NULL, &b), HL_ESTATE);
  cr_assert_eq(should_not_run, 0);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), 0, "no before for a destroyed resource");
  cr_assert_eq(hl_execution_async_id(), 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), 1);
}

Test(resource, emit_destroy_twice_is_state_error) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t id = hl_async_resource_async_id(&r);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), HL_ESTATE);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), HL_ESTATE, "still after the flush");
  cr_assert_eq(hl_async_resource_emit_destroy(NULL), HL_EINVAL);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), 1, "destroy emitted once");
}

Test(resource, manual_destroy_keeps_close_busy) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r;
  cr_assert_eq(
      hl_async_resource_init(&loop, &r, "Manual", HL_DEFAULT_TRIGGER, HL_REQUIRE_MANUAL_DESTROY),
      0);
  hl_async_id_t id = hl_async_resource_async_id(&r);
  cr_assert_eq(hl_loop_alive_resources(&loop), 1);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0, "it does not keep the loop running");
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "open manual resource");
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "still");
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), 0, "a busy close does not destroy it");
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), 1);
}

Test(resource, unmanaged_resource_destroyed_at_close) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r1, r2;
  cr_assert_eq(hl_async_resource_init(&loop, &r1, "Open1", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_async_resource_init(&loop, &r2, "Open2", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t a = hl_async_resource_async_id(&r1), b = hl_async_resource_async_id(&r2);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0, "not counted as keeping close busy");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, a), 0, "no destroy while the loop is open");
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, a), 1, "destroyed at hl_loop_close");
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, b), 1, "destroyed at hl_loop_close");
}

/* ---- enter / leave (emitBefore / emitAfter) ------------------------------------------ */

Test(resource, enter_leave_proper_nesting) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t e1, e2;
  cr_assert_eq(hl_async_resource_init(&loop, &e1, "event1", hl_execution_async_id(), 0), 0);
  cr_assert_eq(hl_async_resource_init(&loop, &e2, "event2", hl_execution_async_id(), 0), 0);
  cr_assert_eq(hl_async_resource_enter(&e1), 0);
  cr_assert_eq(hl_execution_async_id(), hl_async_resource_async_id(&e1));
  cr_assert_eq(hl_async_resource_enter(&e2), 0);
  cr_assert_eq(hl_execution_async_id(), hl_async_resource_async_id(&e2));
  cr_assert_eq(hl_execution_async_resource(), &e2);
  cr_assert_eq(hl_async_resource_leave(&e2), 0);
  cr_assert_eq(hl_execution_async_id(), hl_async_resource_async_id(&e1));
  cr_assert_eq(hl_async_resource_leave(&e1), 0);
  cr_assert_eq(hl_execution_async_id(), 1);
  cr_assert_eq(hl_execution_async_resource(), &loop);
  cr_assert_eq(hl_async_resource_enter(NULL), HL_EINVAL);
  cr_assert_eq(hl_async_resource_leave(NULL), HL_EINVAL);
  cr_assert_eq(hl_async_resource_emit_destroy(&e1), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&e2), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* test-embedder.api.async-resource-improper-order.js: 'after' without 'before'. */
static void improper_order_child(void *arg) {
  (void)arg;
  hl_loop_t loop;
  hl_loop_init(&loop);
  hl_rec_create(&loop, &REC, &LOG, 1);
  hl_hook_enable(REC.hook);
  hl_async_resource_t e1, e2;
  hl_async_resource_init(&loop, &e1, "event1", hl_execution_async_id(), 0); /* id 2 */
  hl_async_resource_enter(&e1);
  hl_async_resource_leave(&e1);
  hl_async_resource_init(&loop, &e2, "event2", hl_execution_async_id(), 0); /* id 3 */
  printf("heartbeat: still alive\n");
  hl_async_resource_leave(&e2);
  printf("not reached\n");
}

Test(resource, improper_order_is_fatal) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(improper_order_child, NULL, &r);
  cr_assert(r.exited, "child died by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 1, "exit code; stderr: %s", r.err);
  cr_assert_str_eq(r.out, "heartbeat: still alive\n", "did not stop at the offending line");
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line),
                   "Error: async hook stack has become corrupted (actual: 1, expected: 3)");
}

/* test-embedder.api.async-resource-improper-unwind.js: leaving the outer one
 * while the inner one is still entered. */
static void improper_unwind_child(void *arg) {
  (void)arg;
  hl_loop_t loop;
  hl_loop_init(&loop);
  hl_rec_create(&loop, &REC, &LOG, 1);
  hl_hook_enable(REC.hook);
  hl_async_resource_t e1, e2;
  hl_async_resource_init(&loop, &e1, "event1", hl_execution_async_id(), 0); /* id 2 */
  hl_async_resource_init(&loop, &e2, "event2", hl_execution_async_id(), 0); /* id 3 */
  /* Proper unwind */
  hl_async_resource_enter(&e1);
  hl_async_resource_enter(&e2);
  hl_async_resource_leave(&e2);
  hl_async_resource_leave(&e1);
  /* Improper unwind */
  hl_async_resource_enter(&e1);
  hl_async_resource_enter(&e2);
  printf("heartbeat: still alive\n");
  hl_async_resource_leave(&e1);
  printf("not reached\n");
}

Test(resource, improper_unwind_is_fatal) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(improper_unwind_child, NULL, &r);
  cr_assert(r.exited, "child died by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 1, "exit code; stderr: %s", r.err);
  cr_assert_str_eq(r.out, "heartbeat: still alive\n", "did not stop at the offending line");
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line),
                   "Error: async hook stack has become corrupted (actual: 3, expected: 2)");
}

/* The same check guards a leave inside a callback. */
static hl_async_resource_t cb_e1;
static void leave_wrong_in_timer(void *arg) {
  (void)arg;
  printf("heartbeat: in timer\n");
  hl_async_resource_leave(&cb_e1); /* never entered: the timer is on top */
}
static void improper_in_callback_child(void *arg) {
  (void)arg;
  hl_loop_t loop;
  hl_loop_init(&loop);
  hl_async_resource_init(&loop, &cb_e1, "event1", HL_DEFAULT_TRIGGER, 0); /* id 2 */
  hl_set_timeout(&loop, leave_wrong_in_timer, NULL, 1, NULL);             /* id 3 */
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("not reached\n");
}

Test(resource, improper_leave_inside_callback_is_fatal) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(improper_in_callback_child, NULL, &r);
  cr_assert(r.exited, "child died by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 1, "exit code; stderr: %s", r.err);
  cr_assert_str_eq(r.out, "heartbeat: in timer\n");
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line),
                   "Error: async hook stack has become corrupted (actual: 3, expected: 2)");
}

/* A callback that returns with a resource still entered: the callback's own
 * pop finds the wrong id on top (Node's pop_async_context check). */
static hl_async_resource_t left_open;
static void enter_without_leave(void *arg) {
  (void)arg;
  hl_async_resource_enter(&left_open);
  printf("heartbeat: entered\n");
}
static void unbalanced_enter_child(void *arg) {
  (void)arg;
  hl_loop_t loop;
  hl_loop_init(&loop);
  hl_async_resource_init(&loop, &left_open, "event1", HL_DEFAULT_TRIGGER, 0); /* id 2 */
  hl_set_immediate(&loop, enter_without_leave, NULL, NULL);                   /* id 3 */
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("not reached\n");
}

Test(resource, enter_without_leave_in_callback_is_fatal) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(unbalanced_enter_child, NULL, &r);
  cr_assert(r.exited, "child died by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 1, "exit code; stderr: %s", r.err);
  cr_assert_str_eq(r.out, "heartbeat: entered\n");
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line),
                   "Error: async hook stack has become corrupted (actual: 2, expected: 3)");
}

static void run_noop(void *arg) {
  noop(arg);
}

Test(resource, run_is_balanced_with_hooks) {
  hl_loop_t loop;
  start(&loop);
  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  for (int i = 0; i < 10; i++)
    cr_assert_eq(hl_async_resource_run(&r, run_noop, NULL), 0);
  hl_async_id_t id = hl_async_resource_async_id(&r);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), 10);
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), 10);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}
