/* test/core/test_smoke.c - the loop starts, runs and closes; errors have names. */
#include <criterion/criterion.h>
#include <hookloop.h>

Test(loop, init_run_close) {
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_execution_async_id(), 1);
  cr_assert_eq(hl_trigger_async_id(), 0);
  cr_assert_eq(hl_execution_async_resource(), &loop);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(loop, bad_arguments) {
  cr_assert_eq(hl_loop_init(NULL), HL_EINVAL);
  cr_assert_eq(hl_run(NULL, HL_RUN_DEFAULT), HL_EINVAL);
  cr_assert_eq(hl_loop_close(NULL), HL_EINVAL);
  cr_assert_str_eq(hl_err_name(HL_ESTACK), "ESTACK");
  cr_assert_str_eq(hl_err_name(UV_EINVAL), "EINVAL");
  cr_assert_str_eq(hl_strerror(HL_EAGGREGATE), "all promises were rejected");
}
