/* test/core/test_oom.c - out-of-memory torture, as curl's torture tests and
 * SQLite's fault injection: a counting allocator (hl_replace_allocator) fails
 * the n-th allocation hookloop makes (or every one from the n-th on), for
 * every n a scenario reaches. Every public call must succeed or return
 * HL_ENOMEM, nothing may crash or exit, every init must get its destroy,
 * every value handed to a promise must be destroyed exactly once, and after
 * the loop is closed no allocation may be left (no leak).
 *
 * libuv's own allocations do not go through hookloop's allocator (documented
 * in error.h), so only hookloop's are counted and failed. Each failing run
 * happens in a child process so that a crash or a fatal exit names the
 * allocation that caused it.
 *
 * No Node test to mirror: Node aborts on OOM. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "child.h"

/* ---- the counting allocator --------------------------------------------------- */

static struct {
  long live;     /* allocations not yet freed */
  long attempts; /* allocation calls since the scenario began */
  long fail_at;  /* 0: never fail */
  int persistent;
  long injected;
} g_a;

static int fail_now(void) {
  g_a.attempts++;
  if (g_a.fail_at > 0 &&
      (g_a.attempts == g_a.fail_at || (g_a.persistent && g_a.attempts > g_a.fail_at))) {
    g_a.injected++;
    return 1;
  }
  return 0;
}

static void *c_malloc(size_t n) {
  if (fail_now())
    return NULL;
  void *p = malloc(n);
  if (p)
    g_a.live++;
  return p;
}

static void *c_calloc(size_t c, size_t n) {
  if (fail_now())
    return NULL;
  void *p = calloc(c, n);
  if (p)
    g_a.live++;
  return p;
}

static void *c_realloc(void *old, size_t n) {
  if (fail_now())
    return NULL;
  void *p = realloc(old, n);
  if (p && !old)
    g_a.live++;
  return p;
}

static void c_free(void *p) {
  if (p)
    g_a.live--;
  free(p);
}

static void use_counting_allocator(long fail_at, int persistent) {
  g_a.attempts = 0;
  g_a.injected = 0;
  g_a.fail_at = fail_at;
  g_a.persistent = persistent;
  cr_assert_eq(hl_replace_allocator(c_malloc, c_realloc, c_calloc, c_free), 0);
}

static void use_libc_allocator(void) {
  cr_assert_eq(hl_replace_allocator(malloc, realloc, calloc, free), 0);
}

/* ---- scenario state ------------------------------------------------------------ */

enum {
  RAN_TIMER = 1 << 0,
  RAN_IMM = 1 << 1,
  RAN_TICK = 1 << 2,
  RAN_TICK2 = 1 << 3,
  RAN_MICRO = 1 << 4,
  RAN_THEN = 1 << 5,
  RAN_ALL = 1 << 6,
  RAN_CAUGHT = 1 << 7,
  RAN_FINALLY = 1 << 8,
  RAN_ANY = 1 << 9,
  RAN_SETTLED = 1 << 10,
  RAN_RES = 1 << 11,
  RAN_EXIT = 1 << 12,
  RAN_SNAP = 1 << 13,
  RAN_IMM_C = 1 << 14,
  RAN_LATE_THEN = 1 << 15,
  RAN_ADOPT = 1 << 16,
  RAN_KEPT = 1 << 17,
  RAN_ALL_BITS = (1 << 18) - 1
};

typedef struct sc_s {
  hl_loop_t loop;
  hl_als_t als;
  hl_async_resource_t res;
  int bad;
  char why[512];
  int enomem;
  unsigned ran;
  int inits, destroys, befores, afters;
  int dtor_expected, dtor_called;
  hl_promise_t *p1, *p2, *kept;
  int p2_may_settle;
  int depth_reached;
  hl_hook_t *h2;
  int h2_enable_tried, h2_befores;
  int many_ok, many_then_ok, many_all;
} sc_t;

static sc_t *S;
static char STORE_A[] = "A", STORE_B[] = "B", STORE_C[] = "C";
static int VALS[8];

static void sc_fail(int line, const char *fmt, ...) {
  if (S->bad++)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(S->why, sizeof S->why, "line %d: ", line);
  vsnprintf(S->why + n, sizeof S->why - (size_t)n, fmt, ap);
  va_end(ap);
}

