/* bench/core/bench_core.c - the core lifecycle benchmark: what one timer,
 * immediate, next-tick or promise reaction costs in hookloop with no hook,
 * with one hook of five empty callbacks, and with one async-local storage in
 * use; the same on raw libuv where an equivalent exists; and the cost of
 * hl_als_get_store(). bench/core/node_core.js measures the same scenarios in
 * Node; scripts/bench runs both and prints the table.
 *
 * How it measures (the same in node_core.js):
 * - An op is one resource from creation to the end of its callback: schedule
 *   it, run the loop, run its callback. Ops are scheduled in batches of
 *   --batch (100000) at top level, then the loop runs until they have all run.
 *   A sample is --batches (1) batch; its ns/op is the timed ns over its ops.
 *   Each scenario takes --reps (20) samples after one untimed warm-up batch (so
 *   pools are warm in hookloop and in the raw baseline alike); the table uses
 *   the BEST sample (lowest ns/op; the median is printed too): on a shared
 *   2-core VM other tenants only ever add time (a preemption costs a sample
 *   milliseconds), and a sample of 100000 ops still contains every recurring
 *   cost (pool reuse, destroy batches, and in Node several GCs). Many short
 *   samples rather than a few long ones, so that some escape the neighbours.
 *   Samples of the scenarios of one lifecycle are interleaved (raw, no hook,
 *   hook, als, raw, ...), so drift hits them alike.
 * - Timed: from just before scheduling the batch to just after hl_run() (or
 *   uv_run()) returns, with clock_gettime(CLOCK_MONOTONIC). Nothing is
 *   printed or allocated by the benchmark in the timed region; it tests return
 *   codes there (as an application would) and checks after it that every
 *   callback ran (and saw the store) and that no resource is left.
 * - Timers: hookloop runs a delay of 0 as 1 ms (as Node does), so every
 *   implementation uses 1 ms. The 1 ms wait would otherwise dominate (10 ns per
 *   op in a batch of 100k), and it is sleeping, not work: after scheduling, the
 *   benchmark spins (untimed) until 2 ms have passed, so that when the loop
 *   runs every timer is already due and the loop never blocks. Timed = the
 *   scheduling + the whole run of the loop (update time, timer heap, callbacks,
 *   destroy batch). Node gets the same treatment (spin, then time up to its
 *   last callback).
 * - Modes: "nohook"; "hook" = one hook with five empty non-NULL callbacks,
 *   enabled (init, before, after, destroy and promise_resolve all fire);
 *   "als" = one hl_als_t: the whole batch is scheduled inside one hl_als_run()
 *   (as a request handler would), so every resource captures the frame and
 *   hookloop swaps it in around each callback, and each callback calls
 *   hl_als_get_store() and checks the store.
 * - Raw libuv: timer = one uv_timer_t per op from a preallocated array
 *   (uv_timer_init once, at setup, as hookloop's pool initializes a timer once
 *   when first used), taken from and returned to a free list, a live count,
 *   uv_timer_start(1 ms), the callback; immediate = the same with libuv's
 *   primitive for "after I/O", one preallocated uv_check_t per op (started,
 *   stopped in its callback; a uv_idle keeps poll from blocking), the
 *   baseline the target is judged against ("check_per_op"); and, for
 *   reference, a uv_check + uv_idle pair draining an intrusive FIFO of
 *   preallocated nodes (no ids, no context, no destroy: the shape of Node's
 *   and hookloop's own immediate queue, without their work). The raw set functions are kept
 *   out of line (noinline), as a library's would be: the comparison is of the
 *   work done, not of inlining across the benchmark's own file. Ticks and
 *   promises have no libuv equivalent: Node is their only peer.
 * - hl_als_get_store: samples of --getstore-calls (1e7) calls in a loop inside
 *   hl_als_run (the store is set: the frame lookup path), results summed into
 *   a sink (2e8 calls in all); also the same loop over a non-inlinable
 *   function that only loads a field, the floor for any out-of-line accessor.
 *   Best of --reps.
 *
 * Output: one line per result, "result impl=... lifecycle=... mode=...
 * ns_op=<best> median_ns_op=<median> ops_s=<at best> ops=<ops per sample>
 * reps=<n>", or one JSON object per line with --json.
 *
 * Usage: hl-bench-core [--reps N] [--batch N] [--batches N] [--getstore-calls N]
 *                      [--only LIFECYCLE] [--mode nohook|hook|als|raw] [--json] [--quick]
 * (--only and --mode select a part, e.g. to profile it.)
 */
