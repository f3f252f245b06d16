/* test/proc/test_listener.c - AsyncListener (listener.h), the v0.11 API:
 * create/before/after with per-event storage, listeners staying attached to
 * queued events (and what they queue) after removal, adding twice ignored,
 * error callbacks (all run; one true handles; after skipped), a raise inside
 * before (error once, then uncaught whatever it returns), a raise inside
 * error (exit 7). Modelled on Node v0.11's test/simple/test-asynclistener*.
 * Process-ending scenarios run in a child. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <string.h>
#include "child.h"
#include "childerr.h"
#include "counting.h"

static hl_loop_t loop;
static char buf[4096];
static size_t len;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  len += (size_t)vsnprintf(buf + len, sizeof buf - len, fmt, ap);
  va_end(ap);
}

static void setup(void) {
  len = 0;
  buf[0] = 0;
  hl_counting_on();
  cr_assert_eq(hl_loop_init(&loop), 0);
}

static void teardown(void) {
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "leaked %ld allocations", hl_counting_live());
  hl_counting_off();
}

TestSuite(listener, .init = setup, .fini = teardown);

/* Storage: create's value, or user_data when create returns NULL. */
static int uid;
static char names[16][8];
static void *create_named(void *user_data) {
  logf_("create(%s) ", (const char *)user_data);
  if (uid == 16)
    return NULL;
  snprintf(names[uid], sizeof names[uid], "e%d", uid);
  return names[uid++];
}
static void *create_null(void *user_data) {
  (void)user_data;
  return NULL;
}
static void before_log(void *context, void *storage) {
  logf_("before(%s,%d) ", (const char *)storage, context == hl_execution_async_resource());
}
static void after_log(void *context, void *storage) {
  (void)context;
  logf_("after(%s) ", (const char *)storage);
}
static void cb_log(void *arg) {
  logf_("cb(%s) ", (const char *)arg);
}

Test(listener, create_before_after_with_storage) {
  uid = 0;
  hl_async_listener_callbacks_t a = {create_named, before_log, after_log, NULL};
  hl_async_listener_callbacks_t b = {create_null, before_log, after_log, NULL};
  hl_async_listener_t *la, *lb;
  cr_assert_eq(hl_async_listener_create(&loop, &a, "ud-a", &la), 0);
  cr_assert_eq(hl_async_listener_create(&loop, &b, "ud-b", &lb), 0);
  cr_assert_eq(hl_async_listener_add(la), 0);
  cr_assert_eq(hl_async_listener_add(lb), 0);
  hl_next_tick(&loop, cb_log, "tick");
  cr_assert_eq(hl_async_listener_remove(la), 0);
  cr_assert_eq(hl_async_listener_remove(lb), 0);
  hl_next_tick(&loop, cb_log, "untracked");
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(buf, "create(ud-a) before(e0,1) before(ud-b,1) cb(tick) after(e0) after(ud-b) "
                        "cb(untracked) ");
  hl_async_listener_destroy(la);
  hl_async_listener_destroy(lb);
}

/* Attached events keep the listener after removal, and pass it on. */
static hl_async_listener_t *key;
static void inner_tick(void *arg) {
  logf_("cb(%s) ", (const char *)arg);
}
static void queues_more(void *arg) {
  logf_("cb(%s) ", (const char *)arg);
  hl_next_tick(&loop, inner_tick, "inherited");
}
static void removes_in_flight(void *arg) {
  logf_("cb(%s) ", (const char *)arg);
  cr_assert_eq(hl_async_listener_remove(key), 0); /* edits this callback's set only */
  cr_assert_eq(hl_async_listener_remove(key), HL_ENOENT);
  hl_next_tick(&loop, inner_tick, "after-remove");
}

