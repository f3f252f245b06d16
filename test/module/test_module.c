/* test/module/test_module.c - the module loader without hooks
 * (include/hookloop/module.h): formats, the cache (same module twice, keyed by
 * URL + attributes, nothing cached from a failure, a later require succeeds),
 * native plugins (exports, ABI check, missing entry, failing init, cycles),
 * the default resolver (relative, absolute, file: URLs, bare names through
 * HL_MODULE_PATH then configured directories, .so probing, the Lua-style
 * not-found message), and hl_import / hl_import_promise (deferred callback in
 * a MODULEREQ async resource, in the importer's context and storage).
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "record.h"

#define FX   "file://" HL_FIXTURES "/"
#define DATA "file://" HL_TEST_DATA "/"

static hl_loop_t loop;

static void setup(void) {
  unsetenv("HL_MODULE_PATH");
  cr_assert_eq(hl_loop_init(&loop), 0);
}
static void teardown(void) {
  cr_assert_eq(hl_loop_close(&loop), 0);
}

TestSuite(module, .init = setup, .fini = teardown);

Test(module, data_formats_and_cache) {
  hl_module_t *j, *t, *b, *j2;
  /* parent is a file in data/: "./x" is relative to its directory */
  cr_assert_eq(hl_require(&loop, "./config.json", DATA "main", &j), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_format(j), "json");
  cr_assert_str_eq(hl_module_url(j), DATA "config.json");
  size_t len;
  const char *src = hl_module_source(j, &len);
  cr_assert_str_eq(src, "{\"name\": \"config\", \"n\": 3}\n");
  cr_assert_eq(len, strlen(src));
  cr_assert_eq(hl_require(&loop, "./hello.txt", DATA "main", &t), 0);
  cr_assert_str_eq(hl_module_format(t), "text");
  cr_assert_str_eq(hl_module_source(t, NULL), "hello text\n");
  cr_assert_eq(hl_require(&loop, "./blob.bin", DATA "main", &b), 0);
  cr_assert_str_eq(hl_module_format(b), "binary");
  const unsigned char *bytes = hl_module_source(b, &len);
  cr_assert_eq(len, 4);
  cr_assert(bytes[0] == 0 && bytes[1] == 1 && bytes[2] == 2 && bytes[3] == 0xff);
  cr_assert_eq(hl_module_cache_size(&loop), 3);
  /* same URL through another spelling: same module, nothing new cached */
  cr_assert_eq(hl_require(&loop, "./sub/../config.json", DATA "other", &j2), 0);
  cr_assert_eq(j2, j);
  cr_assert_eq(hl_require(&loop, HL_TEST_DATA "/config.json", NULL, &j2), 0);
  cr_assert_eq(j2, j);
  cr_assert_eq(hl_module_cache_size(&loop), 3);
  cr_assert_null(hl_module_source(NULL, &len));
  cr_assert_eq(len, 0);
  cr_assert_eq(hl_module_loop(j), &loop);
}

Test(module, attributes_are_part_of_the_key) {
  hl_module_t *a, *b, *c, *d;
  cr_assert_eq(hl_require_with(&loop, "./config.json", DATA "m", "type=json", &a), 0);
  cr_assert_eq(hl_require_with(&loop, "./config.json", DATA "m", "type=json", &b), 0);
  cr_assert_eq(hl_require(&loop, "./config.json", DATA "m", &c), 0);
  cr_assert_eq(hl_require_with(&loop, "./config.json", DATA "m", "", &d), 0);
  cr_assert_eq(a, b);
  cr_assert_neq(a, c);
  cr_assert_eq(c, d, "empty attributes are no attributes");
  cr_assert_str_eq(hl_module_attributes(a), "type=json");
  cr_assert_null(hl_module_attributes(c));
  cr_assert_eq(hl_module_cache_size(&loop), 2);
}

Test(module, native_plugin_exports) {
  hl_module_t *m, *m2;
  cr_assert_eq(hl_require(&loop, FX "plugin_ok.so", NULL, &m), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_format(m), "native");
  cr_assert_eq(*(int *)hl_module_get(m, "answer"), 42);
  cr_assert_str_eq(hl_module_get(m, "name"), "plugin_ok");
  cr_assert_null(hl_module_get(m, "missing"));
  cr_assert_null(hl_module_source(m, NULL));
  /* .so probing: the same file without the suffix, same module, one init */
  cr_assert_eq(hl_require(&loop, HL_FIXTURES "/plugin_ok", NULL, &m2), 0);
  cr_assert_eq(m2, m);
  cr_assert_eq(*(int *)hl_module_get(m, "inits"), 1);
  /* exporting from the host side replaces */
  static int other = 7;
  cr_assert_eq(hl_module_export(m, "answer", &other), 0);
  cr_assert_eq(hl_module_get(m, "answer"), &other);
  cr_assert_eq(hl_module_export(NULL, "x", NULL), HL_EINVAL);
  cr_assert_eq(hl_module_export(m, NULL, NULL), HL_EINVAL);
  cr_assert_null(hl_module_get(NULL, "x"));
}