#include <hookloop.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define MAX_REPS 64

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static struct {
  int reps;
  int batch;
  int batches;
  uint64_t getstore_calls;
  const char *only;
  const char *mode; /* only this mode: nohook, hook, als, or raw (for profiling) */
  int json;
} opt = {20, 100000, 1, 10000000ull, NULL, NULL, 0};

static uint64_t g_calls; /* callbacks run: the sink every callback writes */
static int g_store;      /* the store the als mode sets; callbacks compare to it */
static volatile uintptr_t g_sink;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Untimed: let a 1 ms timer become due without sleeping (no wake-up latency).
 * Out of line so that profiles can tell it apart. */
__attribute__((noinline)) static void spin_until(uint64_t t) {
  while (now_ns() < t) {
  }
}

static void die(const char *what, int err) {
  fprintf(stderr, "hl-bench-core: %s: %s\n", what, err ? hl_strerror(err) : "failed");
  exit(2);
}

#define CHECK(call)                                                                                \
  do {                                                                                             \
    int r_ = (call);                                                                               \
    if (r_ != 0)                                                                                   \
      die(#call, r_);                                                                              \
  } while (0)

/* ---- callbacks (shared by hookloop and raw libuv) ------------------------- */

static void cb_plain(void *arg) {
  (void)arg;
  g_calls++;
}

static void cb_als(void *arg) {
  g_calls += hl_als_get_store(arg) == &g_store;
}

static void then_plain(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  g_calls++;
}

static void then_als(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  g_calls += hl_als_get_store(arg) == &g_store;
}

/* ---- raw libuv baselines -------------------------------------------------- */

/* Out of line, as a library's functions are (see the top of the file). */
#define NOINLINE_RAW __attribute__((noinline))
typedef struct raw_s raw_t;

typedef struct raw_timer_s {
  struct raw_timer_s *next_free;
  raw_t *r;
  hl_fn cb;
  void *arg;
  uv_timer_t uv;
} raw_timer_t;

typedef struct raw_imm_s {
  struct raw_imm_s *next, *prev;
  hl_fn cb;
  void *arg;
} raw_imm_t;

/* An immediate as one libuv check handle of its own (the per-op analogue of
 * the timer baseline): started when set, stopped in its callback. */
typedef struct raw_chk_s {
  struct raw_chk_s *next_free;
  raw_t *r;
  hl_fn cb;
  void *arg;
  uv_check_t uv;
} raw_chk_t;

struct raw_s {
  uv_loop_t uv;
  raw_timer_t *timers, *tfree;
  raw_imm_t *imms, *ifree, *ihead, *itail;
  raw_chk_t *chks, *cfree;
  uv_check_t check;
  uv_idle_t idle;
  long live;
};

static void raw_timer_cb(uv_timer_t *h) {
  raw_timer_t *t = container_of(h, raw_timer_t, uv);
  raw_t *r = t->r;
  r->live--;
  t->cb(t->arg);
  t->next_free = r->tfree;
  r->tfree = t;
}

NOINLINE_RAW static void raw_set_timeout(raw_t *r, hl_fn cb, void *arg, uint64_t ms) {
  raw_timer_t *t = r->tfree;
  if (!t)
    die("raw timer pool exhausted", 0);
  r->tfree = t->next_free;
  t->cb = cb;
  t->arg = arg;
  r->live++;
  uv_timer_start(&t->uv, raw_timer_cb, ms, 0);
}

static void raw_idle_cb(uv_idle_t *h) {
  (void)h;
}

/* Node's processImmediate: run the queue as it was when the check phase began
 * (immediates queued by these callbacks wait for the next iteration). */
static void raw_check_cb(uv_check_t *h) {
  raw_t *r = container_of(h, raw_t, check);
  raw_imm_t *im = r->ihead;
  r->ihead = r->itail = NULL;
  while (im) {
    raw_imm_t *next = im->next;
    r->live--;
    im->cb(im->arg);
    im->next = r->ifree;
    r->ifree = im;
    im = next;
  }
  if (!r->ihead) {
    uv_check_stop(&r->check);
    uv_idle_stop(&r->idle);
  }
}

NOINLINE_RAW static void raw_set_immediate(raw_t *r, hl_fn cb, void *arg) {
  raw_imm_t *im = r->ifree;
  if (!im)
    die("raw immediate pool exhausted", 0);
  r->ifree = im->next;
  im->cb = cb;
  im->arg = arg;
  im->next = NULL;
  im->prev = r->itail;
  if (r->itail) {
    r->itail->next = im;
  } else {
    r->ihead = im;
    uv_check_start(&r->check, raw_check_cb);
    uv_idle_start(&r->idle, raw_idle_cb);
  }
  r->itail = im;
  r->live++;
}

static void raw_chk_cb(uv_check_t *h) {
  raw_chk_t *c = container_of(h, raw_chk_t, uv);
  raw_t *r = c->r;
  uv_check_stop(h);
  if (--r->live == 0)
    uv_idle_stop(&r->idle);
  c->cb(c->arg);
  c->next_free = r->cfree;
  r->cfree = c;
}

NOINLINE_RAW static void raw_set_immediate_check(raw_t *r, hl_fn cb, void *arg) {
  raw_chk_t *c = r->cfree;
  if (!c)
    die("raw check pool exhausted", 0);
  r->cfree = c->next_free;
  c->cb = cb;
  c->arg = arg;
  if (r->live++ == 0)
    uv_idle_start(&r->idle, raw_idle_cb); /* the loop must not block in poll */
  uv_check_start(&c->uv, raw_chk_cb);
}

static raw_t *raw_new(int n) {
  raw_t *r = calloc(1, sizeof *r);
  if (!r)
    die("calloc", 0);
  CHECK(uv_loop_init(&r->uv));
  r->timers = calloc((size_t)n, sizeof *r->timers);
  r->imms = calloc((size_t)n, sizeof *r->imms);
  r->chks = calloc((size_t)n, sizeof *r->chks);
  if (!r->timers || !r->imms || !r->chks)
    die("calloc", 0);
  for (int i = n; i-- > 0;) {
    raw_timer_t *t = &r->timers[i];
    uv_timer_init(&r->uv, &t->uv);
    t->r = r;
    t->next_free = r->tfree;
    r->tfree = t;
    r->imms[i].next = r->ifree;
    r->ifree = &r->imms[i];
    raw_chk_t *c = &r->chks[i];
    uv_check_init(&r->uv, &c->uv);
    c->r = r;
    c->next_free = r->cfree;
    r->cfree = c;
  }
  uv_check_init(&r->uv, &r->check);
  uv_idle_init(&r->uv, &r->idle);
  return r;
}

static void raw_free(raw_t *r, int n) {
  for (int i = 0; i < n; i++) {
    uv_close((uv_handle_t *)&r->timers[i].uv, NULL);
    uv_close((uv_handle_t *)&r->chks[i].uv, NULL);
  }
  uv_close((uv_handle_t *)&r->check, NULL);
  uv_close((uv_handle_t *)&r->idle, NULL);
  uv_run(&r->uv, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&r->uv));
  free(r->timers);
  free(r->imms);
  free(r->chks);
  free(r);
}