/* A public call: 0 or HL_ENOMEM, anything else is a failure. */
static int sc_call(int r, const char *what, int line) {
  if (r == HL_ENOMEM)
    S->enomem++;
  else if (r != 0)
    sc_fail(line, "%s returned %d (%s)", what, r, hl_err_name(r));
  return r;
}
#define CALL(expr)   sc_call((expr), #expr, __LINE__)
#define EXPECT(cond) ((cond) ? (void)0 : sc_fail(__LINE__, "expected %s", #cond))

static void val_dtor(void *v) {
  if (v < (void *)VALS || v >= (void *)(VALS + 8))
    sc_fail(__LINE__, "destructor called with a foreign pointer");
  S->dtor_called++;
}

/* Hand a value to a promise: on success the promise owns it. */
static void give(int r, const char *what, int line) {
  if (sc_call(r, what, line) == 0)
    S->dtor_expected++;
}
#define RESOLVE(p, i) give(hl_promise_resolve((p), &VALS[i], val_dtor), "resolve", __LINE__)

/* The first init enables a second hook and the first destroy destroys it:
 * both inside a dispatch, where the hook array is copied on write. */
static void h_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res, void *arg) {
  (void)id;
  (void)type;
  (void)trig;
  (void)res;
  ((sc_t *)arg)->inits++;
  if (S->h2 && !S->h2_enable_tried) {
    S->h2_enable_tried = 1;
    CALL(hl_hook_enable(S->h2));
  }
}
static void h2_before(hl_async_id_t id, void *arg) {
  (void)id;
  ((sc_t *)arg)->h2_befores++;
}
static void h_before(hl_async_id_t id, void *arg) {
  (void)id;
  ((sc_t *)arg)->befores++;
}
static void h_after(hl_async_id_t id, void *arg) {
  (void)id;
  ((sc_t *)arg)->afters++;
}
static void h_destroy(hl_async_id_t id, void *arg) {
  (void)id;
  ((sc_t *)arg)->destroys++;
  if (S->h2) {
    hl_hook_destroy(S->h2);
    S->h2 = NULL;
  }
}
static void on_exit_listener(int code, void *arg) {
  (void)code;
  (void)arg;
  sc_fail(__LINE__, "exit listener ran: the process is exiting");
}

#define STORE_IS(x) EXPECT(hl_als_get_store(&S->als) == (x))

/* ---- the scenario's callbacks ------------------------------------------------------ */

static void on_tick2(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_TICK2;
}
static void on_tick(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_TICK;
  CALL(hl_next_tick(&S->loop, on_tick2, NULL));
}
static void on_micro(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_MICRO;
}
static void on_imm_c(void *arg) {
  (void)arg;
  STORE_IS(STORE_C);
  S->ran |= RAN_IMM_C;
}
static void in_exit(void *arg) {
  (void)arg;
  STORE_IS(NULL);
  S->ran |= RAN_EXIT;
}
static void on_imm(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_IMM;
  CALL(hl_als_exit(&S->als, in_exit, NULL));
  CALL(hl_queue_microtask(&S->loop, on_micro, NULL));
}
static void on_then(hl_promise_t *next, void *value, void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  EXPECT(value == &VALS[1]);
  S->ran |= RAN_THEN;
  give(hl_promise_resolve(next, &VALS[4], val_dtor), "resolve next", __LINE__);
}
static void on_finally(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_FINALLY;
}
static void on_all(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  const hl_promise_values_t *v = value;
  EXPECT(v->n == 2 && v->values[0] == &VALS[1] && v->values[1] == &VALS[2]);
  S->ran |= RAN_ALL;
}
/* A combinator that cannot allocate its result rejects it with ENOMEM. */
static void on_enomem_rejection(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  const hl_error_t *e = value;
  EXPECT(e && e->code == HL_ENOMEM);
}
static void raising(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  hl_raise(&S->loop, HL_ERAISED, "boom %d", 1);
}
static void on_caught(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  const hl_error_t *e = value;
  /* the raised error, or the out-of-memory error when it could not be made */
  EXPECT(e && ((e->code == HL_ERAISED && !strcmp(e->message, "boom 1")) || e->code == HL_ENOMEM));
  S->ran |= RAN_CAUGHT;
}
static void on_any_rejected(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  const hl_error_t *e = value;
  if (e && e->code == HL_EAGGREGATE) {
    const hl_promise_values_t *v = e->detail;
    EXPECT(v && v->n == 2 && hl_promise_error(next) == NULL);
    S->ran |= RAN_ANY;
  } else {
    EXPECT(e && e->code == HL_ENOMEM);
  }
}
static void on_settled(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  const hl_promise_settled_t *v = value;
  EXPECT(v->n == 1 && v->outcomes[0].state == HL_PROMISE_FULFILLED &&
         v->outcomes[0].value == &VALS[3]);
  S->ran |= RAN_SETTLED;
}
static void on_adopted(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  EXPECT(value == &VALS[1]);
  S->ran |= RAN_ADOPT;
}
static void on_late_then(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  (void)arg;
  STORE_IS(STORE_C);
  S->ran |= RAN_LATE_THEN;
}
static void on_kept(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  EXPECT(value == &VALS[5]);
  S->ran |= RAN_KEPT;
}
static void res_fn(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_RES;
  CALL(hl_queue_microtask(&S->loop, on_micro, NULL));
}
static void in_snapshot(void *arg) {
  (void)arg;
  STORE_IS(STORE_A);
  S->ran |= RAN_SNAP;
}

