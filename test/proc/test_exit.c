/* test/proc/test_exit.c - exit codes and lifecycle events (process.h): exit,
 * beforeExit, hl_process_exit and the exit code, top-level await (13),
 * hookloop's own command-line options (9). Every scenario runs in a child
 * process; its exit code, stdout and first stderr line are checked. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <string.h>
#include "child.h"
#include "childerr.h"

static hl_loop_t loop;
static char prog[] = "prog";

static void init_main(void) {
  char *argv[] = {prog, NULL};
  hl_loop_init(&loop);
  cr_assert_eq(hl_process_init(&loop, 1, argv), 0);
}

static void on_exit_print(int code, void *arg) {
  printf("%s %d exit_code=%d\n", (const char *)arg, code, hl_process_get_exit_code());
}

static void on_before_exit_print(int code, void *arg) {
  printf("%s %d\n", (const char *)arg, code);
}

static void say(void *arg) {
  printf("%s\n", (const char *)arg);
}

static void run_child(void (*fn)(void *), hl_child_result_t *r) {
  hl_child_run(fn, NULL, r);
  cr_assert_not(hl_child_sanitizer_report(r), "%s", r->err);
  cr_assert(r->exited, "child died by signal %d; stderr: %s", r->signal, r->err);
}

/* ---- exit on an empty loop, beforeExit ------------------------------------------- */

static int rounds;
static void before_exit_schedules(int code, void *arg) {
  (void)arg;
  printf("beforeExit %d\n", code);
  if (++rounds == 1)
    hl_set_timeout(&loop, say, "timer scheduled by beforeExit", 1, NULL);
}

static void empty_loop_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_before_exit(&loop, before_exit_schedules, NULL);
  hl_process_on_exit(&loop, on_exit_print, "exit");
  hl_set_timeout(&loop, say, "first timer", 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("hl_run returned\n");
  hl_run(&loop, HL_RUN_DEFAULT); /* exit is emitted once only */
  hl_loop_close(&loop);
  exit(hl_process_get_exit_code());
}

Test(exit, before_exit_then_exit_on_an_empty_loop) {
  hl_child_result_t r;
  run_child(empty_loop_child, &r);
  cr_assert_eq(r.code, 0);
  cr_assert_str_eq(r.out, "first timer\n"
                          "beforeExit 0\n"
                          "timer scheduled by beforeExit\n"
                          "beforeExit 0\n"
                          "exit 0 exit_code=0\n"
                          "hl_run returned\n");
  char ebuf[1024];
  cr_assert_str_eq(hl_child_err(&r, ebuf, sizeof ebuf), "");
}

static void exit_code_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_before_exit(&loop, on_before_exit_print, "beforeExit");
  hl_process_on_exit(&loop, on_exit_print, "exit");
  cr_assert_eq(hl_process_set_exit_code(256), HL_EINVAL);
  cr_assert_eq(hl_process_set_exit_code(-1), HL_EINVAL);
  hl_process_set_exit_code(42);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  exit(hl_process_get_exit_code());
}

Test(exit, exit_code_set_is_passed_to_listeners_and_used) {
  hl_child_result_t r;
  run_child(exit_code_child, &r);
  cr_assert_eq(r.code, 42);
  cr_assert_str_eq(r.out, "beforeExit 42\nexit 42 exit_code=42\n");
}

/* ---- explicit exit ----------------------------------------------------------------- */

static void explicit_in_timer(void *arg) {
  (void)arg;
  hl_set_timeout(&loop, say, "never runs", 0, NULL);
  hl_next_tick(&loop, say, "tick never runs");
  hl_process_exit(3);
}

static void explicit_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_before_exit(&loop, on_before_exit_print, "beforeExit");
  hl_process_on_exit(&loop, on_exit_print, "exit");
  hl_process_set_exit_code(5);
  hl_set_timeout(&loop, explicit_in_timer, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("not reached\n");
}

Test(exit, explicit_code_wins_and_no_before_exit) {
  hl_child_result_t r;
  run_child(explicit_child, &r);
  cr_assert_eq(r.code, 3);
  cr_assert_str_eq(r.out, "exit 3 exit_code=3\n");
}

