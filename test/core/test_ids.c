/* test/core/test_ids.c - async ids and the execution context (context.h).
 *
 * Mirrors Node's async_hooks id rules (test/async-hooks/test-graph.*,
 * test-async-exec-resource, test-internal-nexttick-default-trigger): the top
 * level is execution id 1 with trigger 0 and the loop as resource; ids are
 * unique, increasing and never reused (also when the object memory is); the
 * trigger is the explicit one, else the default trigger scope, else the current
 * execution id; two loops on two threads keep separate ids and hooks.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <pthread.h>
#include <string.h>
#include "record.h"

static hl_log_t LOG;

static void noop(void *arg) {
  (void)arg;
}

/* ---- top level ------------------------------------------------------------------ */

static hl_async_id_t in_cb_exec, in_cb_trigger;
static void *in_cb_resource;
static void ctx_cb(void *arg) {
  (void)arg;
  in_cb_exec = hl_execution_async_id();
  in_cb_trigger = hl_trigger_async_id();
  in_cb_resource = hl_execution_async_resource();
}

Test(ids, top_level_context) {
  cr_assert_eq(hl_execution_async_id(), 0, "no loop on this thread: execution id 0");
  cr_assert_eq(hl_trigger_async_id(), 0);
  cr_assert_null(hl_execution_async_resource(), "no loop: no resource");

  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_execution_async_id(), 1, "top level is execution id 1");
  cr_assert_eq(hl_trigger_async_id(), 0, "top level is triggered by nothing (0)");
  cr_assert_eq(hl_execution_async_resource(), &loop, "top-level resource is the loop");

  hl_timer_t t;
  cr_assert_eq(hl_set_timeout(&loop, ctx_cb, NULL, 1, &t), 0);
  cr_assert_gt(t.id, 1, "resource ids start after the root");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(in_cb_exec, t.id, "inside a callback: the resource's id");
  cr_assert_eq(in_cb_trigger, 1, "created at top level: triggered by the root");
  cr_assert_neq(in_cb_resource, &loop);
  cr_assert_not_null(in_cb_resource);

  cr_assert_eq(hl_execution_async_id(), 1, "back at top level after hl_run");
  cr_assert_eq(hl_trigger_async_id(), 0);
  cr_assert_eq(hl_execution_async_resource(), &loop);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_execution_async_id(), 0, "loop closed: no current loop");
  cr_assert_null(hl_execution_async_resource());
}

/* ---- uniqueness --------------------------------------------------------------------- */

#define CHAIN 200
static hl_loop_t *chain_loop;
static hl_timer_t chain[CHAIN];
static int chain_n;
static void chain_cb(void *arg) {
  (void)arg;
  cr_assert_eq(hl_execution_async_id(), chain[chain_n - 1].id);
  if (chain_n < CHAIN) {
    cr_assert_eq(hl_set_timeout(chain_loop, chain_cb, NULL, 0, &chain[chain_n]), 0);
    chain_n++;
    hl_next_tick(chain_loop, noop, NULL);
    hl_queue_microtask(chain_loop, noop, NULL);
    hl_set_immediate(chain_loop, noop, NULL, NULL);
  }
}

static void check_init_ids_increasing(void) {
  hl_async_id_t last = 1;
  int inits = 0;
  for (int i = 0; i < LOG.n; i++) {
    if (LOG.ev[i].kind != EV_INIT)
      continue;
    inits++;
    cr_assert_gt(LOG.ev[i].id, last, "init %d: id %lld not above previous %lld", i,
                 (long long)LOG.ev[i].id, (long long)last);
    last = LOG.ev[i].id;
  }
  cr_assert_gt(inits, 0);
}

