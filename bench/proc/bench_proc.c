/* bench/proc/bench_proc.c - the process module's benchmark, printed as one
 * markdown table:
 * - what one AsyncListener with create/before/after costs per callback,
 *   against one hook with init/before/after, in the same run: an op is one
 *   next-tick from hl_next_tick() to the end of its callback; a sample
 *   schedules --batch ticks at top level and runs the loop; modes (no
 *   listener, hook, listener) are interleaved sample by sample and the best
 *   sample of --reps counts (a shared machine only adds time). Overhead =
 *   mode - no listener, per op (= per callback).
 * - hl_hrtime_ns() against clock_gettime(CLOCK_MONOTONIC): --calls calls in a
 *   loop summed into a sink, best of --reps; target <= 1.1x.
 * Usage: hl-bench-proc [--quick] [--reps N] [--batch N] [--calls N]
 */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static hl_loop_t loop;
static long ran;
static volatile uint64_t sink;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void tick_cb(void *arg) {
  (void)arg;
  ran++;
}

/* hook callbacks */
static void h_init(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                   void *arg) {
  (void)id, (void)type, (void)trigger, (void)res, (void)arg;
  sink++;
}
static void h_event(hl_async_id_t id, void *arg) {
  (void)id, (void)arg;
  sink++;
}

/* listener callbacks */
static int storage;
static void *l_create(void *user_data) {
  (void)user_data;
  sink++;
  return &storage;
}
static void l_event(void *context, void *st) {
  (void)context, (void)st;
  sink++;
}

static double sample(long batch) {
  ran = 0;
  uint64_t t0 = now_ns();
  for (long i = 0; i < batch; i++)
    if (hl_next_tick(&loop, tick_cb, NULL))
      abort();
  hl_run(&loop, HL_RUN_DEFAULT);
  uint64_t t1 = now_ns();
  if (ran != batch) {
    fprintf(stderr, "ran %ld of %ld\n", ran, batch);
    exit(1);
  }
  return (double)(t1 - t0) / (double)batch;
}

static uint64_t __attribute__((noinline)) raw_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double time_calls(int which, long calls) {
  uint64_t s = 0, t0 = now_ns();
  if (which)
    for (long i = 0; i < calls; i++)
      s += hl_hrtime_ns();
  else
    for (long i = 0; i < calls; i++)
      s += raw_clock();
  uint64_t t1 = now_ns();
  sink += s;
  return (double)(t1 - t0) / (double)calls;
}

int main(int argc, char **argv) {
  int reps = 30;
  long batch = 10000, calls = 2000000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      reps = 5;
      batch = 5000;
      calls = 200000;
    } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--calls") && i + 1 < argc) {
      calls = atol(argv[++i]);
    }
  }
  hl_loop_init(&loop);
  hl_hook_callbacks_t hcb = {h_init, h_event, h_event, NULL, NULL};
  hl_hook_t *hook;
  hl_hook_create(&loop, &hcb, NULL, &hook);
  hl_async_listener_callbacks_t lcb = {l_create, l_event, l_event, NULL};
  hl_async_listener_t *al;

  double best[3] = {1e18, 1e18, 1e18};
  for (int r = -1; r < reps; r++) { /* r = -1: untimed warm-up */
    for (int m = 0; m < 3; m++) {
      if (m == 1)
        hl_hook_enable(hook);
      if (m == 2) {
        hl_async_listener_create(&loop, &lcb, NULL, &al);
        hl_async_listener_add(al);
      }
      double ns = sample(batch);
      if (m == 1)
        hl_hook_disable(hook);
      if (m == 2) {
        hl_async_listener_remove(al);
        hl_async_listener_destroy(al);
        hl_run(&loop, HL_RUN_DEFAULT); /* destroys flushed: internal hook off */
      }
      if (r >= 0 && ns < best[m])
        best[m] = ns;
    }
  }
  double clk = 1e18, hr = 1e18;
  for (int r = -1; r < reps; r++) {
    double a = time_calls(0, calls), b = time_calls(1, calls);
    if (r >= 0) {
      clk = a < clk ? a : clk;
      hr = b < hr ? b : hr;
    }
  }
  hl_hook_destroy(hook);
  hl_loop_close(&loop);

  /* Samples are short (a few ms) so that some escape the neighbours on a
   * shared machine: a preemption costs a sample milliseconds. */
  double oh = best[1] - best[0], ol = best[2] - best[0];
  printf("| measure | ns | peer | peer ns | ratio | target | result |\n");
  printf("|---|--:|---|--:|--:|---|---|\n");
  printf("| tick, no listener (per callback) | %.1f | | | | | |\n", best[0]);
  printf("| tick + one AsyncListener create/before/after | %.1f | one hook init/before/after | "
         "%.1f | %.2fx | (none) | |\n",
         best[2], best[1], best[2] / best[1]);
  printf("| overhead per callback: listener vs hook | %+.1f | | %+.1f | %.2fx | (none) | |\n", ol,
         oh, oh > 0 ? ol / oh : 0);
  printf("| hl_hrtime_ns per call | %.2f | clock_gettime | %.2f | %.2fx | <= 1.1x | %s |\n", hr,
         clk, hr / clk, hr / clk <= 1.1 ? "PASS" : "**MISS**");
  printf("\nBest of %d samples; %ld ticks per sample, %ld clock calls per sample.\n", reps, batch,
         calls);
  return 0;
}
