/* test/proc/test_uncaught.c - uncaught errors and unhandled rejections
 * (process.h): uncaughtExceptionMonitor then uncaughtException, the exit codes
 * (1 with no listener, 0 or what the listener sets, 7 when a listener raises),
 * the listener's async context and storage, and Node's --unhandled-rejections
 * modes with rejectionHandled. Every scenario runs in a child process. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <string.h>
#include "child.h"
#include "childerr.h"

static hl_loop_t loop;
static char prog[] = "prog";
static int calls;

static void init_main(void) {
  char *argv[] = {prog, NULL};
  hl_loop_init(&loop);
  cr_assert_eq(hl_process_init(&loop, 1, argv), 0);
}

static void say(void *arg) {
  printf("%s\n", (const char *)arg);
}

static void raise_timer(void *arg) {
  hl_raise(&loop, HL_ERAISED, "%s", (const char *)arg);
  printf("rest of the raising callback\n");
}

static void on_uncaught(const hl_error_t *err, hl_origin_t origin, void *arg) {
  printf("%s: %s (%s)\n", (const char *)arg, err->message, hl_origin_name(origin));
  calls++;
}

static void run(void (*fn)(void *), hl_child_result_t *r) {
  hl_child_run(fn, NULL, r);
  cr_assert_not(hl_child_sanitizer_report(r), "%s", r->err);
  cr_assert(r->exited, "child died by signal %d; stderr: %s", r->signal, r->err);
}

/* ---- exceptions -------------------------------------------------------------------- */

static void handled_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_uncaught_exception_monitor(&loop, on_uncaught, "monitor");
  hl_process_on_uncaught_exception(&loop, on_uncaught, "listener");
  hl_set_timeout(&loop, raise_timer, "boom", 1, NULL);
  hl_set_timeout(&loop, say, "the loop goes on", 2, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  exit(hl_process_get_exit_code());
}

Test(uncaught, monitor_then_listener_and_the_loop_goes_on) {
  hl_child_result_t r;
  run(handled_child, &r);
  cr_assert_eq(r.code, 0);
  cr_assert_str_eq(r.out, "rest of the raising callback\n"
                          "monitor: boom (uncaughtException)\n"
                          "listener: boom (uncaughtException)\n"
                          "the loop goes on\n");
  char ebuf[1024];
  cr_assert_str_eq(hl_child_err(&r, ebuf, sizeof ebuf), "");
}

static void set_code_listener(const hl_error_t *err, hl_origin_t origin, void *arg) {
  (void)err, (void)origin, (void)arg;
  hl_process_set_exit_code(4);
}

static void sets_code_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_uncaught_exception(&loop, set_code_listener, NULL);
  hl_set_timeout(&loop, raise_timer, "boom", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  exit(hl_process_get_exit_code());
}

Test(uncaught, the_listener_may_set_the_exit_code) {
  hl_child_result_t r;
  run(sets_code_child, &r);
  cr_assert_eq(r.code, 4);
}