Test(module, abi_mismatch_and_bad_plugins_are_refused_and_not_cached) {
  hl_module_t *m = (hl_module_t *)1;
  cr_assert_eq(hl_require(&loop, FX "plugin_abi.so", NULL, &m), HL_EABIVERSION);
  cr_assert_null(m);
  char want[512];
  snprintf(want, sizeof want,
           FX "plugin_abi.so was built for hookloop module ABI %u; this hookloop needs ABI %u",
           HL_MODULE_ABI_VERSION + 98, HL_MODULE_ABI_VERSION);
  cr_assert_str_eq(hl_module_last_error(&loop), want);
  cr_assert_eq(hl_require(&loop, FX "plugin_noabi.so", NULL, &m), HL_EABIVERSION);
  cr_assert(strstr(hl_module_last_error(&loop), "does not declare its hookloop module ABI"));
  cr_assert_eq(hl_require(&loop, FX "plugin_noinit.so", NULL, &m), HL_EBADMODULE);
  cr_assert_str_eq(hl_module_last_error(&loop),
                   FX "plugin_noinit.so has no hl_module_init entry point");
  /* the failures above left nothing in the cache */
  cr_assert_eq(hl_require_with(&loop, DATA "hello.txt", NULL, NULL, &m), 0);
  cr_assert_eq(hl_module_cache_size(&loop), 1);
}

Test(module, failed_init_is_not_cached_and_a_later_require_succeeds) {
  int fail = 1;
  loop.data = &fail;
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, FX "plugin_flaky.so", NULL, &m), HL_ENOENT);
  cr_assert(strstr(hl_module_last_error(&loop), "plugin_flaky.so: hl_module_init failed"));
  cr_assert_eq(hl_module_cache_size(&loop), 0);
  fail = 0;
  cr_assert_eq(hl_require(&loop, FX "plugin_flaky.so", NULL, &m), 0);
  cr_assert_str_eq(hl_module_get(m, "ok"), "yes");
  cr_assert_str_eq(hl_module_last_error(&loop), "");
  loop.data = NULL;
}

Test(module, cycles_do_not_deadlock) {
  hl_module_t *a;
  cr_assert_eq(hl_require(&loop, FX "cycle_a.so", NULL, &a), 0, "%s", hl_module_last_error(&loop));
  hl_module_t *b = hl_module_get(a, "b");
  cr_assert_not_null(b);
  cr_assert_eq(hl_module_get(b, "a"), a, "b got the module being initialized");
  cr_assert_str_eq(hl_module_get(b, "a_seen_started"), "yes");
  cr_assert_eq(hl_module_cache_size(&loop), 2);
}

/* ---- default resolver ---------------------------------------------------- */

static char tmp[256];
static void mk(const char *rel, const char *content) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tmp, rel);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  fputs(content, f);
  fclose(f);
}

static void mktmp(void) {
  snprintf(tmp, sizeof tmp, "/tmp/hl-mod-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
  char p[512];
  snprintf(p, sizeof p, "%s/env", tmp);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/conf", tmp);
  mkdir(p, 0700);
}

static void rmtmp(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  cr_assert_eq(system(cmd), 0);
}

Test(module, bare_names_env_path_then_configured_dirs) {
  mktmp();
  mk("env/both.txt", "from env");
  mk("conf/both.txt", "from conf");
  mk("conf/only.txt", "conf only");
  char env[600], conf[600];
  snprintf(env, sizeof env, "%s/nothing:%s/env", tmp, tmp);
  snprintf(conf, sizeof conf, "%s/conf", tmp);
  setenv("HL_MODULE_PATH", env, 1);
  cr_assert_eq(hl_module_add_path(&loop, conf), 0);
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "both.txt", NULL, &m), 0, "%s", hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_source(m, NULL), "from env");
  cr_assert_eq(hl_require(&loop, "only.txt", NULL, &m), 0);
  cr_assert_str_eq(hl_module_source(m, NULL), "conf only");

  /* not found: every file tried, in order, Lua-style */
  cr_assert_eq(hl_require(&loop, "nope", "file:///app/main", &m), HL_EMODULENOTFOUND);
  char want[4096];
  snprintf(want, sizeof want,
           "Cannot find module 'nope' imported from file:///app/main\n"
           "  no file '%s/nothing/nope'\n"
           "  no file '%s/nothing/nope.so'\n"
           "  no file '%s/env/nope'\n"
           "  no file '%s/env/nope.so'\n"
           "  no file '%s/conf/nope'\n"
           "  no file '%s/conf/nope.so'",
           tmp, tmp, tmp, tmp, tmp, tmp);
  cr_assert_str_eq(hl_module_last_error(&loop), want);
  unsetenv("HL_MODULE_PATH");
  cr_assert_eq(hl_module_add_path(&loop, ""), HL_EINVAL);
  cr_assert_eq(hl_module_add_path(NULL, "/x"), HL_EINVAL);
  rmtmp();
}

