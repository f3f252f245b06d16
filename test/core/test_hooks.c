/* test/core/test_hooks.c - async hooks semantics (include/hookloop/hooks.h).
 *
 * Mirrors Node's test/async-hooks: init runs synchronously inside construction;
 * before/after nest LIFO; handles see 0..N before/after pairs, requests one;
 * hooks run in enable order and enabling twice is a no-op; test-enable-disable.js
 * (exact per-hook invocation counts per immediate), test-enable-in-init.js and
 * test-disable-in-init.js (changes made inside a hook callback take effect when
 * the outermost hook dispatch returns); destroy is deferred and batched, and a
 * reused user resource gets its queued destroy before its new init; a hook never
 * enabled sees nothing; hl_hook_destroy inside a hook callback is safe.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdlib.h>
#include <string.h>
#include "record.h"

/* ---- a recording hook with optional actions (init-hooks.js with onX) ------- */

typedef struct hk_s hk_t;
typedef void (*hk_action)(hk_t *h, hl_async_id_t id);
struct hk_s {
  hl_hook_t *hook;
  int tag;
  hl_log_t *log;
  hk_action on_init, on_before, on_after, on_destroy;
};

static hl_log_t LOG;

static hl_ev_t *hk_push(hk_t *h, hl_ev_kind_t k, hl_async_id_t id) {
  hl_log_t *log = h->log;
  cr_assert_lt(log->n, (int)(sizeof log->ev / sizeof log->ev[0]), "event log overflow");
  hl_ev_t *e = &log->ev[log->n++];
  memset(e, 0, sizeof *e);
  e->kind = k;
  e->id = id;
  e->tag = h->tag;
  return e;
}

static void hk_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res, void *arg) {
  hk_t *h = arg;
  hl_ev_t *e = hk_push(h, EV_INIT, id);
  e->trigger = trig;
  e->resource = res;
  strncpy(e->type, type, sizeof e->type - 1);
  if (h->on_init)
    h->on_init(h, id);
}
static void hk_before(hl_async_id_t id, void *arg) {
  hk_t *h = arg;
  hk_push(h, EV_BEFORE, id);
  if (h->on_before)
    h->on_before(h, id);
}
static void hk_after(hl_async_id_t id, void *arg) {
  hk_t *h = arg;
  hk_push(h, EV_AFTER, id);
  if (h->on_after)
    h->on_after(h, id);
}
static void hk_destroy(hl_async_id_t id, void *arg) {
  hk_t *h = arg;
  hk_push(h, EV_DESTROY, id);
  if (h->on_destroy)
    h->on_destroy(h, id);
}

static void hk_create(hl_loop_t *loop, hk_t *h, int tag) {
  memset(h, 0, sizeof *h);
  h->tag = tag;
  h->log = &LOG;
  hl_hook_callbacks_t cb = {hk_init, hk_before, hk_after, hk_destroy, NULL};
  cr_assert_eq(hl_hook_create(loop, &cb, h, &h->hook), 0, "hl_hook_create");
}

static int cnt(int tag, hl_ev_kind_t kind, hl_async_id_t id) {
  int c = 0;
  for (int i = 0; i < LOG.n; i++)
    if (LOG.ev[i].kind == kind && LOG.ev[i].id == id && (tag < 0 || LOG.ev[i].tag == tag))
      c++;
  return c;
}

static int cnt_tag(int tag) {
  int c = 0;
  for (int i = 0; i < LOG.n; i++)
    if (LOG.ev[i].tag == tag)
      c++;
  return c;
}

/* Exact invocation counts of one hook for one resource (checkInvocations). */
static void check_inv(int tag, hl_async_id_t id, int init, int before, int after, int destroy,
                      const char *stage) {
  cr_assert_eq(cnt(tag, EV_INIT, id), init, "hook%d id %lld init at %s", tag, (long long)id, stage);
  cr_assert_eq(cnt(tag, EV_BEFORE, id), before, "hook%d id %lld before at %s", tag, (long long)id,
               stage);
  cr_assert_eq(cnt(tag, EV_AFTER, id), after, "hook%d id %lld after at %s", tag, (long long)id,
               stage);
  cr_assert_eq(cnt(tag, EV_DESTROY, id), destroy, "hook%d id %lld destroy at %s", tag,
               (long long)id, stage);
}

/* before/after of `tag` (or all tags with -1) form a properly nested sequence. */
static void assert_lifo(int tag) {
  static hl_async_id_t stack[4096];
  int sp = 0;
  for (int i = 0; i < LOG.n; i++) {
    const hl_ev_t *e = &LOG.ev[i];
    if (tag >= 0 && e->tag != tag)
      continue;
    if (e->kind == EV_BEFORE) {
      cr_assert_lt(sp, 4096);
      stack[sp++] = e->id;
    } else if (e->kind == EV_AFTER) {
      cr_assert_gt(sp, 0, "after %lld (event %d) without a before", (long long)e->id, i);
      cr_assert_eq(stack[sp - 1], e->id, "after %lld (event %d) but innermost before is %lld",
                   (long long)e->id, i, (long long)stack[sp - 1]);
      sp--;
    }
  }
  cr_assert_eq(sp, 0, "%d before(s) without after", sp);
}

static void reset_log(void) {
  LOG.n = 0;
}

static void noop(void *arg) {
  (void)arg;
}

/* ---- init is synchronous ----------------------------------------------------- */

static hl_async_id_t init_exec_seen;
static void exec_at_init(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  init_exec_seen = hl_execution_async_id();
}