/* ---- scenarios ---------------------------------------------------------------- */

enum { LC_TIMER, LC_IMMEDIATE, LC_TICK, LC_PROMISE, LC_COUNT };
static const char *const lc_names[LC_COUNT] = {"timer", "immediate", "tick", "promise"};

enum { MD_NOHOOK, MD_HOOK, MD_ALS, MD_COUNT };
static const char *const md_names[MD_COUNT] = {"nohook", "hook", "als"};

typedef struct bench_s {
  int raw; /* raw libuv baseline instead of hookloop: 1 (timer: a uv_timer_t per op;
            * immediate: a FIFO drained by one uv_check), 2 (immediate: a
            * uv_check_t per op) */
  int lc, md;
  hl_loop_t loop;
  hl_hook_t *hook;
  hl_als_t als;
  raw_t *r;
  double samples[MAX_REPS];
} bench_t;

static void empty_init(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                       void *arg) {
  (void)id;
  (void)type;
  (void)trigger;
  (void)res;
  (void)arg;
}
static void empty_id(hl_async_id_t id, void *arg) {
  (void)id;
  (void)arg;
}

static void bench_setup(bench_t *b) {
  if (b->raw) {
    b->r = raw_new(opt.batch);
    return;
  }
  CHECK(hl_loop_init(&b->loop));
  if (b->md == MD_HOOK) {
    hl_hook_callbacks_t cbs = {empty_init, empty_id, empty_id, empty_id, empty_id};
    CHECK(hl_hook_create(&b->loop, &cbs, NULL, &b->hook));
    CHECK(hl_hook_enable(b->hook));
  } else if (b->md == MD_ALS) {
    CHECK(hl_als_init(&b->loop, &b->als, NULL));
  }
}

