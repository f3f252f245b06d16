/* test/core/test_loop.c - the loop itself: joining an application's uv loop,
 * run/close states, the current loop, and exit listeners on the fatal path
 * (which run in the failing callback's context and storage). */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <string.h>
#include "child.h"

static int fired;
static void count(void *arg) {
  (void)arg;
  fired++;
}

Test(loop, joins_existing_uv_loop) {
  uv_loop_t uv;
  cr_assert_eq(uv_loop_init(&uv), 0);
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init_uv(&loop, &uv), 0);
  cr_assert_eq(hl_loop_uv(&loop), &uv);
  fired = 0;
  cr_assert_eq(hl_set_timeout(&loop, count, NULL, 1, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, count, NULL, NULL), 0);
  /* The application drives its own loop: hookloop callbacks run from it. */
  uv_run(&uv, UV_RUN_DEFAULT);
  cr_assert_eq(fired, 2);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_null(hl_loop_uv(&loop));
  /* hookloop closed its handles: the application's loop closes cleanly. */
  cr_assert_eq(uv_loop_close(&uv), 0);
}

static hl_loop_t *nested_loop;
static int nested_rc;
static void try_nested_run(void *arg) {
  (void)arg;
  nested_rc = hl_run(nested_loop, HL_RUN_DEFAULT);
}

Test(loop, run_inside_callback_is_a_state_error) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  nested_loop = &loop;
  nested_rc = 0;
  hl_set_timeout(&loop, try_nested_run, NULL, 1, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(nested_rc, HL_ESTATE);
  cr_assert_eq(hl_run(&loop, 42), HL_EINVAL);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(loop, close_is_busy_while_work_is_pending) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, count, NULL, &im), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 1);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  cr_assert_eq(hl_clear_immediate(&im), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(loop, current_loop_and_version) {
  hl_loop_t a, b;
  cr_assert_eq(hl_loop_init(&a), 0);
  cr_assert_eq(hl_loop_current(), &a);
  cr_assert_eq(hl_loop_init(&b), 0);
  cr_assert_eq(hl_loop_current(), &b);
  hl_run(&a, HL_RUN_NOWAIT);
  cr_assert_eq(hl_loop_current(), &a);
  cr_assert_eq(hl_loop_close(&a), 0);
  cr_assert_eq(hl_loop_close(&b), 0);
  cr_assert_str_eq(hl_version_string(), HL_VERSION_STRING);
}

Test(loop, allocator_arguments) {
  cr_assert_eq(hl_replace_allocator(NULL, realloc, calloc, free), HL_EINVAL);
  cr_assert_eq(hl_replace_allocator(malloc, realloc, calloc, free), 0);
}

/* ---- the fatal path: exit listeners, in the failing callback's context ---- */

static hl_loop_t fatal_loop;
static hl_als_t fatal_als;

static void on_exit_listener(int code, void *arg) {
  const char *store = hl_als_get_store(&fatal_als);
  printf("exit listener %s code=%d exec=%lld store=%s\n", (const char *)arg, code,
         (long long)hl_execution_async_id(), store ? store : "(null)");
}

static void raising_timer(void *arg) {
  (void)arg;
  hl_raise(&fatal_loop, HL_ERAISED, "timer failed with %d", 42);
  printf("callback continues until it returns\n");
}

static void schedule(void *arg) {
  (void)arg;
  hl_set_timeout(&fatal_loop, raising_timer, NULL, 1, NULL);
}

static void fatal_child(void *arg) {
  (void)arg;
  hl_loop_init(&fatal_loop);
  hl_als_init(&fatal_loop, &fatal_als, NULL);
  hl_process_on_exit(&fatal_loop, on_exit_listener, "first");
  hl_process_on_exit(&fatal_loop, on_exit_listener, "second");
  hl_process_on_exit(&fatal_loop, on_exit_listener, "removed");
  hl_process_off_exit(&fatal_loop, on_exit_listener, "removed");
  hl_als_run(&fatal_als, "request-7", schedule, NULL);
  hl_run(&fatal_loop, HL_RUN_DEFAULT);
  printf("not reached\n");
}

Test(loop, uncaught_error_runs_exit_listeners_in_failing_context) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(fatal_child, NULL, &r);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: timer failed with 42");
  cr_assert_str_eq(r.out, "callback continues until it returns\n"
                          "exit listener first code=1 exec=2 store=request-7\n"
                          "exit listener second code=1 exec=2 store=request-7\n");
}

static void exit_child(void *arg) {
  (void)arg;
  hl_loop_init(&fatal_loop);
  hl_process_on_exit(&fatal_loop, on_exit_listener, "explicit");
  hl_process_exit(3);
}

Test(loop, process_exit_runs_listeners_with_code) {
  hl_child_result_t r;
  hl_child_run(exit_child, NULL, &r);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 3);
  cr_assert_str_eq(r.out, "exit listener explicit code=3 exec=1 store=(null)\n");
  cr_assert_eq(hl_process_off_exit(NULL, on_exit_listener, NULL), HL_EINVAL);
}