Test(module, relative_absolute_and_file_urls_not_found_messages) {
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "../x/missing", "file:///a/b/main", &m), HL_EMODULENOTFOUND);
  cr_assert_str_eq(hl_module_last_error(&loop),
                   "Cannot find module '../x/missing' imported from file:///a/b/main\n"
                   "  no file '/a/x/missing'\n"
                   "  no file '/a/x/missing.so'");
  cr_assert_eq(hl_require(&loop, "/no/such.so", NULL, &m), HL_EMODULENOTFOUND);
  cr_assert_str_eq(hl_module_last_error(&loop), "Cannot find module '/no/such.so' imported from "
                                                "(top level)\n  no file '/no/such.so'");
  cr_assert_eq(hl_require(&loop, "file:///no/such%20file", NULL, &m), HL_EMODULENOTFOUND);
  cr_assert(strstr(hl_module_last_error(&loop), "no file '/no/such file'"));
  cr_assert_eq(hl_require(&loop, "nope", NULL, &m), HL_EMODULENOTFOUND);
  cr_assert(strstr(hl_module_last_error(&loop), "no directory to search"));
  /* a URL nobody serves: the default loader only reads file: URLs */
  cr_assert_eq(hl_require(&loop, "mem:thing", NULL, &m), HL_ENOTSUP);
  cr_assert(strstr(hl_module_last_error(&loop), "Received protocol 'mem:'"));
  /* relative to the working directory when there is no parent */
  char cwd[1024];
  cr_assert_not_null(getcwd(cwd, sizeof cwd));
  cr_assert_eq(chdir(HL_TEST_DATA), 0);
  cr_assert_eq(hl_require(&loop, "./sub/inner.json", NULL, &m), 0);
  cr_assert_str_eq(hl_module_url(m), DATA "sub/inner.json");
  cr_assert_eq(chdir(cwd), 0);
  /* file: URL with percent-encoding resolves to the same module */
  hl_module_t *m2;
  cr_assert_eq(hl_require(&loop, "file://" HL_TEST_DATA "/sub/%69nner.json", NULL, &m2), 0);
  cr_assert_eq(m2, m);
  cr_assert_eq(hl_module_cache_size(&loop), 1);
}