static void bench_teardown(bench_t *b) {
  if (b->raw) {
    raw_free(b->r, opt.batch);
    return;
  }
  CHECK(hl_loop_close(&b->loop));
}

/* What the batch's callbacks get: the storage to read in als mode. */
static hl_fn cb_for(const bench_t *b) {
  return b->md == MD_ALS ? cb_als : cb_plain;
}
static void *arg_for(bench_t *b) {
  return b->md == MD_ALS ? (void *)&b->als : NULL;
}

static void sched_timer(void *arg) {
  bench_t *b = arg;
  hl_fn cb = cb_for(b);
  void *a = arg_for(b);
  for (int i = 0; i < opt.batch; i++)
    CHECK(hl_set_timeout(&b->loop, cb, a, 1, NULL));
}

static void sched_immediate(void *arg) {
  bench_t *b = arg;
  hl_fn cb = cb_for(b);
  void *a = arg_for(b);
  for (int i = 0; i < opt.batch; i++)
    CHECK(hl_set_immediate(&b->loop, cb, a, NULL));
}

static void sched_tick(void *arg) {
  bench_t *b = arg;
  hl_fn cb = cb_for(b);
  void *a = arg_for(b);
  for (int i = 0; i < opt.batch; i++)
    CHECK(hl_next_tick(&b->loop, cb, a));
}

/* new + then + resolve: two PROMISE resources, one reaction. */
static void sched_promise(void *arg) {
  bench_t *b = arg;
  hl_then_fn cb = b->md == MD_ALS ? then_als : then_plain;
  void *a = arg_for(b);
  for (int i = 0; i < opt.batch; i++) {
    hl_promise_t *p;
    CHECK(hl_promise_new(&b->loop, &p));
    CHECK(hl_promise_then(p, cb, NULL, a, NULL));
    CHECK(hl_promise_resolve(p, NULL, NULL));
  }
}

static void hl_schedule(bench_t *b, hl_fn sched) {
  if (b->md == MD_ALS)
    CHECK(hl_als_run(&b->als, &g_store, sched, b));
  else
    sched(b);
}

static void hl_run_all(bench_t *b) {
  int r = hl_run(&b->loop, HL_RUN_DEFAULT);
  if (r < 0)
    die("hl_run", r);
}