static void current_code_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_exit(&loop, on_exit_print, "exit");
  hl_process_set_exit_code(6);
  hl_process_exit(HL_EXIT_CODE_CURRENT);
}

Test(exit, exit_without_a_code_uses_the_exit_code) {
  hl_child_result_t r;
  run_child(current_code_child, &r);
  cr_assert_eq(r.code, 6);
  cr_assert_str_eq(r.out, "exit 6 exit_code=6\n");
}

static void change_in_listener(int code, void *arg) {
  (void)arg;
  printf("exit %d\n", code);
  hl_process_set_exit_code(11);
}

static void listener_changes_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_exit(&loop, change_in_listener, NULL);
  hl_process_exit(2);
}

Test(exit, an_exit_listener_may_change_the_code) {
  hl_child_result_t r;
  run_child(listener_changes_child, &r);
  cr_assert_eq(r.code, 11);
  cr_assert_str_eq(r.out, "exit 2\n");
}

static void removes_itself(int code, void *arg) {
  printf("%s %d\n", (const char *)arg, code);
  hl_process_off_exit(&loop, removes_itself, arg);
}

static void order_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_exit(&loop, removes_itself, "first");
  hl_process_on_exit(&loop, on_exit_print, "second");
  hl_process_on_exit(&loop, on_exit_print, "third");
  cr_assert_eq(hl_process_off_exit(&loop, on_exit_print, "third"), 0);
  cr_assert_eq(hl_process_off_exit(&loop, on_exit_print, "third"), HL_ENOENT);
  hl_process_on_before_exit(&loop, on_before_exit_print, "b1");
  hl_process_on_before_exit(&loop, on_before_exit_print, "b2");
  cr_assert_eq(hl_process_off_before_exit(&loop, on_before_exit_print, "b1"), 0);
  cr_assert_eq(hl_process_off_before_exit(&loop, on_before_exit_print, "b1"), HL_ENOENT);
  cr_assert_eq(hl_process_on_before_exit(NULL, on_before_exit_print, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_before_exit(&loop, NULL, NULL), HL_EINVAL);
  hl_run(&loop, HL_RUN_DEFAULT);
  exit(hl_process_get_exit_code());
}

Test(exit, listeners_run_in_order_added_and_are_removable) {
  hl_child_result_t r;
  run_child(order_child, &r);
  cr_assert_eq(r.code, 0);
  cr_assert_str_eq(r.out, "b2 0\nfirst 0\nsecond 0 exit_code=0\n");
}

/* ---- uncaught: no beforeExit, code 1 ------------------------------------------------ */

static void raise_timer(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "boom");
}

static void uncaught_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_before_exit(&loop, on_before_exit_print, "beforeExit");
  hl_process_on_exit(&loop, on_exit_print, "exit");
  hl_process_set_exit_code(4); /* the uncaught error overrides it */
  hl_set_timeout(&loop, raise_timer, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(exit, uncaught_error_exits_1_without_before_exit) {
  hl_child_result_t r;
  char line[256];
  run_child(uncaught_child, &r);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: boom");
  cr_assert_str_eq(r.out, "exit 1 exit_code=1\n");
}

/* ---- top-level await ---------------------------------------------------------------- */

static hl_promise_t *tla;

static void tla_child(void *arg) {
  int mode = (int)(intptr_t)arg;
  init_main();
  hl_process_on_exit(&loop, on_exit_print, "exit");
  cr_assert_eq(hl_promise_new(&loop, &tla), 0);
  cr_assert_eq(hl_await_top_level(&loop, tla), 0);
  cr_assert_eq(hl_await_top_level(&loop, NULL), HL_EINVAL);
  if (mode == 1)
    hl_promise_resolve(tla, NULL, NULL);
  if (mode == 2)
    hl_process_set_exit_code(0);
  hl_run(&loop, HL_RUN_DEFAULT);
  exit(hl_process_get_exit_code());
}

Test(exit, unsettled_top_level_await_exits_13) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(tla_child, (void *)0, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 13, "code %d, stderr %s", r.code, r.err);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line),
                   "Warning: Detected unsettled top-level await");
  cr_assert_str_eq(r.out, "exit 13 exit_code=13\n");
}

