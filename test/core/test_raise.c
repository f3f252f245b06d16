/* test/core/test_raise.c - hl_raise(), the C analog of throw (error.h).
 *
 * Port of Node's test/async-hooks/test-callback-error.js (an error thrown in a
 * hook callback is fatal: first stderr line "Error: <message>", exit code 1)
 * and of the uncaught-exception path (test/parallel/test-process-exit-code,
 * test-next-tick-errors, test-timers-uncaught-exception): an error raised in a
 * timer, immediate, tick or microtask with no handler prints "Error: <message>",
 * runs the exit listeners with code 1 and exits 1; the raising callback runs to
 * its end (C has no unwinding) but no further callback runs; a raise at top
 * level is uncaught at once. Every scenario runs in a child process.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <string.h>
#include "child.h"

static hl_loop_t loop;

static void on_exit_listener(int code, void *arg) {
  (void)arg;
  printf("exit listener code=%d\n", code);
}

static void setup(void) {
  hl_loop_init(&loop);
  hl_process_on_exit(&loop, on_exit_listener, NULL);
}

static void say(void *arg) {
  printf("%s\n", (const char *)arg);
}

static void expect_fatal(void (*child)(void *), const char *first_err_line, const char *out) {
  hl_child_result_t r;
  char line[512];
  hl_child_run(child, NULL, &r);
  cr_assert(r.exited, "child died by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 1, "exit code %d; stdout: %s; stderr: %s", r.code, r.out, r.err);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), first_err_line, "stderr: %s", r.err);
  cr_assert_str_eq(r.out, out, "stdout");
}

/* ---- in a timer callback --------------------------------------------------------- */

static void raising_timer(void *arg) {
  (void)arg;
  hl_next_tick(&loop, say, "tick ran");
  hl_queue_microtask(&loop, say, "microtask ran");
  hl_set_immediate(&loop, say, "immediate ran", NULL);
  hl_raise(&loop, HL_ERAISED, "timer boom %d", 42);
  printf("rest of the callback runs\n");
}

static void timer_child(void *arg) {
  (void)arg;
  setup();
  hl_set_timeout(&loop, raising_timer, NULL, 1, NULL);
  hl_set_timeout(&loop, say, "second timer ran", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_timer_callback_is_uncaught) {
  expect_fatal(timer_child, "Error: timer boom 42",
               "rest of the callback runs\n"
               "exit listener code=1\n");
}

static void twice_timer(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "first");
  hl_raise(&loop, HL_ERAISED, "second");
  printf("after both\n");
}
static void twice_child(void *arg) {
  (void)arg;
  setup();
  hl_set_timeout(&loop, twice_timer, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(raise, first_error_wins) {
  expect_fatal(twice_child, "Error: first", "after both\nexit listener code=1\n");
}

/* ---- in a hook callback: always fatal, at once --------------------------------------- */

static void raise_in_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res,
                          void *arg) {
  (void)id;
  (void)trig;
  (void)res;
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "test_init_callback (%s)", type);
  printf("init hook went on\n");
}
static void init_child(void *arg) {
  (void)arg;
  setup();
  hl_hook_callbacks_t cb = {.init = raise_in_init};
  hl_hook_t *h;
  hl_hook_create(&loop, &cb, NULL, &h);
  hl_hook_enable(h);
  hl_async_resource_t r;
  printf("creating\n");
  hl_async_resource_init(&loop, &r, "test_init_callback_type", HL_DEFAULT_TRIGGER, 0);
  printf("init returned\n");
}

Test(raise, in_init_hook_is_fatal) {
  expect_fatal(init_child, "Error: test_init_callback (test_init_callback_type)",
               "creating\nexit listener code=1\n");
}

static void raise_in_before(hl_async_id_t id, void *arg) {
  (void)id;
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "test_callback");
  printf("before hook went on\n");
}
static void before_child(void *arg) {
  (void)arg;
  setup();
  hl_hook_callbacks_t cb = {.before = raise_in_before};
  hl_hook_t *h;
  hl_hook_create(&loop, &cb, NULL, &h);
  hl_hook_enable(h);
  hl_async_resource_t r;
  hl_async_resource_init(&loop, &r, "test_callback_type", HL_DEFAULT_TRIGGER, 0);
  hl_async_resource_run(&r, say, "resource callback ran");
  printf("run returned\n");
}