/* One batch; returns the timed nanoseconds. */
static uint64_t bench_batch(bench_t *b) {
  static const hl_fn sched[LC_COUNT] = {sched_timer, sched_immediate, sched_tick, sched_promise};
  uint64_t t0, t1, t2, t3;
  if (b->raw) {
    raw_t *r = b->r;
    if (b->lc == LC_TIMER) {
      t0 = now_ns();
      for (int i = 0; i < opt.batch; i++)
        raw_set_timeout(r, cb_plain, NULL, 1);
      t1 = now_ns();
      spin_until(t1 + 2000000);
      t2 = now_ns();
      uv_run(&r->uv, UV_RUN_DEFAULT);
      t3 = now_ns();
      return (t1 - t0) + (t3 - t2);
    }
    t0 = now_ns();
    if (b->raw == 2)
      for (int i = 0; i < opt.batch; i++)
        raw_set_immediate_check(r, cb_plain, NULL);
    else
      for (int i = 0; i < opt.batch; i++)
        raw_set_immediate(r, cb_plain, NULL);
    uv_run(&r->uv, UV_RUN_DEFAULT);
    t1 = now_ns();
    return t1 - t0;
  }
  if (b->lc == LC_TIMER) {
    t0 = now_ns();
    hl_schedule(b, sched_timer);
    t1 = now_ns();
    spin_until(t1 + 2000000);
    t2 = now_ns();
    hl_run_all(b);
    t3 = now_ns();
    return (t1 - t0) + (t3 - t2);
  }
  t0 = now_ns();
  hl_schedule(b, sched[b->lc]);
  hl_run_all(b);
  t1 = now_ns();
  return t1 - t0;
}