Test(listener, attached_events_keep_it_after_removal_and_pass_it_on) {
  uid = 0;
  hl_async_listener_callbacks_t a = {create_named, before_log, after_log, NULL};
  cr_assert_eq(hl_async_listener_create(&loop, &a, "k", &key), 0);
  hl_async_listener_add(key);
  hl_set_immediate(&loop, queues_more, "first", NULL);
  hl_set_immediate(&loop, removes_in_flight, "immediate", NULL);
  hl_async_listener_remove(key);
  hl_set_immediate(&loop, cb_log, "untracked", NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  /* the tick queued after the removal inside the second immediate: untracked */
  cr_assert_str_eq(buf,
                   "create(k) create(k) "
                   "before(e0,1) cb(first) create(k) after(e0) "
                   "before(e2,1) cb(inherited) after(e2) "
                   "before(e1,1) cb(immediate) after(e1) cb(after-remove) "
                   "cb(untracked) ",
                   "got %s", buf);
  hl_async_listener_destroy(key);
}

Test(listener, adding_twice_is_ignored) {
  uid = 0;
  hl_async_listener_callbacks_t a = {create_named, before_log, NULL, NULL};
  cr_assert_eq(hl_async_listener_create(&loop, &a, "k", &key), 0);
  cr_assert_eq(hl_async_listener_add(key), 0);
  cr_assert_eq(hl_async_listener_add(key), 0);
  hl_next_tick(&loop, cb_log, "t");
  hl_async_listener_remove(key);
  cr_assert_eq(hl_async_listener_remove(key), HL_ENOENT); /* it was there once */
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(buf, "create(k) before(e0,1) cb(t) ");
  hl_async_listener_destroy(key);
}

Test(listener, destroy_mutes_it_and_bad_arguments) {
  hl_async_listener_callbacks_t a = {create_named, before_log, after_log, NULL};
  cr_assert_eq(hl_async_listener_create(NULL, &a, NULL, &key), HL_EINVAL);
  cr_assert_eq(hl_async_listener_create(&loop, NULL, NULL, &key), HL_EINVAL);
  cr_assert_eq(hl_async_listener_create(&loop, &a, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_async_listener_add(NULL), HL_EINVAL);
  cr_assert_eq(hl_async_listener_remove(NULL), HL_EINVAL);
  hl_async_listener_destroy(NULL);
  uid = 0;
  cr_assert_eq(hl_async_listener_create(&loop, &a, "k", &key), 0);
  hl_async_listener_add(key);
  hl_next_tick(&loop, cb_log, "t");
  hl_async_listener_destroy(key); /* the tick's record still holds it: muted */
  hl_next_tick(&loop, cb_log, "u");
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(buf, "create(k) cb(t) cb(u) ");
}

Test(listener, many_listeners_and_events_are_freed) {
  hl_async_listener_callbacks_t a = {NULL, NULL, NULL, NULL};
  hl_async_listener_t *ls[6];
  for (int i = 0; i < 6; i++) { /* more than the inline record size */
    cr_assert_eq(hl_async_listener_create(&loop, &a, NULL, &ls[i]), 0);
    hl_async_listener_add(ls[i]);
  }
  for (int i = 0; i < 500; i++)
    hl_next_tick(&loop, cb_log, "x");
  hl_set_timeout(&loop, cb_log, "y", 1, NULL); /* alive at close: freed with the loop */
  len = 0;
  hl_run(&loop, HL_RUN_NOWAIT);
  for (int i = 0; i < 3; i++)
    hl_async_listener_destroy(ls[i]); /* the others are freed by hl_loop_close */
  len = 0;
  hl_run(&loop, HL_RUN_DEFAULT);
}

/* ---- errors ----------------------------------------------------------------------------- */

static int err_calls;
static bool error_true(void *storage, const hl_error_t *err) {
  logf_("error(%s,%s,true) ", (const char *)storage, err->message);
  err_calls++;
  return true;
}
static bool error_false(void *storage, const hl_error_t *err) {
  logf_("error(%s,%s,false) ", (const char *)storage, err->message);
  err_calls++;
  return false;
}
static void raises(void *arg) {
  logf_("cb(%s) ", (const char *)arg);
  hl_raise(&loop, HL_ERAISED, "oops");
}

Test(listener, all_error_callbacks_run_one_true_handles_and_after_is_skipped) {
  hl_async_listener_callbacks_t a = {NULL, before_log, after_log, error_false};
  hl_async_listener_callbacks_t b = {NULL, NULL, after_log, error_true};
  hl_async_listener_callbacks_t c = {NULL, NULL, NULL, error_false};
  hl_async_listener_t *la, *lb, *lc;
  hl_async_listener_create(&loop, &a, "a", &la);
  hl_async_listener_create(&loop, &b, "b", &lb);
  hl_async_listener_create(&loop, &c, "c", &lc);
  hl_async_listener_add(la);
  hl_async_listener_add(lb);
  hl_async_listener_add(lc);
  hl_next_tick(&loop, raises, "r");
  hl_next_tick(&loop, cb_log, "next");
  hl_async_listener_remove(la);
  hl_async_listener_remove(lb);
  hl_async_listener_remove(lc);
  hl_run(&loop, HL_RUN_DEFAULT); /* handled: no exit */
  cr_assert_str_eq(buf, "before(a,1) cb(r) error(a,oops,false) error(b,oops,true) "
                        "error(c,oops,false) before(a,1) cb(next) after(a) after(b) ");
  hl_async_listener_destroy(la);
  hl_async_listener_destroy(lb);
  hl_async_listener_destroy(lc);
}

static hl_async_listener_t *added_late;
static void adds_then_raises(void *arg) {
  logf_("cb(%s) ", (const char *)arg);
  hl_async_listener_add(added_late);
  hl_raise(&loop, HL_ERAISED, "late");
}

Test(listener, a_listener_added_during_the_callback_sees_its_error) {
  hl_async_listener_callbacks_t a = {NULL, NULL, NULL, error_false};
  hl_async_listener_callbacks_t b = {NULL, NULL, NULL, error_true};
  hl_async_listener_t *la;
  hl_async_listener_create(&loop, &a, "a", &la);
  hl_async_listener_create(&loop, &b, "b-user-data", &added_late);
  hl_async_listener_add(la);
  hl_next_tick(&loop, adds_then_raises, "r");
  hl_async_listener_remove(la);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_str_eq(buf, "cb(r) error(a,late,false) error(b-user-data,late,true) ");
  hl_async_listener_destroy(la);
  hl_async_listener_destroy(added_late);
}

/* In children: unhandled errors, a raise in before, a raise in error. */
static void on_uncaught(const hl_error_t *err, hl_origin_t origin, void *arg) {
  (void)origin, (void)arg;
  printf("uncaughtException: %s, error calls %d\n", err->message, err_calls);
}

static void child_setup(void) {
  char p[] = "prog";
  char *argv[] = {p, NULL};
  hl_loop_init(&loop);
  hl_process_init(&loop, 1, argv);
}

static void print_raises(void *arg) {
  printf("cb(%s)\n", (const char *)arg);
  hl_raise(&loop, HL_ERAISED, "oops");
}

static bool error_print_false(void *storage, const hl_error_t *err) {
  (void)storage;
  printf("error(%s)\n", err->message);
  err_calls++;
  return false;
}

static void unhandled_child(void *arg) {
  (void)arg;
  child_setup();
  hl_async_listener_callbacks_t a = {NULL, NULL, NULL, error_print_false};
  hl_async_listener_t *la;
  hl_async_listener_create(&loop, &a, NULL, &la);
  hl_async_listener_add(la);
  hl_next_tick(&loop, print_raises, "r");
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(listener_process, no_true_means_uncaught) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(unhandled_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: oops");
  cr_assert_str_eq(r.out, "cb(r)\nerror(oops)\n");
}

static void before_raises(void *context, void *storage) {
  (void)context, (void)storage;
  printf("before raises\n");
  hl_raise(&loop, HL_ERAISED, "from before");
}

static bool error_print_true(void *storage, const hl_error_t *err) {
  (void)storage;
  printf("error(%s) returns true\n", err->message);
  err_calls++;
  return true;
}

static void print_cb(void *arg) {
  printf("cb(%s)\n", (const char *)arg);
}

static void before_raise_child(void *arg) {
  (void)arg;
  child_setup();
  hl_process_on_uncaught_exception(&loop, on_uncaught, NULL);
  hl_async_listener_callbacks_t a = {NULL, before_raises, NULL, error_print_true};
  hl_async_listener_t *la;
  hl_async_listener_create(&loop, &a, NULL, &la);
  hl_async_listener_add(la);
  hl_next_tick(&loop, print_cb, "t");
  hl_async_listener_remove(la);
  hl_run(&loop, HL_RUN_DEFAULT);
  exit(hl_process_get_exit_code());
}

Test(listener_process, a_raise_in_before_calls_error_once_and_propagates) {
  hl_child_result_t r;
  hl_child_run(before_raise_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 0, "stderr %s", r.err);
  cr_assert_str_eq(r.out, "before raises\n"
                          "error(from before) returns true\n"
                          "cb(t)\n"
                          "uncaughtException: from before, error calls 1\n");
}

static void before_raise_fatal_child(void *arg) {
  (void)arg;
  child_setup();
  hl_async_listener_callbacks_t a = {NULL, before_raises, NULL, error_print_true};
  hl_async_listener_t *la;
  hl_async_listener_create(&loop, &a, NULL, &la);
  hl_async_listener_add(la);
  hl_next_tick(&loop, print_cb, "t");
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(listener_process, a_raise_in_before_is_fatal_without_a_listener) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(before_raise_fatal_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 1);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: from before");
}

static bool error_raises(void *storage, const hl_error_t *err) {
  (void)storage;
  printf("error(%s) raises\n", err->message);
  hl_raise(&loop, HL_ERAISED, "from error");
  return true;
}

static void error_raise_child(void *arg) {
  (void)arg;
  child_setup();
  hl_process_on_uncaught_exception(&loop, on_uncaught, NULL);
  hl_async_listener_callbacks_t a = {NULL, NULL, NULL, error_raises};
  hl_async_listener_t *la;
  hl_async_listener_create(&loop, &a, NULL, &la);
  hl_async_listener_add(la);
  hl_next_tick(&loop, print_raises, "r");
  hl_run(&loop, HL_RUN_DEFAULT);
}

Test(listener_process, a_raise_in_error_exits_7) {
  hl_child_result_t r;
  char line[256];
  hl_child_run(error_raise_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 7);
  cr_assert_str_eq(hl_first_line(r.err, line, sizeof line), "Error: from error");
  cr_assert_str_eq(r.out, "cb(r)\nerror(oops) raises\n");
}