static void on_timer(void *arg) {
  (void)arg;
  hl_loop_t *l = &S->loop;
  STORE_IS(STORE_A);
  S->ran |= RAN_TIMER;
  if (S->p2 && S->p2_may_settle)
    RESOLVE(S->p2, 2);
  CALL(hl_async_resource_run(&S->res, res_fn, NULL));
  EXPECT(hl_async_resource_emit_destroy(&S->res) == 0);
  if (S->kept) {
    CALL(hl_promise_then(S->kept, on_kept, NULL, NULL, NULL));
    hl_promise_release(S->kept);
  }
  if (CALL(hl_als_enter_with(&S->als, STORE_C)) == 0) {
    hl_promise_t *q;
    CALL(hl_set_immediate(l, on_imm_c, NULL, NULL));
    if (CALL(hl_promise_new(l, &q)) == 0) {
      CALL(hl_promise_then(q, on_late_then, NULL, NULL, NULL));
      RESOLVE(q, 6);
    }
  }
}

/* Scheduled under store A. */
static void setup(void *arg) {
  (void)arg;
  hl_loop_t *l = &S->loop;
  STORE_IS(STORE_A);
  EXPECT(hl_async_resource_init(l, &S->res, "SCENARIO", HL_DEFAULT_TRIGGER, 0) == 0);
  CALL(hl_set_timeout(l, on_timer, NULL, 1, NULL));
  CALL(hl_set_immediate(l, on_imm, NULL, NULL));
  CALL(hl_next_tick(l, on_tick, NULL));
  CALL(hl_queue_microtask(l, on_micro, NULL));

  /* then + finally + all + race + adoption over p1 (now) and p2 (timer) */
  hl_promise_t *p1 = NULL, *p2 = NULL, *t1, *all, *race, *adopt;
  if (CALL(hl_promise_new(l, &p1)) == 0 && CALL(hl_promise_then(p1, on_then, NULL, NULL, &t1)) == 0)
    CALL(hl_promise_finally(t1, on_finally, NULL, NULL));
  if (CALL(hl_promise_new(l, &p2)) == 0) {
    S->p2 = p2;
    S->p2_may_settle = 1;
    if (p1) {
      hl_promise_t *in[2] = {p1, p2};
      if (CALL(hl_promise_all(l, in, 2, &all)) == 0)
        S->p2_may_settle = CALL(hl_promise_then(all, on_all, on_enomem_rejection, NULL, NULL)) == 0;
      CALL(hl_promise_race(l, in, 2, &race));
    }
  }
  if (p1 && CALL(hl_promise_new(l, &adopt)) == 0 &&
      CALL(hl_promise_resolve_promise(adopt, p1)) == 0)
    CALL(hl_promise_then(adopt, on_adopted, NULL, NULL, NULL));
  if (p1)
    RESOLVE(p1, 1);

  /* a raise in a reaction rejects the chained promise, which is caught */
  hl_promise_t *pr, *tr;
  if (CALL(hl_promise_new(l, &pr)) == 0 &&
      CALL(hl_promise_then(pr, raising, NULL, NULL, &tr)) == 0 &&
      CALL(hl_promise_catch(tr, on_caught, NULL, NULL)) == 0)
    RESOLVE(pr, 0);

  /* any over two rejections; all_settled over one value */
  hl_promise_t *q[2], *any, *p3, *settled;
  if (CALL(hl_promise_new(l, &q[0])) == 0 && CALL(hl_promise_new(l, &q[1])) == 0 &&
      CALL(hl_promise_any(l, q, 2, &any)) == 0 &&
      CALL(hl_promise_catch(any, on_any_rejected, NULL, NULL)) == 0) {
    CALL(hl_promise_reject_error(q[0], HL_ECANCELED, "no %d", 0));
    CALL(hl_promise_reject_error(q[1], HL_ECANCELED, "no %d", 1));
  }
  if (CALL(hl_promise_new(l, &p3)) == 0 && CALL(hl_promise_all_settled(l, &p3, 1, &settled)) == 0 &&
      CALL(hl_promise_then(settled, on_settled, on_enomem_rejection, NULL, NULL)) == 0)
    RESOLVE(p3, 3);

  /* a settled promise kept for the timer */
  if (CALL(hl_promise_new(l, &S->kept)) == 0) {
    RESOLVE(S->kept, 5);
    EXPECT(hl_promise_retain(S->kept) == 0);
  } else {
    S->kept = NULL;
  }
  CALL(hl_async_resource_run(&S->res, res_fn, NULL));
}