Test(raise, in_before_hook_is_fatal) {
  expect_fatal(before_child, "Error: test_callback", "exit listener code=1\n");
}

static void raise_in_after(hl_async_id_t id, void *arg) {
  (void)id;
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "in after");
  printf("after hook went on\n");
}
static void after_child(void *arg) {
  (void)arg;
  setup();
  hl_hook_callbacks_t cb = {.after = raise_in_after};
  hl_hook_t *h;
  hl_hook_create(&loop, &cb, NULL, &h);
  hl_hook_enable(h);
  hl_set_timeout(&loop, say, "timer callback ran", 1, NULL);
  hl_set_timeout(&loop, say, "second timer ran", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_after_hook_is_fatal) {
  expect_fatal(after_child, "Error: in after", "timer callback ran\nexit listener code=1\n");
}

static void raise_in_destroy(hl_async_id_t id, void *arg) {
  (void)id;
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "in destroy");
}
static void destroy_child(void *arg) {
  (void)arg;
  setup();
  hl_hook_callbacks_t cb = {.destroy = raise_in_destroy};
  hl_hook_t *h;
  hl_hook_create(&loop, &cb, NULL, &h);
  hl_hook_enable(h);
  hl_set_immediate(&loop, say, "immediate ran", NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_destroy_hook_is_fatal) {
  expect_fatal(destroy_child, "Error: in destroy", "immediate ran\nexit listener code=1\n");
}

/* ---- immediate, tick, microtask ------------------------------------------------------ */

static void raising_immediate(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "immediate boom");
  printf("rest of the immediate runs\n");
}
static void immediate_child(void *arg) {
  (void)arg;
  setup();
  hl_set_immediate(&loop, raising_immediate, NULL, NULL);
  hl_set_immediate(&loop, say, "second immediate ran", NULL); /* same check phase */
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_immediate_is_uncaught) {
  expect_fatal(immediate_child, "Error: immediate boom",
               "rest of the immediate runs\nexit listener code=1\n");
}

static void raising_tick(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "tick boom");
  printf("rest of the tick runs\n");
}
static void tick_child(void *arg) {
  (void)arg;
  setup();
  hl_next_tick(&loop, say, "first tick ran");
  hl_next_tick(&loop, raising_tick, NULL);
  hl_next_tick(&loop, say, "third tick ran");
  hl_queue_microtask(&loop, say, "microtask ran");
  hl_set_immediate(&loop, say, "immediate ran", NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_tick_is_uncaught) {
  expect_fatal(tick_child, "Error: tick boom",
               "first tick ran\nrest of the tick runs\nexit listener code=1\n");
}

static void raising_microtask(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "microtask boom");
  printf("rest of the microtask runs\n");
}
static void queue_from_timer(void *arg) {
  (void)arg;
  hl_queue_microtask(&loop, raising_microtask, NULL);
  hl_queue_microtask(&loop, say, "second microtask ran");
  hl_next_tick(&loop, say, "tick ran");
}
static void microtask_child(void *arg) {
  (void)arg;
  setup();
  hl_set_timeout(&loop, queue_from_timer, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_microtask_is_uncaught) {
  expect_fatal(microtask_child, "Error: microtask boom",
               "tick ran\nrest of the microtask runs\nexit listener code=1\n");
}

/* ---- top level ------------------------------------------------------------------------ */

static void top_child(void *arg) {
  (void)arg;
  setup();
  hl_set_immediate(&loop, say, "immediate ran", NULL);
  printf("before raise\n");
  hl_raise(&loop, HL_ERAISED, "top level boom");
  printf("after raise\n");
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(raise, at_top_level_is_uncaught_at_once) {
  expect_fatal(top_child, "Error: top level boom", "before raise\nexit listener code=1\n");
}

static void no_loop_child(void *arg) {
  (void)arg;
  printf("before raise\n");
  hl_raise(NULL, HL_ERAISED, "no loop %s", "at all");
  printf("after raise\n");
}

Test(raise, without_a_loop_is_fatal) {
  expect_fatal(no_loop_child, "Error: no loop at all", "before raise\n");
}

static void raising_fn(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "run boom");
  printf("rest of fn runs\n");
}
static void run_top_child(void *arg) {
  (void)arg;
  setup();
  hl_async_resource_t r;
  hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0);
  hl_async_resource_run(&r, raising_fn, NULL);
  printf("after run\n");
}