static void *resource_in_cb;
static int sync_cb_ran;
static void record_resource(void *arg) {
  (void)arg;
  resource_in_cb = hl_execution_async_resource();
  sync_cb_ran++;
}

Test(hooks, init_is_synchronous_inside_construction) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  h.on_init = exec_at_init;
  cr_assert_eq(hl_hook_enable(h.hook), 0);

  hl_timer_t t;
  init_exec_seen = -1;
  cr_assert_eq(hl_set_timeout(&loop, record_resource, NULL, 1, &t), 0);
  cr_assert_eq(LOG.n, 1, "init must be recorded before hl_set_timeout returns (got %d events)",
               LOG.n);
  cr_assert_eq(LOG.ev[0].kind, EV_INIT);
  cr_assert_eq(LOG.ev[0].id, t.id, "init id is the timer's id");
  cr_assert_str_eq(LOG.ev[0].type, "Timeout");
  cr_assert_eq(LOG.ev[0].trigger, 1, "created at top level: triggered by the root");
  cr_assert_eq(init_exec_seen, 1, "init runs in the creator's context (top level)");

  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &im), 0);
  cr_assert_eq(LOG.n, 2, "immediate init recorded before hl_set_immediate returns");
  cr_assert_eq(LOG.ev[1].id, im.id);
  cr_assert_str_eq(LOG.ev[1].type, "Immediate");

  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "Custom", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(LOG.n, 3, "user resource init recorded before hl_async_resource_init returns");
  cr_assert_eq(LOG.ev[2].id, hl_async_resource_async_id(&r));
  cr_assert_eq(LOG.ev[2].resource, &r, "a user resource's resource is the resource itself");

  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(sync_cb_ran, 1);
  cr_assert_eq(resource_in_cb, LOG.ev[0].resource,
               "hl_execution_async_resource() in the callback is the resource passed to init");
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- before/after nest LIFO --------------------------------------------------- */

static hl_async_resource_t nest_r1, nest_r2;
static hl_async_id_t nest_seen[3];
static void nest_inner(void *arg) {
  (void)arg;
  nest_seen[2] = hl_execution_async_id();
}
static void nest_middle(void *arg) {
  (void)arg;
  nest_seen[1] = hl_execution_async_id();
  cr_assert_eq(hl_async_resource_run(&nest_r2, nest_inner, NULL), 0);
}
static void nest_timer(void *arg) {
  hl_loop_t *loop = arg;
  nest_seen[0] = hl_execution_async_id();
  cr_assert_eq(hl_async_resource_init(loop, &nest_r1, "R1", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_async_resource_init(loop, &nest_r2, "R2", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_async_resource_run(&nest_r1, nest_middle, NULL), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&nest_r1), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&nest_r2), 0);
}