static void scenario(void) {
  hl_loop_t *l = &S->loop;
  if (CALL(hl_loop_init(l)) != 0) {
    EXPECT(l->impl == NULL);
    return;
  }
  hl_hook_callbacks_t cb = {h_init, h_before, h_after, h_destroy, NULL};
  hl_hook_t *h;
  if (CALL(hl_hook_create(l, &cb, S, &h)) == 0)
    CALL(hl_hook_enable(h));
  hl_hook_callbacks_t cb2 = {NULL, h2_before, NULL, NULL, NULL};
  if (CALL(hl_hook_create(l, &cb2, S, &S->h2)) != 0)
    S->h2 = NULL;
  CALL(hl_process_on_exit(l, on_exit_listener, NULL));
  CALL(hl_process_on_exit(l, on_exit_listener, S));
  int off = hl_process_off_exit(l, on_exit_listener, NULL);
  EXPECT(off == 0 || off == HL_ENOENT); /* ENOENT: its on_exit failed */
  hl_error_t *e = hl_error_new(HL_ECANCELED, "made %s", "here");
  EXPECT(e == NULL || (e->code == HL_ECANCELED && !strcmp(e->message, "made here")));
  hl_error_free(e);
  EXPECT(hl_als_init(l, &S->als, NULL) == 0);
  CALL(hl_als_run(&S->als, STORE_A, setup, NULL));
  STORE_IS(NULL);
  /* a snapshot taken under A, run under B */
  hl_als_snapshot_t snap;
  if (CALL(hl_als_enter_with(&S->als, STORE_A)) == 0) {
    EXPECT(hl_als_snapshot(l, &snap) == 0);
    if (CALL(hl_als_enter_with(&S->als, STORE_B)) == 0)
      CALL(hl_als_snapshot_run(&snap, in_snapshot, NULL));
    hl_als_snapshot_close(&snap);
  }
  EXPECT(hl_run(l, HL_RUN_DEFAULT) == 0);
  int r = hl_loop_close(l);
  EXPECT(r == 0);
  if (r != 0) /* nothing more can be checked, and freeing would be wrong */
    return;
  EXPECT(S->inits == S->destroys);
  EXPECT(S->befores == S->afters);
  if (S->dtor_called != S->dtor_expected)
    sc_fail(__LINE__, "%d values handed over, %d destroyed", S->dtor_expected, S->dtor_called);
}

/* ---- many resources: pools grow past their first slab, the destroy queue grows -- */