Test(module, invalid_arguments) {
  hl_module_t *m = (hl_module_t *)1;
  cr_assert_eq(hl_require(NULL, "x", NULL, &m), HL_EINVAL);
  cr_assert_null(m);
  cr_assert_eq(hl_require(&loop, NULL, NULL, &m), HL_EINVAL);
  cr_assert_eq(hl_require(&loop, "x", NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_import(NULL, "x", NULL, (hl_import_cb)1, NULL), HL_EINVAL);
  cr_assert_eq(hl_import(&loop, NULL, NULL, (hl_import_cb)1, NULL), HL_EINVAL);
  cr_assert_eq(hl_import(&loop, "x", NULL, NULL, NULL), HL_EINVAL);
  hl_promise_t *p = (hl_promise_t *)1;
  cr_assert_eq(hl_import_promise(&loop, NULL, NULL, &p), HL_EINVAL);
  cr_assert_null(p);
  cr_assert_null(hl_module_last_error(NULL));
  cr_assert_str_eq(hl_module_last_error(&loop), "");
  cr_assert_eq(hl_module_cache_size(NULL), HL_EINVAL);
  cr_assert_null(hl_module_url(NULL));
  cr_assert_null(hl_module_format(NULL));
  cr_assert_null(hl_module_loop(NULL));
  cr_assert_eq(hl_module_register(NULL, "x", NULL, NULL, 0), HL_EINVAL);
  cr_assert_eq(hl_module_register(&loop, NULL, NULL, NULL, 0), HL_EINVAL);
  cr_assert_eq(hl_module_register(&loop, "x", NULL, NULL, 3), HL_EINVAL);
  cr_assert_eq(hl_module_register_hooks(&loop, NULL, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_module_register_hooks(&loop, &(hl_module_hooks_t){0}, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_module_hooks_deregister(NULL), HL_EINVAL);
  cr_assert_eq(hl_module_next_resolve(NULL, "x", NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_module_next_load(NULL, "x", NULL, NULL), HL_EINVAL);
  cr_assert_null(hl_module_chain_alloc(NULL, 1));
  cr_assert_null(hl_module_chain_strdup(NULL, "x"));
  cr_assert_eq(hl_module_chain_fail(NULL, 5, "x"), HL_EINVAL);
}

/* ---- import ---------------------------------------------------------------- */

typedef struct {
  int calls, status;
  hl_module_t *m;
  char msg[512];
  hl_async_id_t exec, trigger;
  void *store;
} imp_t;

static hl_als_t als;

static void on_import(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  imp_t *r = arg;
  r->calls++;
  r->status = status;
  r->m = m;
  if (err)
    snprintf(r->msg, sizeof r->msg, "%s", err->message);
  r->exec = hl_execution_async_id();
  r->trigger = hl_trigger_async_id();
  r->store = hl_als_get_store(&als);
}

static imp_t ok_r, bad_r;
static void start_imports(void *arg) {
  (void)arg;
  cr_assert_eq(hl_import(&loop, "./config.json", DATA "main", on_import, &ok_r), 0);
  cr_assert_eq(hl_import(&loop, "./missing.json", DATA "main", on_import, &bad_r), 0);
}

Test(module, import_is_a_modulereq_in_the_importers_context) {
  cr_assert_eq(hl_loop_close(&loop), 0);
  hl_rec_t rec;
  static hl_log_t log;
  cr_assert_eq(hl_rec_start(&loop, &rec, &log, 0), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  memset(&ok_r, 0, sizeof ok_r);
  memset(&bad_r, 0, sizeof bad_r);
  static int store;
  cr_assert_eq(hl_als_run(&als, &store, start_imports, NULL), 0);
  cr_assert_eq(ok_r.calls, 0, "never called inside hl_import");
  cr_assert_eq(bad_r.calls, 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(ok_r.calls, 1);
  cr_assert_eq(ok_r.status, 0);
  cr_assert_str_eq(hl_module_url(ok_r.m), DATA "config.json");
  cr_assert_eq(ok_r.store, &store, "the importer's async-local store");
  cr_assert_eq(ok_r.trigger, 1, "triggered by the top level that imported");
  const hl_ev_t *init = hl_log_init_of(&log, ok_r.exec);
  cr_assert_not_null(init);
  cr_assert_str_eq(init->type, "MODULEREQ");
  cr_assert_eq(hl_log_count(&log, EV_BEFORE, ok_r.exec), 1);
  cr_assert_eq(hl_log_count(&log, EV_AFTER, ok_r.exec), 1);
  cr_assert_eq(hl_log_count(&log, EV_DESTROY, ok_r.exec), 1);
  cr_assert_eq(bad_r.calls, 1);
  cr_assert_eq(bad_r.status, HL_EMODULENOTFOUND);
  cr_assert_null(bad_r.m);
  cr_assert(strstr(bad_r.msg, "Cannot find module './missing.json'"), "%s", bad_r.msg);
  cr_assert_eq(bad_r.store, &store);
  cr_assert_eq(hl_log_count_type(&log, "MODULEREQ"), 2);
  cr_assert_eq(hl_module_cache_size(&loop), 1, "nothing cached from the failure");
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  hl_hook_destroy(rec.hook);
}

static hl_module_t *promised;
static void on_fulfilled(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  promised = value;
}
static int rejected_code;
static void on_rejected(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)value;
  hl_promise_t *p = arg;
  rejected_code = hl_promise_error(p)->code;
}

Test(module, import_promise) {
  hl_promise_t *p, *q;
  cr_assert_eq(hl_import_promise(&loop, FX "plugin_ok.so", NULL, &p), 0);
  cr_assert_eq(hl_promise_then(p, on_fulfilled, NULL, NULL, NULL), 0);
  cr_assert_eq(hl_import_promise(&loop, FX "nothing.so", NULL, &q), 0);
  cr_assert_eq(hl_promise_retain(q), 0);
  cr_assert_eq(hl_promise_catch(q, on_rejected, q, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_not_null(promised);
  cr_assert_eq(*(int *)hl_module_get(promised, "answer"), 42);
  cr_assert_eq(rejected_code, HL_EMODULENOTFOUND);
  cr_assert(strstr(hl_promise_error(q)->message, "nothing.so"));
  hl_promise_release(q);
}

static int cache_hits;
static void count_cb(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  (void)err;
  cr_assert_eq(status, 0);
  cr_assert_eq(m, arg);
  cache_hits++;
}

Test(module, import_of_a_cached_module_is_still_deferred) {
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, DATA "hello.txt", NULL, &m), 0);
  cr_assert_eq(hl_import(&loop, DATA "hello.txt", NULL, count_cb, m), 0);
  cr_assert_eq(hl_import(&loop, DATA "hello.txt", NULL, count_cb, m), 0);
  cr_assert_eq(cache_hits, 0);
  cr_assert_eq(hl_loop_close(&loop), HL_EBUSY, "pending imports keep the loop busy");
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(cache_hits, 2);
}