Test(ids, unique_increasing_never_reused) {
  hl_loop_t loop;
  hl_rec_t rec;
  LOG.n = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_rec_create(&loop, &rec, &LOG, 1), 0);
  cr_assert_eq(hl_hook_enable(rec.hook), 0);

  /* Every kind of resource at top level. */
  hl_async_resource_t r;
  hl_timer_t iv;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_set_interval(&loop, noop, NULL, 1000, &iv), 0);
  cr_assert_eq(hl_clear_timer(&iv), 0);
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, NULL), 0);
  cr_assert_eq(hl_next_tick(&loop, noop, NULL), 0);
  cr_assert_eq(hl_queue_microtask(&loop, noop, NULL), 0);

  /* A chain of timeouts, each finished before the next ones are made: the
   * pool hands the same memory out again. */
  chain_loop = &loop;
  chain_n = 1;
  cr_assert_eq(hl_set_timeout(&loop, chain_cb, NULL, 0, &chain[0]), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(chain_n, CHAIN);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);

  check_init_ids_increasing();
  int reused = 0;
  for (int i = 0; i < CHAIN; i++)
    for (int j = 0; j < i; j++) {
      cr_assert_neq(chain[i].id, chain[j].id, "timer ids %d and %d equal", i, j);
      reused += chain[i].impl == chain[j].impl;
    }
  cr_assert_gt(reused, 0, "precondition: timer memory was reused by the pool");
  for (int i = 0; i < CHAIN; i++) {
    const hl_ev_t *e = hl_log_init_of(&LOG, chain[i].id);
    cr_assert_not_null(e, "timer %d has an init", i);
    cr_assert_eq(hl_log_count(&LOG, EV_INIT, chain[i].id), 1, "id %lld inited twice",
                 (long long)chain[i].id);
  }
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(ids, never_reused_without_hooks) {
  /* No hook: pooled objects go straight back to the pool, ids keep rising. */
  hl_loop_t loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hl_timer_t a, b;
  cr_assert_eq(hl_set_timeout(&loop, noop, NULL, 1, &a), 0);
  cr_assert_eq(hl_clear_timer(&a), 0);
  cr_assert_eq(hl_set_timeout(&loop, noop, NULL, 1, &b), 0);
  cr_assert_eq(b.impl, a.impl, "precondition: the slot is reused");
  cr_assert_gt(b.id, a.id, "a reused slot gets a new, higher id");
  hl_immediate_t i1, i2;
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &i1), 0);
  cr_assert_eq(hl_clear_immediate(&i1), 0);
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &i2), 0);
  cr_assert_gt(i2.id, i1.id);
  cr_assert_gt(i1.id, b.id);
  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t r1 = hl_async_resource_async_id(&r);
  cr_assert_gt(r1, i2.id);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_gt(hl_async_resource_async_id(&r), r1);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- trigger rules ------------------------------------------------------------------ */

typedef struct {
  hl_loop_t *loop;
  hl_timer_t t;
  hl_immediate_t im;
  hl_async_resource_t r, explicit_r;
  int from, to; /* the log range of their inits */
} made_t;

static void make_resources(void *arg) {
  made_t *m = arg;
  m->from = LOG.n;
  cr_assert_eq(hl_set_timeout(m->loop, noop, NULL, 1, &m->t), 0);
  cr_assert_eq(hl_set_immediate(m->loop, noop, NULL, &m->im), 0);
  cr_assert_eq(hl_async_resource_init(m->loop, &m->r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_async_resource_init(m->loop, &m->explicit_r, "E", 42, 0), 0);
  cr_assert_eq(hl_next_tick(m->loop, noop, NULL), 0);
  cr_assert_eq(hl_queue_microtask(m->loop, noop, NULL), 0);
  m->to = LOG.n;
}

static void destroy_made(made_t *m) {
  cr_assert_eq(hl_async_resource_emit_destroy(&m->r), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&m->explicit_r), 0);
}

static hl_async_id_t init_trigger(hl_async_id_t id, const char *where) {
  const hl_ev_t *e = hl_log_init_of(&LOG, id);
  cr_assert_not_null(e, "%s: no init for id %lld", where, (long long)id);
  return e->trigger;
}