#define MANY 300
static void many_cb(void *arg) {
  (void)arg;
  if (hl_als_get_store(&S->als) == STORE_A)
    S->many_ok++;
  else
    sc_fail(__LINE__, "wrong store");
}
static void many_then(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  EXPECT(value == &VALS[7]);
  many_cb(NULL);
  S->many_then_ok++;
}
static void many_all(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  const hl_promise_values_t *v = value;
  S->many_all = (int)v->n;
}
static void many_setup(void *arg) {
  (void)arg;
  hl_loop_t *l = &S->loop;
  static hl_promise_t *ps[MANY];
  int n = 0;
  for (int i = 0; i < MANY; i++) {
    CALL(hl_next_tick(l, many_cb, NULL));
    CALL(hl_queue_microtask(l, many_cb, NULL));
    if (i % 3 == 0) {
      CALL(hl_set_timeout(l, many_cb, NULL, 1 + (uint64_t)(i % 4), NULL));
      CALL(hl_set_immediate(l, many_cb, NULL, NULL));
    }
    hl_promise_t *p;
    if (CALL(hl_promise_new(l, &p)) == 0) {
      CALL(hl_promise_then(p, many_then, NULL, NULL, NULL));
      ps[n++] = p;
    }
  }
  hl_promise_t *all;
  int handled = 1;
  if (CALL(hl_promise_all(l, ps, (size_t)n, &all)) == 0)
    handled = CALL(hl_promise_then(all, many_all, on_enomem_rejection, NULL, NULL)) == 0;
  /* Value 7 is shared by no one: give each promise no destructor, count once. */
  for (int i = 0; i < n && handled; i++)
    EXPECT(hl_promise_resolve(ps[i], &VALS[7], NULL) == 0);
}

static void many_scenario(void) {
  hl_loop_t *l = &S->loop;
  if (CALL(hl_loop_init(l)) != 0)
    return;
  hl_hook_callbacks_t cb = {h_init, h_before, h_after, h_destroy, NULL};
  hl_hook_t *h;
  if (CALL(hl_hook_create(l, &cb, S, &h)) == 0)
    CALL(hl_hook_enable(h));
  EXPECT(hl_als_init(l, &S->als, NULL) == 0);
  CALL(hl_als_run(&S->als, STORE_A, many_setup, NULL));
  EXPECT(hl_run(l, HL_RUN_DEFAULT) == 0);
  EXPECT(hl_loop_close(l) == 0);
  EXPECT(S->inits == S->destroys);
  EXPECT(S->befores == S->afters);
}

/* ---- deep nesting: the execution-context stack must grow -------------------------- */

#define DEEP 40
static void nest(void *arg) {
  int d = (int)(intptr_t)arg;
  if (d > S->depth_reached)
    S->depth_reached = d;
  if (d < DEEP)
    CALL(hl_async_resource_run(&S->res, nest, (void *)(intptr_t)(d + 1)));
}
static void deep_timer(void *arg) {
  (void)arg;
  hl_async_id_t timer_id = hl_execution_async_id();
  nest((void *)(intptr_t)1);
  /* the embedder API, too */
  int entered = 0;
  for (; entered < DEEP; entered++)
    if (CALL(hl_async_resource_enter(&S->res)) != 0)
      break;
  EXPECT(hl_execution_async_id() == (entered ? hl_async_resource_async_id(&S->res) : timer_id));
  while (entered-- > 0)
    EXPECT(hl_async_resource_leave(&S->res) == 0);
  EXPECT(hl_async_resource_emit_destroy(&S->res) == 0);
}

static void deep_scenario(void) {
  hl_loop_t *l = &S->loop;
  if (CALL(hl_loop_init(l)) != 0)
    return;
  EXPECT(hl_async_resource_init(l, &S->res, "DEEP", HL_DEFAULT_TRIGGER, 0) == 0);
  if (CALL(hl_set_timeout(l, deep_timer, NULL, 1, NULL)) != 0)
    EXPECT(hl_async_resource_emit_destroy(&S->res) == 0);
  EXPECT(hl_run(l, HL_RUN_DEFAULT) == 0);
  EXPECT(hl_loop_close(l) == 0);
}

/* ---- the driver -------------------------------------------------------------------- */

typedef struct run_s {
  void (*fn)(void);
  long fail_at;
  int persistent;
  sc_t sc;
  long attempts, injected, leaked;
} run_t;

static void run_once(run_t *run) {
  memset(&run->sc, 0, sizeof run->sc);
  S = &run->sc;
  long before = g_a.live;
  use_counting_allocator(run->fail_at, run->persistent);
  run->fn();
  use_libc_allocator();
  run->attempts = g_a.attempts;
  run->injected = g_a.injected;
  run->leaked = g_a.live - before;
}

/* In the child: run with the failure, report what went wrong on stderr. */
static void child_run(void *arg) {
  run_t *run = arg;
  run_once(run);
  if (run->injected == 0)
    fprintf(stderr, "allocation %ld was never made (%ld made)\n", run->fail_at, run->attempts);
  if (run->sc.bad)
    fprintf(stderr, "%s\n", run->sc.why);
  if (run->leaked)
    fprintf(stderr, "%ld allocation(s) leaked\n", run->leaked);
  fflush(stderr);
  if (run->injected == 0 || run->sc.bad || run->leaked)
    exit(2);
}