Test(raise, in_run_at_top_level_is_uncaught) {
  expect_fatal(run_top_child, "Error: run boom", "rest of fn runs\nexit listener code=1\n");
}

/* Inside a callback, a raise in a nested run propagates to the callback: run
 * returns HL_ERAISED, the callback finishes, then the error is uncaught. */
static void run_in_timer(void *arg) {
  (void)arg;
  hl_async_resource_t r;
  hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0);
  int rc = hl_async_resource_run(&r, raising_fn, NULL);
  printf("run returned %s\n", hl_err_name(rc));
  hl_async_resource_emit_destroy(&r);
}
static void run_nested_child(void *arg) {
  (void)arg;
  setup();
  hl_set_timeout(&loop, run_in_timer, NULL, 1, NULL);
  hl_set_timeout(&loop, say, "second timer ran", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_nested_run_propagates_to_callback) {
  expect_fatal(run_nested_child, "Error: run boom",
               "rest of fn runs\nrun returned ERAISED\nexit listener code=1\n");
}

/* Nested runs at top level: the inner run returns HL_ERAISED, the outer fn
 * goes on, and the error is uncaught when the outermost run returns. */
static hl_async_resource_t nest_outer, nest_inner;
static void nested_outer_fn(void *arg) {
  (void)arg;
  int rc = hl_async_resource_run(&nest_inner, raising_fn, NULL);
  printf("inner run returned %s\n", hl_err_name(rc));
}
static void run_nested_top_child(void *arg) {
  (void)arg;
  setup();
  hl_async_resource_init(&loop, &nest_outer, "Outer", HL_DEFAULT_TRIGGER, 0);
  hl_async_resource_init(&loop, &nest_inner, "Inner", HL_DEFAULT_TRIGGER, 0);
  hl_async_resource_run(&nest_outer, nested_outer_fn, NULL);
  printf("after outer run\n");
}

Test(raise, in_nested_run_at_top_level_propagates_to_outermost) {
  expect_fatal(run_nested_top_child, "Error: run boom",
               "rest of fn runs\ninner run returned ERAISED\nexit listener code=1\n");
}

/* hl_default_trigger_scope reports a raise in its fn; the error stays pending
 * until the callback returns. */
static void scope_raising(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "scope boom");
}
static void scope_in_timer(void *arg) {
  (void)arg;
  int rc = hl_default_trigger_scope(&loop, 5, scope_raising, NULL);
  printf("scope returned %s\n", hl_err_name(rc));
}
static void scope_child(void *arg) {
  (void)arg;
  setup();
  hl_set_timeout(&loop, scope_in_timer, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
}

Test(raise, in_default_trigger_scope_propagates_to_callback) {
  expect_fatal(scope_child, "Error: scope boom", "scope returned ERAISED\nexit listener code=1\n");
}

/* A scenario that does not raise exits 0 (the harness itself is sound). */
static void clean_child(void *arg) {
  (void)arg;
  setup();
  hl_set_timeout(&loop, say, "timer ran", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("close=%d\n", hl_loop_close(&loop));
}

Test(raise, no_raise_exits_zero) {
  hl_child_result_t r;
  hl_child_run(clean_child, NULL, &r);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_str_eq(r.out, "timer ran\nclose=0\n", "exit listeners only run on hookloop exits");
  /* (only "Error:" is checked: sanitizer runtimes may add notes of their own) */
  cr_assert_null(strstr(r.err, "Error:"), "stderr: %s", r.err);
}