/* A batch plus the untimed checks that every callback ran, and right. */
static uint64_t bench_batch_checked(bench_t *b) {
  uint64_t before = g_calls;
  uint64_t ns = bench_batch(b);
  if (g_calls - before != (uint64_t)opt.batch) {
    fprintf(stderr, "hl-bench-core: %s %s %s: %llu of %d callbacks ran (or saw the store)\n",
            b->raw ? "libuv" : "hookloop", lc_names[b->lc], md_names[b->md],
            (unsigned long long)(g_calls - before), opt.batch);
    exit(2);
  }
  if (b->raw ? b->r->live != 0 : hl_loop_alive_resources(&b->loop) != 0)
    die("resources left after the batch", 0);
  return ns;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *s, int n, double *min_out) {
  double v[MAX_REPS];
  memcpy(v, s, (size_t)n * sizeof *v);
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  *min_out = v[0];
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void report(const char *impl, const char *lifecycle, const char *mode, const double *s,
                   int n, uint64_t ops) {
  double best, med = median(s, n, &best);
  if (opt.json)
    printf("{\"impl\":\"%s\",\"lifecycle\":\"%s\",\"mode\":\"%s\",\"ns_op\":%.3f,"
           "\"median_ns_op\":%.3f,\"ops_s\":%.0f,\"ops\":%llu,\"reps\":%d}\n",
           impl, lifecycle, mode, best, med, 1e9 / best, (unsigned long long)ops, n);
  else
    printf("result impl=%s lifecycle=%s mode=%s ns_op=%.3f median_ns_op=%.3f ops_s=%.0f ops=%llu "
           "reps=%d\n",
           impl, lifecycle, mode, best, med, 1e9 / best, (unsigned long long)ops, n);
  fflush(stdout);
}

static void bench_lifecycle(int lc) {
  bench_t benches[2 + MD_COUNT];
  int n = 0;
  memset(benches, 0, sizeof benches);
  if ((lc == LC_TIMER || lc == LC_IMMEDIATE) && (!opt.mode || !strcmp(opt.mode, "raw"))) {
    benches[n].raw = 1;
    benches[n].lc = lc;
    benches[n++].md = MD_NOHOOK;
    if (lc == LC_IMMEDIATE) {
      benches[n].raw = 2;
      benches[n].lc = lc;
      benches[n++].md = MD_NOHOOK;
    }
  }
  for (int md = 0; md < MD_COUNT; md++) {
    if (opt.mode && strcmp(opt.mode, md_names[md]))
      continue;
    benches[n].lc = lc;
    benches[n++].md = md;
  }
  for (int i = 0; i < n; i++) {
    bench_setup(&benches[i]);
    bench_batch_checked(&benches[i]); /* warm-up: pools, timer heap, caches */
  }
  uint64_t ops = (uint64_t)opt.batch * (uint64_t)opt.batches;
  for (int rep = 0; rep < opt.reps; rep++)
    for (int i = 0; i < n; i++) {
      uint64_t ns = 0;
      for (int k = 0; k < opt.batches; k++)
        ns += bench_batch_checked(&benches[i]);
      benches[i].samples[rep] = (double)ns / (double)ops;
    }
  for (int i = 0; i < n; i++) {
    bench_t *b = &benches[i];
    report(b->raw ? "libuv" : "hookloop", lc_names[lc],
           b->raw == 2 ? "check_per_op" : md_names[b->md], b->samples, opt.reps, ops);
    bench_teardown(b);
  }
}

/* ---- hl_als_get_store ------------------------------------------------------------ */

#if defined(__GNUC__) && !defined(__clang__)
#define NOT_INLINED __attribute__((noipa))
#else
#define NOT_INLINED __attribute__((noinline))
#endif

/* The floor for an out-of-line accessor: a call that loads one field. */
NOT_INLINED static void *floor_get(const hl_als_t *als) {
  return als->default_store;
}

typedef struct {
  hl_als_t *als;
  double lib[MAX_REPS], floor[MAX_REPS];
} getstore_t;

static void getstore_in_run(void *arg) {
  getstore_t *g = arg;
  const hl_als_t *als = g->als;
  uint64_t n = opt.getstore_calls;
  for (int rep = 0; rep < opt.reps; rep++) {
    uintptr_t sink = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
      sink += (uintptr_t)hl_als_get_store(als);
    uint64_t t1 = now_ns();
    for (uint64_t i = 0; i < n; i++)
      sink += (uintptr_t)floor_get(als);
    uint64_t t2 = now_ns();
    g_sink = sink;
    g->lib[rep] = (double)(t1 - t0) / (double)n;
    g->floor[rep] = (double)(t2 - t1) / (double)n;
  }
}

static void bench_getstore(void) {
  hl_loop_t loop;
  hl_als_t als;
  getstore_t g;
  CHECK(hl_loop_init(&loop));
  CHECK(hl_als_init(&loop, &als, NULL));
  g.als = &als;
  CHECK(hl_als_run(&als, &g_store, getstore_in_run, &g));
  if (hl_als_get_store(&als) != NULL)
    die("store leaked out of hl_als_run", 0);
  report("hookloop", "als_get_store", "als", g.lib, opt.reps, opt.getstore_calls);
  report("floor", "als_get_store", "als", g.floor, opt.reps, opt.getstore_calls);
  CHECK(hl_loop_close(&loop));
}

/* ---- main ---------------------------------------------------------------------------- */

static long arg_num(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "hl-bench-core: %s needs a value\n", argv[*i]);
    exit(2);
  }
  char *end;
  long v = strtol(argv[++*i], &end, 10);
  if (*end || v <= 0) {
    fprintf(stderr, "hl-bench-core: bad value for %s\n", argv[*i - 1]);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps"))
      opt.reps = (int)arg_num(argc, argv, &i);
    else if (!strcmp(argv[i], "--batch"))
      opt.batch = (int)arg_num(argc, argv, &i);
    else if (!strcmp(argv[i], "--batches"))
      opt.batches = (int)arg_num(argc, argv, &i);
    else if (!strcmp(argv[i], "--getstore-calls"))
      opt.getstore_calls = (uint64_t)arg_num(argc, argv, &i);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc)
      opt.only = argv[++i];
    else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
      opt.mode = argv[++i];
    else if (!strcmp(argv[i], "--json"))
      opt.json = 1;
    else if (!strcmp(argv[i], "--quick")) {
      opt.reps = 3;
      opt.batch = 10000;
      opt.batches = 1;
      opt.getstore_calls = 1000000;
    } else {
      fprintf(stderr,
              "usage: hl-bench-core [--reps N] [--batch N] [--batches N] [--getstore-calls N]\n"
              "                     [--only timer|immediate|tick|promise|als_get_store]\n"
              "                     [--mode nohook|hook|als|raw] [--json] [--quick]\n");
      return 2;
    }
  }
  if (opt.reps > MAX_REPS)
    opt.reps = MAX_REPS;
  for (int lc = 0; lc < LC_COUNT; lc++)
    if (!opt.only || !strcmp(opt.only, lc_names[lc]))
      bench_lifecycle(lc);
  if (!opt.only || !strcmp(opt.only, "als_get_store"))
    bench_getstore();
  return 0;
}
