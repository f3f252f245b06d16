/* test/app/app_fixture.h - what the in-memory app tests share: a loop and an
 * app on it, made in a suite's setup and freed in its teardown (the loop must
 * close clean: nothing of a request left behind). */
#ifndef HL_TEST_APP_FIXTURE_H
#define HL_TEST_APP_FIXTURE_H

#include <criterion/criterion.h>
#include <hookloop.h>

static hl_loop_t loop;
static hl_app_t *app;

static void app_open(void) {
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_app_new(&loop, &app), 0);
}
static void app_close(void) {
  cr_assert_eq(hl_app_free(app), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

#endif
