/* test/core/test_clock.c - hl__clock_ns (src/core/clock.c), the hot-path
 * timestamp clock: never goes back, stays on CLOCK_MONOTONIC's scale (a read
 * between two clock_gettime reads lies between them, within a slack for the
 * extrapolation), and per thread. Calibration is reached by reading the
 * clock until it reports TSC mode or 50 ms of CLOCK_MONOTONIC have passed
 * (machines without an invariant TSC stay on clock_gettime). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>
#include "core/internal.h"

#define SLACK_NS 200000u /* 0.2 ms: extrapolation error is tens of ns */

static uint64_t mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Read until calibrated (or 50 ms), checking monotonicity on the way. */
static void warm(void) {
  uint64_t end = mono() + 50000000u, prev = 0;
  while (!hl__clock_uses_tsc() && mono() < end) {
    uint64_t t = hl__clock_ns();
    cr_assert_geq(t, prev);
    prev = t;
  }
}

static void check_scale(int rounds) {
  uint64_t prev = 0;
  for (int i = 0; i < rounds; i++) {
    uint64_t a = mono();
    uint64_t c = hl__clock_ns();
    uint64_t b = mono();
    cr_assert_geq(c, prev, "went back: %llu after %llu", (unsigned long long)c,
                  (unsigned long long)prev);
    cr_assert(c + SLACK_NS >= a && c <= b + SLACK_NS,
              "off CLOCK_MONOTONIC: %llu not in [%llu, %llu]", (unsigned long long)c,
              (unsigned long long)a, (unsigned long long)b);
    prev = c;
  }
}

Test(clock, monotonic_and_on_the_monotonic_scale) {
  warm();
  cr_log_info("clock: %s", hl__clock_uses_tsc() ? "TSC" : "clock_gettime");
  /* a million reads span several 10 ms rebases */
  check_scale(1000000);
}

static void *thread_main(void *arg) {
  (void)arg;
  warm();
  check_scale(100000);
  return NULL;
}

Test(clock, per_thread) {
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, thread_main, NULL), 0);
  for (int i = 0; i < 2; i++)
    cr_assert_eq(pthread_join(th[i], NULL), 0);
}