static void monitor_only_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_uncaught_exception_monitor(&loop, on_uncaught, "monitor");
  hl_process_on_uncaught_exception(&loop, on_uncaught, "removed");
  hl_process_off_uncaught_exception(&loop, on_uncaught, "removed");
  hl_set_timeout(&loop, raise_timer, "boom", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(uncaught, a_monitor_alone_does_not_handle) {
  hl_child_result_t r;
  char line[256];
  run(monitor_only_child, &r);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: boom");
  cr_assert_str_eq(r.out, "rest of the raising callback\nmonitor: boom (uncaughtException)\n");
}

static void raising_listener(const hl_error_t *err, hl_origin_t origin, void *arg) {
  (void)origin, (void)arg;
  printf("listener called for %s\n", err->message);
  hl_raise(&loop, HL_ERAISED, "listener failed");
}

static void on_exit_print(int code, void *arg) {
  (void)arg;
  printf("exit %d\n", code);
}

static void listener_raises_child(void *arg) {
  init_main();
  hl_process_on_uncaught_exception(&loop, raising_listener, NULL);
  hl_process_on_exit(&loop, on_exit_print, NULL);
  if (arg) /* at top level */
    hl_raise(&loop, HL_ERAISED, "top");
  hl_set_timeout(&loop, raise_timer, "boom", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(uncaught, a_raise_inside_the_listener_exits_7) {
  hl_child_result_t r;
  char line[256];
  run(listener_raises_child, &r);
  cr_assert_eq(r.code, 7);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: listener failed");
  cr_assert_str_eq(r.out, "rest of the raising callback\nlistener called for boom\nexit 7\n");
}

Test(uncaught, a_raise_inside_the_listener_at_top_level_exits_7) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(listener_raises_child, (void *)1, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 7);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: listener failed");
  cr_assert_str_eq(r.out, "listener called for top\nexit 7\n");
}

/* The listener runs in the failing callback's async context and storage. */
static hl_als_t als;
static hl_timer_t ctx_timer;
static int store_value = 99;

static void ctx_listener(const hl_error_t *err, hl_origin_t origin, void *arg) {
  (void)err, (void)origin, (void)arg;
  printf("same id %d, store %d\n", hl_execution_async_id() == ctx_timer.id,
         hl_als_get_store(&als) ? *(int *)hl_als_get_store(&als) : -1);
}

static void ctx_start(void *arg) {
  (void)arg;
  hl_set_timeout(&loop, raise_timer, "in context", 1, &ctx_timer);
}

static void context_child(void *arg) {
  (void)arg;
  init_main();
  hl_als_init(&loop, &als, NULL);
  hl_process_on_uncaught_exception(&loop, ctx_listener, NULL);
  hl_als_run(&als, &store_value, ctx_start, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  exit(hl_process_get_exit_code());
}

Test(uncaught, the_listener_runs_in_the_failing_callbacks_context) {
  hl_child_result_t r;
  run(context_child, &r);
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_str_eq(r.out, "rest of the raising callback\nsame id 1, store 99\n");
}

Test(uncaught, registration_validates) {
  hl_loop_t l;
  hl_loop_init(&l);
  cr_assert_eq(hl_process_on_uncaught_exception(NULL, on_uncaught, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_uncaught_exception(&l, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_off_uncaught_exception(&l, on_uncaught, NULL), HL_ENOENT);
  cr_assert_eq(hl_process_set_unhandled_rejections(&l, (hl_rejections_mode_t)9), HL_EINVAL);
  cr_assert_str_eq(hl_origin_name(HL_ORIGIN_UNHANDLED_REJECTION), "unhandledRejection");
  cr_assert_eq(hl_loop_close(&l), 0);
}

/* ---- rejections ----------------------------------------------------------------------- */

static int mode_arg;
static int with_unhandled, with_uncaught;

static void on_unhandled(const hl_error_t *reason, hl_promise_t *p, void *arg) {
  (void)arg;
  printf("unhandledRejection: %s (promise %d)\n", reason->message,
         hl_promise_state(p) == HL_PROMISE_REJECTED);
}

static void reject_now(void *arg) {
  (void)arg;
  hl_promise_t *p;
  hl_promise_new(&loop, &p);
  hl_promise_reject_error(p, HL_ERAISED, "nope");
}

static void rejection_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_set_unhandled_rejections(&loop, (hl_rejections_mode_t)mode_arg);
  if (with_unhandled)
    hl_process_on_unhandled_rejection(&loop, on_unhandled, NULL);
  if (with_uncaught)
    hl_process_on_uncaught_exception(&loop, on_uncaught, "uncaughtException");
  hl_set_timeout(&loop, reject_now, NULL, 1, NULL);
  hl_set_timeout(&loop, say, "later timer", 2, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  exit(hl_process_get_exit_code());
}

static void rejection_case(int mode, int unhandled, int uncaught, int code, const char *out,
                           const char *err_first) {
  mode_arg = mode;
  with_unhandled = unhandled;
  with_uncaught = uncaught;
  hl_child_result_t r;
  char line[256];
  run(rejection_child, &r);
  cr_assert_eq(r.code, code, "mode %d: code %d, stdout %s, stderr %s", mode, r.code, r.out, r.err);
  cr_assert_str_eq(r.out, out, "mode %d", mode);
  if (err_first) {
    hl_first_line(r.err, line, sizeof line);
    cr_assert(strstr(line, err_first), "mode %d: stderr %s", mode, r.err);
  } else {
    char ebuf[1024];
    cr_assert_str_eq(hl_child_err(&r, ebuf, sizeof ebuf), "", "mode %d", mode);
  }
}

Test(rejections, throw_is_the_default_and_is_fatal_without_listeners) {
  cr_assert_eq(hl_process_get_unhandled_rejections(&loop), HL_REJECTIONS_THROW);
  rejection_case(HL_REJECTIONS_THROW, 0, 0, 1, "", "Error: nope");
}

Test(rejections, throw_emits_unhandled_rejection) {
  rejection_case(HL_REJECTIONS_THROW, 1, 1, 0,
                 "unhandledRejection: nope (promise 1)\nlater timer\n", NULL);
}

Test(rejections, throw_without_its_listener_is_an_uncaught_exception) {
  rejection_case(HL_REJECTIONS_THROW, 0, 1, 0,
                 "uncaughtException: nope (unhandledRejection)\nlater timer\n", NULL);
}

Test(rejections, strict_is_an_uncaught_exception_first) {
  rejection_case(HL_REJECTIONS_STRICT, 1, 0, 1, "", "Error: nope");
  rejection_case(HL_REJECTIONS_STRICT, 1, 1, 0,
                 "uncaughtException: nope (unhandledRejection)\n"
                 "unhandledRejection: nope (promise 1)\nlater timer\n",
                 NULL);
  rejection_case(HL_REJECTIONS_STRICT, 0, 1, 0,
                 "uncaughtException: nope (unhandledRejection)\nlater timer\n",
                 "UnhandledPromiseRejectionWarning: Error: nope");
}

Test(rejections, warn_always_warns) {
  rejection_case(HL_REJECTIONS_WARN, 0, 0, 0, "later timer\n",
                 "UnhandledPromiseRejectionWarning: Error: nope");
  rejection_case(HL_REJECTIONS_WARN, 1, 0, 0, "unhandledRejection: nope (promise 1)\nlater timer\n",
                 "UnhandledPromiseRejectionWarning: Error: nope");
}

Test(rejections, warn_with_error_code_sets_1_without_a_listener) {
  rejection_case(HL_REJECTIONS_WARN_WITH_ERROR_CODE, 0, 0, 1, "later timer\n",
                 "UnhandledPromiseRejectionWarning: Error: nope");
  rejection_case(HL_REJECTIONS_WARN_WITH_ERROR_CODE, 1, 0, 0,
                 "unhandledRejection: nope (promise 1)\nlater timer\n", NULL);
}

Test(rejections, none_is_silent) {
  rejection_case(HL_REJECTIONS_NONE, 0, 0, 0, "later timer\n", NULL);
  rejection_case(HL_REJECTIONS_NONE, 1, 0, 0, "unhandledRejection: nope (promise 1)\nlater timer\n",
                 NULL);
}

static void strict_by_option_child(void *arg) {
  (void)arg;
  char a1[] = "--hl-unhandled-rejections=strict";
  char *argv[] = {prog, a1, NULL};
  hl_loop_init(&loop);
  hl_process_init(&loop, 2, argv);
  hl_process_on_unhandled_rejection(&loop, on_unhandled, NULL);
  hl_set_timeout(&loop, reject_now, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(rejections, the_mode_comes_from_the_command_line) {
  hl_child_result_t r;
  char line[256];
  run(strict_by_option_child, &r);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: nope");
}

/* rejectionHandled: a handler attached after the rejection was reported. */
static hl_promise_t *late;

static void on_handled(hl_promise_t *p, void *arg) {
  (void)arg;
  printf("rejectionHandled: same promise %d\n", p == late);
}

static void caught(hl_promise_t *next, void *value, void *arg) {
  (void)next, (void)value, (void)arg;
  printf("late catch ran\n");
}

static void attach_late(void *arg) {
  (void)arg;
  hl_promise_catch(late, caught, NULL, NULL);
  hl_promise_release(late);
}

static void reject_kept(void *arg) {
  (void)arg;
  hl_promise_new(&loop, &late);
  hl_promise_retain(late);
  hl_promise_reject_error(late, HL_ERAISED, "late");
  hl_set_timeout(&loop, attach_late, NULL, 0, NULL); /* after the report */
}

static void late_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_unhandled_rejection(&loop, on_unhandled, NULL);
  hl_process_on_rejection_handled(&loop, on_handled, NULL);
  hl_set_timeout(&loop, reject_kept, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  exit(hl_process_get_exit_code());
}

Test(rejections, rejection_handled_when_a_handler_comes_late) {
  hl_child_result_t r;
  run(late_child, &r);
  cr_assert_eq(r.code, 0, "stderr %s", r.err);
  cr_assert_str_eq(r.out, "unhandledRejection: late (promise 1)\n"
                          "rejectionHandled: same promise 1\n"
                          "late catch ran\n");
}