Test(hooks, before_after_strictly_nested) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  hl_timer_t t;
  cr_assert_eq(hl_set_timeout(&loop, nest_timer, &loop, 1, &t), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);

  hl_async_id_t r1 = hl_async_resource_async_id(&nest_r1);
  hl_async_id_t r2 = hl_async_resource_async_id(&nest_r2);
  cr_assert_eq(nest_seen[0], t.id);
  cr_assert_eq(nest_seen[1], r1);
  cr_assert_eq(nest_seen[2], r2);

  /* The before/after subsequence is exactly T( R1( R2( ) ) ). */
  hl_async_id_t want_id[] = {t.id, r1, r2, r2, r1, t.id};
  hl_ev_kind_t want_kind[] = {EV_BEFORE, EV_BEFORE, EV_BEFORE, EV_AFTER, EV_AFTER, EV_AFTER};
  int k = 0;
  for (int i = 0; i < LOG.n; i++) {
    if (LOG.ev[i].kind != EV_BEFORE && LOG.ev[i].kind != EV_AFTER)
      continue;
    cr_assert_lt(k, 6, "more before/after events than expected");
    cr_assert_eq(LOG.ev[i].kind, want_kind[k], "event %d kind", k);
    cr_assert_eq(LOG.ev[i].id, want_id[k], "event %d id: got %lld want %lld", k,
                 (long long)LOG.ev[i].id, (long long)want_id[k]);
    k++;
  }
  cr_assert_eq(k, 6);
  assert_lifo(-1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- handles 0..N before/after, requests exactly one --------------------------- */

static hl_timer_t iv_ref;
static int iv_runs;
static hl_async_id_t iv_ids[8];
static void iv_cb(void *arg) {
  (void)arg;
  if (iv_runs < 8)
    iv_ids[iv_runs] = hl_execution_async_id();
  if (++iv_runs >= 3)
    hl_clear_timer(&iv_ref);
}

static int req_runs;
static void req_cb(void *arg) {
  (void)arg;
  req_runs++;
}

Test(hooks, handle_sees_n_pairs_request_sees_one) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);

  hl_timer_t to, never;
  cr_assert_eq(hl_set_interval(&loop, iv_cb, NULL, 1, &iv_ref), 0);
  cr_assert_eq(hl_set_timeout(&loop, req_cb, NULL, 1, &to), 0);
  cr_assert_eq(hl_set_interval(&loop, req_cb, NULL, 1, &never), 0);
  cr_assert_eq(hl_clear_timer(&never), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);

  cr_assert_eq(iv_runs, 3);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(iv_ids[i], iv_ref.id, "interval run %d keeps the one id", i);
  check_inv(1, iv_ref.id, 1, 3, 3, 1, "interval run 3 times then cleared");
  cr_assert_eq(hl_log_count_type(&LOG, "Timeout"), 3, "one init per timer, not per run");
  cr_assert_eq(req_runs, 1);
  check_inv(1, to.id, 1, 1, 1, 1, "timeout (a request)");
  check_inv(1, never.id, 1, 0, 0, 1, "interval cleared before it ran (0 pairs)");
  assert_lifo(1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- hooks run in enable order; enabling twice is a no-op ----------------------- */

/* Tags of the events of `kind` for `id`, in log order, as a string "132". */
static const char *tags_of(hl_ev_kind_t kind, hl_async_id_t id, char *buf, size_t n) {
  size_t k = 0;
  for (int i = 0; i < LOG.n && k + 1 < n; i++)
    if (LOG.ev[i].kind == kind && LOG.ev[i].id == id)
      buf[k++] = (char)('0' + LOG.ev[i].tag);
  buf[k] = 0;
  return buf;
}

Test(hooks, called_in_enable_order) {
  hl_loop_t loop;
  hk_t h1, h2, h3;
  char b[16];
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h1, 1);
  hk_create(&loop, &h2, 2);
  hk_create(&loop, &h3, 3);
  cr_assert_eq(hl_hook_enable(h1.hook), 0);
  cr_assert_eq(hl_hook_enable(h3.hook), 0);
  cr_assert_eq(hl_hook_enable(h2.hook), 0);
  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &im), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_str_eq(tags_of(EV_INIT, im.id, b, sizeof b), "132");
  cr_assert_str_eq(tags_of(EV_BEFORE, im.id, b, sizeof b), "132");
  cr_assert_str_eq(tags_of(EV_AFTER, im.id, b, sizeof b), "132");
  cr_assert_str_eq(tags_of(EV_DESTROY, im.id, b, sizeof b), "132");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(hooks, reenabling_a_disabled_hook_moves_it_last) {
  /* Node: disable() splices the hook out, enable() pushes it at the end. */
  hl_loop_t loop;
  hk_t h1, h2;
  char b[16];
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h1, 1);
  hk_create(&loop, &h2, 2);
  cr_assert_eq(hl_hook_enable(h1.hook), 0);
  cr_assert_eq(hl_hook_enable(h2.hook), 0);
  cr_assert_eq(hl_hook_disable(h1.hook), 0);
  cr_assert_eq(hl_hook_enable(h1.hook), 0);
  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &im), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_str_eq(tags_of(EV_INIT, im.id, b, sizeof b), "21");
  cr_assert_str_eq(tags_of(EV_DESTROY, im.id, b, sizeof b), "21");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(hooks, enabling_twice_is_a_noop) {
  hl_loop_t loop;
  hk_t h1;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h1, 1);
  cr_assert_eq(hl_hook_enable(h1.hook), 0);
  cr_assert_eq(hl_hook_enable(h1.hook), 0, "enabling an enabled hook returns 0");
  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &im), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  check_inv(1, im.id, 1, 1, 1, 1, "enabled twice: each event once");
  cr_assert_eq(LOG.n, 4, "no duplicate events");

  /* One disable undoes it (it was not enabled twice), a second is a no-op. */
  cr_assert_eq(hl_hook_disable(h1.hook), 0);
  cr_assert_eq(hl_hook_disable(h1.hook), 0, "disabling a disabled hook returns 0");
  cr_assert_eq(hl_set_immediate(&loop, noop, NULL, &im), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(LOG.n, 4, "disabled hook sees nothing");
  cr_assert_eq(hl_hook_enable(NULL), HL_EINVAL);
  cr_assert_eq(hl_hook_disable(NULL), HL_EINVAL);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- port of test-enable-disable.js --------------------------------------------- */

static hl_loop_t *ed_loop;
static hk_t ed1, ed2, ed3;
static int ed_enabled_hook2, ed_disabled_hook1, ed_hook3_afters;
static hl_immediate_t ed_imm1, ed_imm2;
static int ed_first_ran, ed_second_ran, ed_tick_ran;

/* hook3's before enables hook2 (once). */
static void ed_hook3_before(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  if (ed_enabled_hook2)
    return;
  cr_assert_eq(hl_hook_enable(ed2.hook), 0);
  ed_enabled_hook2 = 1;
}
/* hook2's before disables hook1 (twice: still disabled once). */
static void ed_hook2_before(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  if (ed_disabled_hook1)
    return;
  cr_assert_eq(hl_hook_disable(ed1.hook), 0);
  cr_assert_eq(hl_hook_disable(ed1.hook), 0);
  ed_disabled_hook1 = 1;
}
/* hook3 disables itself in the second after it sees. */
static void ed_hook3_after(hk_t *h, hl_async_id_t id) {
  (void)id;
  if (++ed_hook3_afters == 2)
    cr_assert_eq(hl_hook_disable(h->hook), 0);
}

static void ed_on_tick(void *arg) {
  (void)arg;
  hl_async_id_t a = ed_imm1.id, b = ed_imm2.id;
  check_inv(1, a, 1, 1, 1, 1, "hook1First: when second immediate completed");
  check_inv(2, a, 0, 0, 1, 1, "hook2First: when second immediate completed");
  check_inv(3, a, 1, 1, 1, 1, "hook3First: when second immediate completed");
  check_inv(1, b, 1, 1, 0, 0, "hook1Second: when second immediate completed");
  check_inv(2, b, 1, 1, 1, 1, "hook2Second: when second immediate completed");
  check_inv(3, b, 1, 1, 1, 0, "hook3Second: when second immediate completed");
  ed_tick_ran++;
}

static void ed_second(void *arg) {
  (void)arg;
  hl_async_id_t a = ed_imm1.id, b = ed_imm2.id;
  char buf[16];
  cr_assert_str_eq(tags_of(EV_INIT, b, buf, sizeof buf), "132",
                   "hook2 is last in the enable order");
  check_inv(1, a, 1, 1, 1, 1, "hook1First: on second immediate");
  check_inv(2, a, 0, 0, 1, 1, "hook2First: on second immediate");
  check_inv(3, a, 1, 1, 1, 1, "hook3First: on second immediate");
  check_inv(1, b, 1, 1, 0, 0, "hook1Second: on second immediate");
  check_inv(2, b, 1, 1, 0, 0, "hook2Second: on second immediate");
  check_inv(3, b, 1, 1, 0, 0, "hook3Second: on second immediate");
  ed_second_ran++;
  /* common/tick.js tick(1, cb): one more immediate. */
  cr_assert_eq(hl_set_immediate(ed_loop, ed_on_tick, NULL, NULL), 0);
}

static void ed_first(void *arg) {
  (void)arg;
  hl_async_id_t a = ed_imm1.id;
  /* hook2 was enabled in hook3's before: it missed init and before. */
  check_inv(1, a, 1, 1, 0, 0, "hook1[0]: on first immediate");
  check_inv(2, a, 0, 0, 0, 0, "hook2: on first immediate");
  check_inv(3, a, 1, 1, 0, 0, "hook3[0]: on first immediate");
  const hl_ev_t *i1 = hl_log_init_of(&LOG, a);
  cr_assert_not_null(i1);
  cr_assert_str_eq(i1->type, "Immediate");
  ed_first_ran++;
  cr_assert_eq(hl_set_immediate(ed_loop, ed_second, NULL, &ed_imm2), 0);
}

Test(hooks, enable_disable_inside_hook_callbacks) {
  hl_loop_t loop;
  reset_log();
  ed_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &ed1, 1);
  hk_create(&loop, &ed2, 2);
  hk_create(&loop, &ed3, 3);
  ed2.on_before = ed_hook2_before;
  ed3.on_before = ed_hook3_before;
  ed3.on_after = ed_hook3_after;

  cr_assert_eq(hl_hook_enable(ed1.hook), 0);
  cr_assert_eq(hl_hook_enable(ed1.hook), 0); /* enabled even if enabled twice */
  cr_assert_eq(hl_hook_enable(ed3.hook), 0);

  cr_assert_eq(hl_set_immediate(&loop, ed_first, NULL, &ed_imm1), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(ed_first_ran, 1);
  cr_assert_eq(ed_second_ran, 1);
  cr_assert_eq(ed_tick_ran, 1);

  /* At exit: hook1 and hook3 stayed disabled, hook2 saw the rest. */
  hl_async_id_t a = ed_imm1.id, b = ed_imm2.id;
  check_inv(1, a, 1, 1, 1, 1, "hook1First: at exit");
  check_inv(2, a, 0, 0, 1, 1, "hook2First: at exit");
  check_inv(3, a, 1, 1, 1, 1, "hook3First: at exit");
  check_inv(1, b, 1, 1, 0, 0, "hook1Second: at exit");
  check_inv(2, b, 1, 1, 1, 1, "hook2Second: at exit");
  check_inv(3, b, 1, 1, 1, 0, "hook3Second: at exit");
  /* Order in the first immediate's after: 1, 3, then 2 (enabled last). */
  char buf[16];
  cr_assert_str_eq(tags_of(EV_AFTER, a, buf, sizeof buf), "132");
  cr_assert_str_eq(tags_of(EV_AFTER, b, buf, sizeof buf), "32",
                   "hook3 disabling itself in its after does not stop hook2's after");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- port of test-enable-in-init.js ----------------------------------------------- */

static hl_loop_t *ii_loop;
static hk_t ii_outer, ii_nested;
static int ii_nested_call, ii_outer_inits, ii_cb_runs;

static void ii_cb(void *arg) {
  (void)arg;
  ii_cb_runs++;
}

static void ii_outer_init_enable(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  ii_outer_inits++;
  cr_assert_eq(hl_hook_enable(ii_nested.hook), 0);
  if (!ii_nested_call) {
    ii_nested_call = 1;
    cr_assert_eq(hl_set_immediate(ii_loop, ii_cb, NULL, NULL), 0);
  }
}

Test(hooks, enable_in_init_misses_that_init) {
  hl_loop_t loop;
  reset_log();
  ii_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &ii_nested, 2);
  hk_create(&loop, &ii_outer, 1);
  ii_outer.on_init = ii_outer_init_enable;
  cr_assert_eq(hl_hook_enable(ii_outer.hook), 0);

  cr_assert_eq(hl_set_immediate(&loop, ii_cb, NULL, NULL), 0);
  cr_assert_eq(ii_outer_inits, 2, "outer init: the resource and the one made inside its init");
  cr_assert_eq(hl_log_index(&LOG, EV_INIT, LOG.ev[0].id, 2), -1,
               "nested hook enabled inside init does not get that init");
  cr_assert_eq(cnt_tag(2), 0, "nested hook gets no init at all (test-enable-in-init.js)");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(ii_cb_runs, 2, "both immediates ran (mustCall)");

  /* The enable did take effect once the outermost dispatch returned. */
  hl_immediate_t im;
  cr_assert_eq(hl_hook_disable(ii_outer.hook), 0);
  cr_assert_eq(hl_set_immediate(&loop, ii_cb, NULL, &im), 0);
  cr_assert_eq(cnt(2, EV_INIT, im.id), 1, "nested hook is enabled afterwards");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- port of test-disable-in-init.js ----------------------------------------------- */

static void ii_outer_init_disable(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  ii_outer_inits++;
  cr_assert_eq(hl_hook_disable(ii_nested.hook), 0);
  if (!ii_nested_call) {
    ii_nested_call = 1;
    cr_assert_eq(hl_set_immediate(ii_loop, ii_cb, NULL, NULL), 0);
  }
}

Test(hooks, disable_in_init_still_gets_inits_of_that_dispatch) {
  hl_loop_t loop;
  reset_log();
  ii_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &ii_outer, 1);
  hk_create(&loop, &ii_nested, 2);
  ii_outer.on_init = ii_outer_init_disable;
  cr_assert_eq(hl_hook_enable(ii_outer.hook), 0);
  cr_assert_eq(hl_hook_enable(ii_nested.hook), 0);

  cr_assert_eq(hl_set_immediate(&loop, ii_cb, NULL, NULL), 0);
  cr_assert_eq(ii_outer_inits, 2);
  /* Node: nestedHook = createHook({ init: common.mustCall(2) }). */
  cr_assert_eq(hl_log_count(&LOG, EV_INIT, LOG.ev[0].id), 2, "both hooks saw the first init");
  int nested_inits = 0;
  for (int i = 0; i < LOG.n; i++)
    nested_inits += LOG.ev[i].tag == 2 && LOG.ev[i].kind == EV_INIT;
  cr_assert_eq(nested_inits, 2, "hook disabled in init still gets both inits of that dispatch");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(ii_cb_runs, 2);

  /* The disable took effect when the outermost dispatch returned. */
  int before = cnt_tag(2);
  cr_assert_eq(before, 2, "disabled hook saw no before/after/destroy afterwards");
  cr_assert_eq(hl_set_immediate(&loop, ii_cb, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(cnt_tag(2), 2, "nested hook is disabled afterwards");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* The same rule when a hook disables itself and it is the only init hook: the
 * resource created inside that init dispatch still reaches it. */
static hk_t sd_hook;
static int sd_nested_call, sd_inits;
static void sd_init(hk_t *h, hl_async_id_t id) {
  (void)id;
  sd_inits++;
  cr_assert_eq(hl_hook_disable(h->hook), 0);
  if (!sd_nested_call) {
    sd_nested_call = 1;
    cr_assert_eq(hl_set_immediate(ii_loop, ii_cb, NULL, NULL), 0);
  }
}

Test(hooks, self_disable_in_init_takes_effect_after_outermost_dispatch) {
  hl_loop_t loop;
  reset_log();
  ii_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &sd_hook, 1);
  sd_hook.on_init = sd_init;
  cr_assert_eq(hl_hook_enable(sd_hook.hook), 0);
  cr_assert_eq(hl_set_immediate(&loop, ii_cb, NULL, NULL), 0);
  cr_assert_eq(sd_inits, 2,
               "the init of a resource created inside the init dispatch is delivered to the "
               "hook that disabled itself there (Node keeps its hook_fields until the dispatch "
               "returns); got %d",
               sd_inits);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(ii_cb_runs, 2);
  cr_assert_eq(cnt_tag(1), 2, "after the dispatch the hook is disabled: no before/after/destroy");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- destroy is deferred and batched ----------------------------------------------- */

static hl_loop_t *dd_loop;
static hl_timer_t dd_t, dd_iv, dd_t2;
static hl_immediate_t dd_im, dd_later;
static int dd_ran;
static void dd_cb(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_interval(dd_loop, noop, NULL, 100000, &dd_iv), 0);
  cr_assert_eq(hl_set_timeout(dd_loop, noop, NULL, 100000, &dd_t2), 0);
  cr_assert_eq(hl_set_immediate(dd_loop, noop, NULL, &dd_im), 0);
  cr_assert_eq(hl_clear_timer(&dd_iv), 0);
  cr_assert_eq(hl_clear_timer(&dd_t2), 0);
  cr_assert_eq(hl_clear_immediate(&dd_im), 0);
  cr_assert_eq(cnt(-1, EV_DESTROY, dd_iv.id), 0, "destroy of a cleared interval is deferred");
  cr_assert_eq(cnt(-1, EV_DESTROY, dd_t2.id), 0, "destroy of a cleared timeout is deferred");
  cr_assert_eq(cnt(-1, EV_DESTROY, dd_im.id), 0, "destroy of a cleared immediate is deferred");
  cr_assert_eq(hl_set_immediate(dd_loop, noop, NULL, &dd_later), 0);
  dd_ran++;
}

Test(hooks, destroy_is_deferred_and_batched) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  dd_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  cr_assert_eq(hl_set_timeout(&loop, dd_cb, NULL, 1, &dd_t), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(dd_ran, 1);

  /* Emitted during hl_run, once each, after the callback that ended them
   * returned, as one batch in the order they ended. */
  int after_t = hl_log_index(&LOG, EV_AFTER, dd_t.id, 1);
  cr_assert_geq(after_t, 0);
  hl_async_id_t order[] = {dd_iv.id, dd_t2.id, dd_im.id, dd_t.id};
  int first = hl_log_index(&LOG, EV_DESTROY, order[0], 1);
  cr_assert_gt(first, after_t, "destroys come after the callback's after");
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(cnt(1, EV_DESTROY, order[i]), 1, "destroy %d emitted once", i);
    cr_assert_eq(hl_log_index(&LOG, EV_DESTROY, order[i], 1), first + i,
                 "destroy %d is part of one contiguous batch, in queue order", i);
  }
  check_inv(1, dd_later.id, 1, 1, 1, 1, "an immediate that ran");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* A user resource destroyed at top level: deferred, then flushed by hl_run. */
Test(hooks, destroy_at_top_level_is_deferred) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t id = hl_async_resource_async_id(&r);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(cnt(1, EV_DESTROY, id), 0, "emit_destroy queues; it does not emit at once");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(cnt(1, EV_DESTROY, id), 1, "emitted in the run");
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(cnt(1, EV_DESTROY, id), 1, "and only once");
}

/* ---- a reused user resource: queued destroy before the new init ------------------- */

Test(hooks, reinit_emits_queued_destroy_before_new_init) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);

  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "First", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t a = hl_async_resource_async_id(&r);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(cnt(1, EV_DESTROY, a), 0);
  cr_assert_eq(hl_async_resource_init(&loop, &r, "Second", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t b = hl_async_resource_async_id(&r);
  cr_assert_gt(b, a, "the reused memory gets a new id");
  int d = hl_log_index(&LOG, EV_DESTROY, a, 1);
  int i = hl_log_index(&LOG, EV_INIT, b, 1);
  cr_assert_geq(d, 0, "the queued destroy was emitted by the re-init");
  cr_assert_lt(d, i, "destroy of the old id comes before the init of the new one");

  /* Destroy already emitted (flushed by a run): re-init emits nothing extra. */
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(cnt(1, EV_DESTROY, b), 1);
  cr_assert_eq(hl_async_resource_init(&loop, &r, "Third", HL_DEFAULT_TRIGGER, 0), 0);
  hl_async_id_t c = hl_async_resource_async_id(&r);
  cr_assert_eq(cnt(1, EV_DESTROY, a), 1, "old destroys are not emitted twice");
  cr_assert_eq(cnt(1, EV_DESTROY, b), 1, "old destroys are not emitted twice");
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(cnt(1, EV_DESTROY, c), 1);
}

static hl_loop_t *ri_loop;
static hl_async_resource_t ri_res;
static hl_async_id_t ri_a, ri_b;
static void ri_cb(void *arg) {
  (void)arg;
  cr_assert_eq(hl_async_resource_init(ri_loop, &ri_res, "Reused", HL_DEFAULT_TRIGGER, 0), 0);
  ri_a = hl_async_resource_async_id(&ri_res);
  cr_assert_eq(hl_async_resource_emit_destroy(&ri_res), 0);
  cr_assert_eq(hl_async_resource_init(ri_loop, &ri_res, "Reused", HL_DEFAULT_TRIGGER, 0), 0);
  ri_b = hl_async_resource_async_id(&ri_res);
  cr_assert_eq(hl_async_resource_emit_destroy(&ri_res), 0);
}

Test(hooks, reinit_inside_callback_emits_queued_destroy_first) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  ri_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  cr_assert_eq(hl_set_immediate(&loop, ri_cb, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  int d = hl_log_index(&LOG, EV_DESTROY, ri_a, 1);
  int i = hl_log_index(&LOG, EV_INIT, ri_b, 1);
  cr_assert_geq(d, 0);
  cr_assert_lt(d, i, "destroy of the old id before init of the new one");
  cr_assert_eq(cnt(1, EV_DESTROY, ri_a), 1);
  cr_assert_eq(cnt(1, EV_DESTROY, ri_b), 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- disabled path ------------------------------------------------------------------- */

static void tick_noop(void *arg) {
  (void)arg;
}
static void busy_cb(void *arg) {
  hl_loop_t *loop = arg;
  hl_next_tick(loop, tick_noop, NULL);
  hl_queue_microtask(loop, tick_noop, NULL);
}

Test(hooks, never_enabled_hook_records_nothing) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", HL_DEFAULT_TRIGGER, 0), 0);
  cr_assert_eq(hl_async_resource_run(&r, busy_cb, &loop), 0);
  cr_assert_eq(hl_set_timeout(&loop, busy_cb, &loop, 1, NULL), 0);
  cr_assert_eq(hl_set_immediate(&loop, busy_cb, &loop, NULL), 0);
  hl_timer_t iv;
  cr_assert_eq(hl_set_interval(&loop, noop, NULL, 1000, &iv), 0);
  cr_assert_eq(hl_clear_timer(&iv), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(LOG.n, 0, "a hook never enabled records nothing (got %d events)", LOG.n);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(LOG.n, 0, "not even the destroys emitted at close");
}

Test(hooks, disabled_hook_records_nothing_more) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  cr_assert_eq(hl_set_immediate(&loop, busy_cb, &loop, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  int n = LOG.n;
  cr_assert_gt(n, 0);
  cr_assert_eq(hl_hook_disable(h.hook), 0);
  cr_assert_eq(hl_set_immediate(&loop, busy_cb, &loop, NULL), 0);
  cr_assert_eq(hl_set_timeout(&loop, busy_cb, &loop, 1, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(LOG.n, n, "no event after disable");
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- hl_hook_destroy inside a hook callback ------------------------------------------ */

static hk_t *hd_self, *hd_killer, *hd_victim;
static int hd_self_destroyed, hd_victim_destroyed;
static int hd_log_at_self_destroy, hd_log_at_victim_destroy;

static void hd_self_before(hk_t *h, hl_async_id_t id) {
  (void)id;
  if (hd_self_destroyed)
    return;
  hl_hook_destroy(h->hook); /* destroys the hook we are running in */
  hd_self_destroyed = 1;
  hd_log_at_self_destroy = LOG.n;
}

static void hd_killer_init(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  if (hd_victim_destroyed)
    return;
  hl_hook_destroy(hd_victim->hook);
  /* The application may release what the hook used once it is destroyed. */
  free(hd_victim);
  hd_victim = NULL;
  hd_victim_destroyed = 1;
  hd_log_at_victim_destroy = LOG.n;
}

static int hd_ran;
static void hd_cb(void *arg) {
  hl_loop_t *loop = arg;
  hd_ran++;
  if (hd_ran < 3)
    cr_assert_eq(hl_set_immediate(loop, hd_cb, loop, NULL), 0);
}

Test(hooks, hook_destroy_inside_hook_callback_is_safe) {
  hl_loop_t loop;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  hd_self = calloc(1, sizeof *hd_self);
  hd_killer = calloc(1, sizeof *hd_killer);
  hd_victim = calloc(1, sizeof *hd_victim);
  cr_assert(hd_self && hd_killer && hd_victim);
  hk_create(&loop, hd_self, 1);
  hk_create(&loop, hd_killer, 2);
  hk_create(&loop, hd_victim, 3);
  hd_self->on_before = hd_self_before;
  hd_killer->on_init = hd_killer_init;
  cr_assert_eq(hl_hook_enable(hd_self->hook), 0);
  cr_assert_eq(hl_hook_enable(hd_killer->hook), 0);
  cr_assert_eq(hl_hook_enable(hd_victim->hook), 0);

  hl_immediate_t im;
  cr_assert_eq(hl_set_immediate(&loop, hd_cb, &loop, &im), 0);
  cr_assert_eq(hd_victim_destroyed, 1);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hd_ran, 3);
  cr_assert_eq(hd_self_destroyed, 1);

  for (int i = hd_log_at_self_destroy; i < LOG.n; i++)
    cr_assert_neq(LOG.ev[i].tag, 1, "event %d went to a hook destroyed in its own before", i);
  for (int i = hd_log_at_victim_destroy; i < LOG.n; i++)
    cr_assert_neq(LOG.ev[i].tag, 3, "event %d went to a hook destroyed by another hook", i);
  /* The surviving hook saw everything: 3 immediates, init/before/after/destroy. */
  int killer = cnt_tag(2);
  cr_assert_eq(killer, 12, "surviving hook saw %d events", killer);
  assert_lifo(2);
  hl_hook_destroy(NULL); /* ignored */
  hl_hook_destroy(hd_killer->hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
  free(hd_self);
  free(hd_killer);
}

/* The first hook of an event is called inline from a copy of its entry: a
 * hook destroyed by another one during a dispatch must not be called by an
 * event emitted inside that dispatch either (here an init, from a before). */
static hk_t *fk_first;
static hl_loop_t *fk_loop;
static int fk_done, fk_mark, fk_nested;
static void fk_nested_cb(void *arg) {
  (void)arg;
  fk_nested++;
}
static void fk_second_before(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  if (fk_done)
    return;
  fk_done = 1;
  hl_hook_destroy(fk_first->hook); /* (kept alive: a stray call would log its tag) */
  fk_mark = LOG.n;
  cr_assert_eq(hl_set_immediate(fk_loop, fk_nested_cb, NULL, NULL), 0); /* init, inline */
}
static void fk_cb(void *arg) {
  (void)arg;
}

Test(hooks, first_hook_destroyed_during_a_dispatch_misses_nested_events) {
  hl_loop_t loop;
  reset_log();
  cr_assert_eq(hl_loop_init(&loop), 0);
  fk_loop = &loop;
  fk_first = calloc(1, sizeof *fk_first);
  hk_t *second = calloc(1, sizeof *second);
  cr_assert(fk_first && second);
  hk_create(&loop, fk_first, 1);
  hk_create(&loop, second, 2);
  second->on_before = fk_second_before;
  cr_assert_eq(hl_hook_enable(fk_first->hook), 0);
  cr_assert_eq(hl_hook_enable(second->hook), 0);
  cr_assert_eq(hl_set_immediate(&loop, fk_cb, NULL, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(fk_done, 1);
  cr_assert_eq(fk_nested, 1);
  int nested_init = 0;
  for (int i = fk_mark; i < LOG.n; i++) {
    cr_assert_neq(LOG.ev[i].tag, 1, "event %d went to a hook destroyed in this dispatch", i);
    nested_init += LOG.ev[i].kind == EV_INIT && LOG.ev[i].tag == 2;
  }
  cr_assert_eq(nested_init, 1, "the surviving hook saw the nested init");
  hl_hook_destroy(second->hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
  free(second);
  free(fk_first);
}

/* ---- the context hooks run in ---------------------------------------------------------- */

/* Node: init runs in the creator's context; before runs after the resource's
 * context was entered and after before it is left (emitBeforeScript pushes the
 * context first, emitAfterScript pops it last). */
static hl_async_id_t cx_init_exec, cx_before_exec, cx_before_trig, cx_after_exec;
static void *cx_before_res;
static void cx_init(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  cx_init_exec = hl_execution_async_id();
}
static void cx_before(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  cx_before_exec = hl_execution_async_id();
  cx_before_trig = hl_trigger_async_id();
  cx_before_res = hl_execution_async_resource();
}
static void cx_after(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  cx_after_exec = hl_execution_async_id();
}

static hl_loop_t *cx_loop;
static hl_timer_t cx_outer, cx_inner;
static void cx_outer_cb(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(cx_loop, noop, NULL, 1, &cx_inner), 0);
  cr_assert_eq(cx_init_exec, cx_outer.id, "init of a timer made in a callback: creator's id");
}

Test(hooks, hooks_run_in_the_right_context) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  cx_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  h.on_init = cx_init;
  h.on_before = cx_before;
  h.on_after = cx_after;
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  hl_async_resource_t r;
  cr_assert_eq(hl_async_resource_init(&loop, &r, "R", 5, 0), 0);
  cr_assert_eq(cx_init_exec, 1, "init at top level runs with execution id 1");
  cr_assert_eq(hl_async_resource_run(&r, noop, NULL), 0);
  cr_assert_eq(cx_before_exec, hl_async_resource_async_id(&r), "before sees the resource's id");
  cr_assert_eq(cx_before_trig, 5, "before sees the resource's trigger");
  cr_assert_eq(cx_before_res, &r, "before sees the resource");
  cr_assert_eq(cx_after_exec, hl_async_resource_async_id(&r), "after still sees it");
  cr_assert_eq(hl_set_timeout(&loop, cx_outer_cb, NULL, 1, &cx_outer), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(cx_after_exec, cx_inner.id);
  cr_assert_eq(hl_async_resource_emit_destroy(&r), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- edits and new destroys made by a destroy hook during a batch ---------------------- */

/* Each destroy of a batch is its own dispatch (Node's destroy loop calls the
 * emitter once per id): an edit made in one destroy applies from the next. */
static hk_t eb_first, eb_second;
static int eb_seen;
static void eb_swap_on_second(hk_t *h, hl_async_id_t id) {
  (void)h;
  (void)id;
  if (++eb_seen == 2) {
    cr_assert_eq(hl_hook_disable(eb_first.hook), 0);
    cr_assert_eq(hl_hook_enable(eb_second.hook), 0);
  }
}

Test(hooks, edit_in_a_destroy_hook_applies_from_the_next_destroy_of_the_batch) {
  hl_loop_t loop;
  reset_log();
  eb_seen = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &eb_first, 1);
  hk_create(&loop, &eb_second, 2);
  eb_first.on_destroy = eb_swap_on_second;
  cr_assert_eq(hl_hook_enable(eb_first.hook), 0);
  hl_async_resource_t r[5];
  hl_async_id_t ids[5];
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(hl_async_resource_init(&loop, &r[i], "R", HL_DEFAULT_TRIGGER, 0), 0);
    ids[i] = hl_async_resource_async_id(&r[i]);
  }
  for (int i = 0; i < 5; i++)
    cr_assert_eq(hl_async_resource_emit_destroy(&r[i]), 0);
  cr_assert_eq(cnt(-1, EV_DESTROY, ids[0]), 0, "queued, not emitted yet");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  for (int i = 0; i < 5; i++) {
    cr_assert_eq(cnt(1, EV_DESTROY, ids[i]), i < 2, "first hook, destroy %d", i);
    cr_assert_eq(cnt(2, EV_DESTROY, ids[i]), i >= 2, "second hook, destroy %d", i);
  }
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* A destroy hook that ends resources: their destroys join the running batch
 * (Node's destroy loop likewise picks up ids queued while it runs), also when
 * the queue has to grow meanwhile; each is emitted once, in queue order. */
#define JB_NEW 300
static hl_loop_t *jb_loop;
static hl_async_resource_t jb_res[JB_NEW + 1];
static hl_async_id_t jb_ids[JB_NEW + 1];
static void jb_end_more(hk_t *h, hl_async_id_t id) {
  (void)h;
  if (id != jb_ids[0])
    return;
  for (int i = 1; i <= JB_NEW; i++) {
    cr_assert_eq(hl_async_resource_init(jb_loop, &jb_res[i], "R", HL_DEFAULT_TRIGGER, 0), 0);
    jb_ids[i] = hl_async_resource_async_id(&jb_res[i]);
    cr_assert_eq(hl_async_resource_emit_destroy(&jb_res[i]), 0);
  }
}

Test(hooks, destroys_queued_by_a_destroy_hook_join_the_batch) {
  hl_loop_t loop;
  hk_t h;
  reset_log();
  jb_loop = &loop;
  cr_assert_eq(hl_loop_init(&loop), 0);
  hk_create(&loop, &h, 1);
  h.on_destroy = jb_end_more;
  cr_assert_eq(hl_hook_enable(h.hook), 0);
  cr_assert_eq(hl_async_resource_init(&loop, &jb_res[0], "R", HL_DEFAULT_TRIGGER, 0), 0);
  jb_ids[0] = hl_async_resource_async_id(&jb_res[0]);
  cr_assert_eq(hl_async_resource_emit_destroy(&jb_res[0]), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_NOWAIT), 0);
  int first = hl_log_index(&LOG, EV_DESTROY, jb_ids[0], 1);
  cr_assert_geq(first, 0);
  for (int i = 0; i <= JB_NEW; i++) {
    cr_assert_eq(cnt(1, EV_DESTROY, jb_ids[i]), 1, "destroy %d emitted once, in this run", i);
    /* after r0's destroy, the hook's inits of r1..r300, then their destroys */
    cr_assert_eq(hl_log_index(&LOG, EV_DESTROY, jb_ids[i], 1), i ? first + JB_NEW + i : first,
                 "destroy %d in queue order", i);
  }
  cr_assert_eq(hl_loop_close(&loop), 0);
}