/* Checks the triggers of what make_resources created. */
static void check_made(const made_t *m, hl_async_id_t want, const char *where) {
  cr_assert_eq(init_trigger(m->t.id, where), want, "%s: Timeout trigger", where);
  cr_assert_eq(init_trigger(m->im.id, where), want, "%s: Immediate trigger", where);
  cr_assert_eq(hl_async_resource_trigger_id(&m->r), want, "%s: default-trigger resource", where);
  cr_assert_eq(init_trigger(hl_async_resource_async_id(&m->r), where), want,
               "%s: resource init trigger", where);
  cr_assert_eq(hl_async_resource_trigger_id(&m->explicit_r), 42,
               "%s: an explicit trigger wins over everything", where);
  cr_assert_eq(init_trigger(hl_async_resource_async_id(&m->explicit_r), where), 42,
               "%s: explicit trigger in init", where);
  int ticks = 0, micro = 0;
  for (int i = m->from; i < m->to; i++) {
    if (LOG.ev[i].kind != EV_INIT)
      continue;
    if (!strcmp(LOG.ev[i].type, "TickObject")) {
      ticks++;
      cr_assert_eq(LOG.ev[i].trigger, want, "%s: TickObject trigger", where);
    } else if (!strcmp(LOG.ev[i].type, "Microtask")) {
      micro++;
      cr_assert_eq(LOG.ev[i].trigger, want, "%s: Microtask trigger", where);
    }
  }
  cr_assert_eq(ticks, 1, "%s: one tick", where);
  cr_assert_eq(micro, 1, "%s: one microtask", where);
}

static made_t in_timer;
static void make_in_timer(void *arg) {
  (void)arg;
  make_resources(&in_timer);
}

static made_t in_scope_in_timer;
static void scope_in_timer(void *arg) {
  (void)arg;
  cr_assert_eq(
      hl_default_trigger_scope(in_scope_in_timer.loop, 99, make_resources, &in_scope_in_timer), 0);
}

static made_t nested_inner;
static void nested_scope(void *arg) {
  made_t *outer = arg;
  cr_assert_eq(hl_default_trigger_scope(outer->loop, 8, make_resources, &nested_inner), 0);
  make_resources(outer); /* back to the outer scope's trigger */
}