/* Run clean, then with each allocation failing; returns the clean count. */
static long torture(void (*fn)(void), int persistent, sc_t *clean) {
  run_t run = {.fn = fn};
  run_once(&run);
  cr_assert_eq(run.sc.bad, 0, "clean run: %s", run.sc.why);
  cr_assert_eq(run.leaked, 0, "clean run leaked %ld allocation(s)", run.leaked);
  cr_assert_eq(run.sc.enomem, 0);
  cr_assert_gt(run.attempts, 0, "the counting allocator saw nothing");
  *clean = run.sc;
  long total = run.attempts;
  cr_log_info("%ld allocations in the clean run", total);
  int failures = 0;
  static hl_child_result_t r;
  for (long n = 1; n <= total; n++) {
    run.fail_at = n;
    run.persistent = persistent;
    hl_child_run(child_run, &run, &r);
    if (!r.exited || r.code != 0) {
      failures++;
      cr_log_error("allocation %ld of %ld failing%s: %s %d; stderr: %.400s", n, total,
                   persistent ? " (and all after)" : "",
                   r.exited ? "exit code" : "killed by signal", r.exited ? r.code : r.signal,
                   r.err);
    }
  }
  cr_assert_eq(failures, 0, "%d of %ld failure points misbehaved (see the log)", failures, total);
  return total;
}

Test(oom, scenario_runs_clean_through_the_counting_allocator) {
  run_t run = {.fn = scenario};
  run_once(&run);
  cr_assert_eq(run.sc.bad, 0, "%s", run.sc.why);
  cr_assert_eq(run.sc.enomem, 0);
  cr_assert_eq(run.sc.ran, (unsigned)RAN_ALL_BITS, "ran %#x, expected %#x", run.sc.ran,
               (unsigned)RAN_ALL_BITS);
  cr_assert_gt(run.sc.inits, 20);
  cr_assert_gt(run.sc.h2_befores, 0, "the hook enabled inside init saw events");
  cr_assert_eq(run.sc.inits, run.sc.destroys);
  cr_assert_eq(run.sc.dtor_expected, 8 - 1, "every value but VALS[7] was handed over");
  cr_assert_eq(run.sc.dtor_called, run.sc.dtor_expected);
  cr_assert_gt(run.attempts, 5);
  cr_assert_eq(run.leaked, 0);
  cr_assert_eq(g_a.live, 0, "everything hookloop allocated was freed");
  /* the same scenario gives the same allocation sequence every time */
  long first = run.attempts;
  run_once(&run);
  cr_assert_eq(run.attempts, first);
}

Test(oom, each_allocation_failing_once) {
  sc_t clean;
  torture(scenario, 0, &clean);
}

Test(oom, every_allocation_failing_from_the_nth_on) {
  sc_t clean;
  torture(scenario, 1, &clean);
}

Test(oom, deep_nesting_grows_the_context_stack_or_reports_enomem) {
  sc_t clean;
  torture(deep_scenario, 0, &clean);
  cr_assert_eq(clean.depth_reached, DEEP);
  torture(deep_scenario, 1, &clean);
}

Test(oom, many_resources) {
  sc_t clean;
  torture(many_scenario, 0, &clean);
  cr_assert_eq(clean.many_then_ok, MANY);
  cr_assert_eq(clean.many_all, MANY);
  cr_assert_eq(clean.many_ok, MANY * 2 + (MANY / 3) * 2 + MANY);
  cr_assert_gt(clean.inits, MANY * 3);
  torture(many_scenario, 1, &clean);
}

Test(oom, loop_init_reports_enomem_and_frees_what_it_took) {
  for (long n = 1; n <= 2; n++) {
    hl_loop_t l;
    long before = g_a.live;
    use_counting_allocator(n, 0);
    int r = hl_loop_init(&l);
    use_libc_allocator();
    cr_assert_eq(g_a.injected, 1);
    cr_assert_eq(r, HL_ENOMEM, "allocation %ld failing: %d", n, r);
    cr_assert_null(l.impl);
    cr_assert_eq(g_a.live, before, "nothing left behind");
    cr_assert_null(hl_loop_current());
  }
}
