/* test/module/test_oom.c - out-of-memory torture for the module loader, as
 * test/core/test_oom.c does for the core: fail the n-th allocation hookloop
 * makes, for every n the scenario reaches (require of data and native
 * modules, in-thread hooks, an off-thread hooks object, an import). No call
 * may crash; each returns 0 or an error; every import callback runs once; and
 * after hl_loop_close nothing may be left allocated. The scenario keeps the
 * hooks thread to synchronous calls, so the allocator is never used by two
 * threads at once.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdlib.h>
#include <string.h>

#define FX   "file://" HL_FIXTURES "/"
#define DATA "file://" HL_TEST_DATA "/"

static long live, attempts, fail_at, injected;

static int fail_now(void) {
  attempts++;
  if (fail_at > 0 && attempts == fail_at) {
    injected++;
    return 1;
  }
  return 0;
}
static void *c_malloc(size_t n) {
  if (fail_now())
    return NULL;
  void *p = malloc(n);
  live += p != NULL;
  return p;
}
static void *c_calloc(size_t c, size_t n) {
  if (fail_now())
    return NULL;
  void *p = calloc(c, n);
  live += p != NULL;
  return p;
}
static void *c_realloc(void *p, size_t n) {
  if (!p)
    return c_malloc(n);
  if (fail_now())
    return NULL;
  return realloc(p, n);
}
static void c_free(void *p) {
  live -= p != NULL;
  free(p);
}

static int pass_resolve(const char *s, const hl_module_resolve_context_t *c, hl_module_chain_t *n,
                        void *a, hl_module_resolve_result_t *o) {
  (void)a;
  return hl_module_next_resolve(n, s, c, o);
}

static void on_import(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  (void)status;
  (void)m;
  cr_assert(status == 0 || err != NULL);
  ++*(int *)arg;
}

static int oks; /* steps that succeeded in the last run */

static void scenario(void) {
  hl_loop_t loop;
  oks = 0;
  if (hl_loop_init(&loop))
    return;
  hl_module_t *m;
  int rc = hl_require(&loop, "./config.json", DATA "main", &m);
  cr_assert(rc == 0 || rc == HL_ENOMEM || rc == HL_EMODULENOTFOUND, "require json: %d", rc);
  rc = hl_require(&loop, FX "plugin_ok.so", NULL, &m);
  cr_assert(rc <= 0);
  if (!rc) {
    cr_assert_eq(*(int *)hl_module_get(m, "answer"), 42);
    oks++;
  }
  hl_module_hooks_handle_t *h = NULL;
  hl_module_register_hooks(&loop, &(hl_module_hooks_t){"p", pass_resolve, NULL}, NULL, &h);
  oks += h != NULL;
  rc = hl_module_register(&loop, FX "hooks_count.so", NULL, NULL, 0);
  cr_assert(rc <= 0);
  oks += rc == 0;
  rc = hl_require(&loop, "./hello.txt", DATA "main", &m);
  cr_assert(rc <= 0);
  oks += rc == 0;
  hl_require(&loop, "./nothing", DATA "main", &m);
  int calls = 0;
  rc = hl_import(&loop, "./blob.bin", DATA "main", on_import, &calls);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(calls, rc == 0 ? 1 : 0, "an accepted import calls back once");
  oks += calls;
  if (h)
    hl_module_hooks_deregister(h);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

Test(module_oom, every_allocation_failing_in_turn) {
  cr_assert_eq(hl_replace_allocator(c_malloc, c_realloc, c_calloc, c_free), 0);
  long n;
  for (n = 1;; n++) {
    live = attempts = injected = 0;
    fail_at = n;
    scenario();
    cr_assert_eq(live, 0, "leak with allocation %ld failing", n);
    if (!injected)
      break; /* the scenario made fewer than n allocations: all covered */
  }
  cr_assert_gt(n, 20, "the scenario allocates (%ld)", n);
  cr_assert_eq(oks, 5, "without a failure every step succeeds");
  cr_assert_eq(hl_replace_allocator(malloc, realloc, calloc, free), 0);
}