Test(ids, trigger_rules) {
  hl_loop_t loop;
  hl_rec_t rec;
  LOG.n = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_rec_create(&loop, &rec, &LOG, 1), 0);
  cr_assert_eq(hl_hook_enable(rec.hook), 0);

  /* No scope at top level: the execution id, 1. */
  made_t top = {.loop = &loop};
  make_resources(&top);
  check_made(&top, 1, "top level");

  /* Default trigger scope at top level. */
  made_t scoped = {.loop = &loop};
  cr_assert_eq(hl_default_trigger_scope(&loop, 7, make_resources, &scoped), 0);
  check_made(&scoped, 7, "default trigger scope");

  /* Nested scopes restore the outer one. */
  made_t outer = {.loop = &loop};
  nested_inner.loop = &loop;
  cr_assert_eq(hl_default_trigger_scope(&loop, 5, nested_scope, &outer), 0);
  check_made(&nested_inner, 8, "inner scope");
  check_made(&outer, 5, "outer scope restored after the inner one");

  /* After the scope: back to the execution id. */
  made_t after = {.loop = &loop};
  make_resources(&after);
  check_made(&after, 1, "after the scope");

  /* Inside a callback: the callback's resource, or the scope inside it. */
  hl_timer_t t1, t2;
  in_timer.loop = &loop;
  in_scope_in_timer.loop = &loop;
  cr_assert_eq(hl_set_timeout(&loop, make_in_timer, NULL, 1, &t1), 0);
  cr_assert_eq(hl_set_timeout(&loop, scope_in_timer, NULL, 1, &t2), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  check_made(&in_timer, t1.id, "inside a timer callback");
  check_made(&in_scope_in_timer, 99, "scope inside a timer callback");

  cr_assert_eq(hl_default_trigger_scope(&loop, -1, noop, NULL), HL_EINVAL);
  cr_assert_eq(hl_default_trigger_scope(&loop, 3, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_default_trigger_scope(NULL, 3, noop, NULL), HL_EINVAL);

  made_t *all[] = {&top, &scoped, &outer, &nested_inner, &after, &in_timer, &in_scope_in_timer};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    destroy_made(all[i]);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- two loops on two threads ---------------------------------------------------------- */

typedef struct {
  const char *type;
  int n_res; /* user resources it creates */
  hl_log_t *log;
  pthread_barrier_t *barrier;
  /* results, checked on the main thread */
  hl_async_id_t id_before_init;
  void *resource_before_init;
  hl_async_id_t exec_top;
  void *res_top;
  hl_loop_t *self;
  hl_async_id_t first_id;
  hl_async_id_t timer_ids[3];
  hl_async_id_t exec_in_timer[3];
  int timers_ran;
  int close_rc, run_rc;
} thr_t;

static _Thread_local thr_t *thr_self;
static void thr_timer(void *arg) {
  int i = (int)(intptr_t)arg;
  thr_self->exec_in_timer[i] = hl_execution_async_id();
  thr_self->timers_ran++;
}

static void *thr_main(void *arg) {
  thr_t *t = arg;
  thr_self = t;
  t->id_before_init = hl_execution_async_id();
  t->resource_before_init = hl_execution_async_resource();
  hl_loop_t loop;
  hl_rec_t rec;
  t->close_rc = -1;
  if (hl_loop_init(&loop) != 0) { /* keep the other thread from waiting forever */
    for (int i = 0; i < 3; i++)
      pthread_barrier_wait(t->barrier);
    return NULL;
  }
  t->self = &loop;
  t->exec_top = hl_execution_async_id();
  t->res_top = hl_execution_async_resource();
  hl_rec_create(&loop, &rec, t->log, 0);
  hl_hook_enable(rec.hook);
  pthread_barrier_wait(t->barrier); /* both loops exist, hooks enabled */
  hl_async_resource_t res[16];
  for (int i = 0; i < t->n_res; i++) {
    hl_async_resource_init(&loop, &res[i], t->type, HL_DEFAULT_TRIGGER, 0);
    if (i == 0)
      t->first_id = hl_async_resource_async_id(&res[0]);
  }
  for (int i = 0; i < 3; i++) {
    hl_timer_t tm;
    hl_set_timeout(&loop, thr_timer, (void *)(intptr_t)i, 1, &tm);
    t->timer_ids[i] = tm.id;
  }
  pthread_barrier_wait(t->barrier); /* both run at the same time */
  t->run_rc = hl_run(&loop, HL_RUN_DEFAULT);
  for (int i = 0; i < t->n_res; i++)
    hl_async_resource_emit_destroy(&res[i]);
  pthread_barrier_wait(t->barrier); /* neither closed before the other ran */
  t->close_rc = hl_loop_close(&loop);
  return NULL;
}

static hl_log_t LOG_A, LOG_B;

static void check_thread(const thr_t *t, const char *mine, const char *other) {
  cr_assert_eq(t->id_before_init, 0, "%s: no loop yet on the new thread", mine);
  cr_assert_null(t->resource_before_init);
  cr_assert_eq(t->exec_top, 1, "%s: top level is 1 on each loop", mine);
  cr_assert_eq(t->res_top, t->self, "%s: top-level resource is this thread's loop", mine);
  cr_assert_eq(t->first_id, 2, "%s: ids start the same way on each loop", mine);
  cr_assert_eq(t->run_rc, 0);
  cr_assert_eq(t->close_rc, 0, "%s: hl_loop_close", mine);
  cr_assert_eq(t->timers_ran, 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(t->timer_ids[i], 2 + t->n_res + i, "%s: timer %d id", mine, i);
    cr_assert_eq(t->exec_in_timer[i], t->timer_ids[i], "%s: execution id in timer %d", mine, i);
  }
  /* This loop's hook saw exactly this loop's resources. */
  cr_assert_eq(hl_log_count_type(t->log, mine), t->n_res, "%s: own resources", mine);
  cr_assert_eq(hl_log_count_type(t->log, other), 0, "%s: saw the other loop's resources", mine);
  cr_assert_eq(hl_log_count_type(t->log, "Timeout"), 3, "%s: own timers only", mine);
  int inits = 0;
  hl_async_id_t want = 2;
  for (int i = 0; i < t->log->n; i++) {
    const hl_ev_t *e = &t->log->ev[i];
    if (e->kind != EV_INIT)
      continue;
    inits++;
    cr_assert_eq(e->id, want, "%s: init ids are consecutive on one loop", mine);
    cr_assert_eq(e->trigger, 1, "%s: triggered by this loop's root", mine);
    want++;
  }
  cr_assert_eq(inits, t->n_res + 3, "%s: init count", mine);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(hl_log_count(t->log, EV_BEFORE, t->timer_ids[i]), 1);
    cr_assert_eq(hl_log_count(t->log, EV_DESTROY, t->timer_ids[i]), 1);
  }
}

Test(ids, two_loops_on_two_threads) {
  pthread_barrier_t barrier;
  cr_assert_eq(pthread_barrier_init(&barrier, NULL, 2), 0);
  LOG_A.n = LOG_B.n = 0;
  thr_t a = {.type = "loopA", .n_res = 5, .log = &LOG_A, .barrier = &barrier};
  thr_t b = {.type = "loopB", .n_res = 9, .log = &LOG_B, .barrier = &barrier};
  pthread_t ta, tb;
  cr_assert_eq(pthread_create(&ta, NULL, thr_main, &a), 0);
  cr_assert_eq(pthread_create(&tb, NULL, thr_main, &b), 0);
  cr_assert_eq(pthread_join(ta, NULL), 0);
  cr_assert_eq(pthread_join(tb, NULL), 0);
  pthread_barrier_destroy(&barrier);
  check_thread(&a, "loopA", "loopB");
  check_thread(&b, "loopB", "loopA");
  cr_assert_eq(hl_execution_async_id(), 0, "the main thread has no loop");
}

/* ---- two loops on one thread: a callback sees the loop running it ---------------------- */

/* loop.h: the current loop is "the one running a callback, else the last loop
 * initialized or run"; context.h: the execution id is that of the resource whose
 * callback is running. */
static hl_loop_t one_a, one_b;
static hl_timer_t one_t;
static hl_async_id_t one_exec;
static hl_loop_t *one_current;
static void one_cb(void *arg) {
  (void)arg;
  one_exec = hl_execution_async_id();
  one_current = hl_loop_current();
}

Test(ids, joined_loop_callback_sees_its_own_loop) {
  uv_loop_t uv;
  cr_assert_eq(uv_loop_init(&uv), 0);
  cr_assert_eq(hl_loop_init_uv(&one_a, &uv), 0);
  cr_assert_eq(hl_loop_init(&one_b), 0); /* the last loop initialized: B */
  cr_assert_eq(hl_set_timeout(&one_a, one_cb, NULL, 1, &one_t), 0);
  /* The application drives A's uv loop itself. */
  cr_assert_eq(uv_run(&uv, UV_RUN_DEFAULT), 0);
  /* Close first so a failure below leaves nothing behind. */
  cr_assert_eq(hl_loop_close(&one_a), 0);
  cr_assert_eq(hl_loop_close(&one_b), 0);
  cr_assert_eq(uv_loop_close(&uv), 0);
  cr_assert_eq(one_exec, one_t.id, "execution id inside A's timer is the timer's (got %lld)",
               (long long)one_exec);
  cr_assert_eq(one_current, &one_a, "hl_loop_current() inside A's callback is A");
}

static void run_b_inside_a(void *arg) {
  (void)arg;
  hl_run(&one_b, HL_RUN_NOWAIT); /* another loop's run: allowed from A's callback */
  one_exec = hl_execution_async_id();
  one_current = hl_loop_current();
}

Test(ids, running_another_loop_inside_a_callback_restores_context) {
  cr_assert_eq(hl_loop_init(&one_a), 0);
  cr_assert_eq(hl_loop_init(&one_b), 0);
  cr_assert_eq(hl_set_timeout(&one_a, run_b_inside_a, NULL, 1, &one_t), 0);
  cr_assert_eq(hl_run(&one_a, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&one_a), 0);
  cr_assert_eq(hl_loop_close(&one_b), 0);
  cr_assert_eq(one_exec, one_t.id, "execution id back to A's timer (got %lld)",
               (long long)one_exec);
  cr_assert_eq(one_current, &one_a, "back in A's callback after running B");
}