Test(exit, settled_top_level_await_exits_0) {
  hl_child_result_t r;
  hl_child_run(tla_child, (void *)1, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 0);
  char ebuf[1024];
  cr_assert_str_eq(hl_child_err(&r, ebuf, sizeof ebuf), "");
  cr_assert_str_eq(r.out, "exit 0 exit_code=0\n");
}

Test(exit, an_exit_code_set_explicitly_wins_over_13) {
  hl_child_result_t r;
  hl_child_run(tla_child, (void *)2, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 0);
  cr_assert(strstr(r.err, "unsettled top-level await"));
}

/* ---- hookloop's options --------------------------------------------------------------- */

static char *opt_argv[8];

static void options_child(void *arg) {
  (void)arg;
  hl_loop_init(&loop);
  int n = 0;
  while (opt_argv[n])
    n++;
  int r = hl_process_init(&loop, n, opt_argv);
  printf("init %d\n", r);
  int argc, ec;
  char *const *av = hl_process_argv(&argc);
  char *const *ev = hl_process_exec_argv(&ec);
  for (int i = 0; i < argc; i++)
    printf("argv %s\n", av[i]);
  for (int i = 0; i < ec; i++)
    printf("exec_argv %s\n", ev[i]);
  printf("mode %d\n", (int)hl_process_get_unhandled_rejections(&loop));
  printf("again %d\n", hl_process_init(&loop, n, opt_argv) == HL_ESTATE);
}

static void set_argv(char **v) {
  int i = 0;
  for (; v[i]; i++)
    opt_argv[i] = v[i];
  opt_argv[i] = NULL;
}

Test(exit, own_options_move_to_exec_argv) {
  char a0[] = "prog", a1[] = "--hl-unhandled-rejections=warn", a2[] = "x", a3[] = "--",
       a4[] = "--hl-title=not-ours";
  char *v[] = {a0, a1, a2, a3, a4, NULL};
  set_argv(v);
  hl_child_result_t r;
  run_child(options_child, &r);
  cr_assert_eq(r.code, 0, "stderr: %s", r.err);
  cr_assert_str_eq(r.out, "init 0\n"
                          "argv prog\nargv x\nargv --\nargv --hl-title=not-ours\n"
                          "exec_argv --hl-unhandled-rejections=warn\n"
                          "mode 2\nagain 1\n");
}

Test(exit, unknown_option_exits_9) {
  char a0[] = "prog", a1[] = "ok", a2[] = "--hl-nope";
  char *v[] = {a0, a1, a2, NULL};
  set_argv(v);
  hl_child_result_t r;
  char line[256];
  run_child(options_child, &r);
  cr_assert_eq(r.code, 9);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "prog: bad option: --hl-nope");
  cr_assert_str_eq(r.out, "");
}

Test(exit, bad_option_value_exits_9) {
  char a0[] = "prog", a1[] = "--hl-unhandled-rejections=sometimes";
  char *v[] = {a0, a1, NULL};
  set_argv(v);
  hl_child_result_t r;
  char line[256];
  run_child(options_child, &r);
  cr_assert_eq(r.code, 9);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line),
                   "prog: bad option: --hl-unhandled-rejections=sometimes");
}

Test(exit, init_validates_arguments) {
  hl_loop_t l;
  char a0[] = "prog";
  char *v[] = {a0, NULL};
  hl_loop_init(&l);
  cr_assert_eq(hl_process_init(NULL, 1, v), HL_EINVAL);
  cr_assert_eq(hl_process_init(&l, 0, v), HL_EINVAL);
  cr_assert_eq(hl_process_init(&l, 1, NULL), HL_EINVAL);
  cr_assert_eq(hl_loop_close(&l), 0);
}

static void tla_reject(void *arg) {
  (void)arg;
  hl_promise_reject_error(tla, HL_ERAISED, "awaited failure");
}

static void tla_rejected_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_exit(&loop, on_exit_print, "exit");
  hl_promise_new(&loop, &tla);
  hl_await_top_level(&loop, tla);
  hl_set_timeout(&loop, tla_reject, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  exit(hl_process_get_exit_code());
}

Test(exit, a_rejected_top_level_await_is_an_uncaught_error) {
  hl_child_result_t r;
  char line[256];
  run_child(tla_rejected_child, &r);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: awaited failure");
  cr_assert_str_eq(r.out, "exit 1 exit_code=1\n");
}
