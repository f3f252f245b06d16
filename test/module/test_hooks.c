/* test/module/test_hooks.c - resolve/load hook chains (Node's customization
 * hooks, test/es-module/test-esm-loader-chaining.mjs adapted): chains of three
 * in both registration styles run last-registered first and end in the
 * defaults; in-thread hooks run before off-thread ones; aliases; a JSON module
 * served from a table; a native plugin served from memory; short circuit;
 * context merging in next; every error (chain incomplete, invalid return
 * properties, invalid next arguments, hook failures, unknown format) with
 * Node's wording adapted and nothing cached; deregister; concurrent imports
 * loading once on the hooks thread; and the seed's initialize({number, port})
 * example, with the reply coming back to the loop thread.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "child.h"
#include "counting.h"

#define FX   "file://" HL_FIXTURES "/"
#define DATA "file://" HL_TEST_DATA "/"

static hl_loop_t loop;
static char trace[1024];

static void note(const char *s) {
  strncat(trace, s, sizeof trace - strlen(trace) - 1);
  strncat(trace, " ", sizeof trace - strlen(trace) - 1);
}

static void setup(void) {
  unsetenv("HL_MODULE_PATH");
  trace[0] = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
}
static void teardown(void) {
  cr_assert_eq(hl_loop_close(&loop), 0);
}
TestSuite(hooks, .init = setup, .fini = teardown);

/* ---- in-thread hooks ------------------------------------------------------- */

/* Pass-through hooks that log "<r|l>:<tag>" and rewrite "@<tag>/x" to "x". */
static int tag_resolve(const char *spec, const hl_module_resolve_context_t *ctx,
                       hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out) {
  const char *tag = arg;
  char buf[32];
  snprintf(buf, sizeof buf, "r:%s", tag);
  note(buf);
  size_t n = strlen(tag);
  if (spec[0] == '@' && strncmp(spec + 1, tag, n) == 0 && spec[1 + n] == '/')
    spec += n + 2;
  return hl_module_next_resolve(next, spec, ctx, out);
}

static int tag_load(const char *url, const hl_module_load_context_t *ctx, hl_module_chain_t *next,
                    void *arg, hl_module_load_result_t *out) {
  char buf[32];
  snprintf(buf, sizeof buf, "l:%s", (const char *)arg);
  note(buf);
  return hl_module_next_load(next, url, ctx, out);
}

static const hl_module_hooks_t tag_hooks = {NULL, tag_resolve, tag_load};

Test(hooks, three_in_thread_hooks_run_last_registered_first) {
  hl_module_hooks_handle_t *h[3];
  const char *tags[3] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++)
    cr_assert_eq(hl_module_register_hooks(&loop, &tag_hooks, (void *)tags[i], &h[i]), 0);
  hl_module_t *m;
  /* "@c/@b/@a/./config.json": c strips its prefix, then b, then a */
  cr_assert_eq(hl_require(&loop, "@c/@b/@a/./config.json", DATA "main", &m), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_url(m), DATA "config.json");
  cr_assert_str_eq(trace, "r:c r:b r:a l:c l:b l:a ");
  /* the wrong alias order reaches the default unchanged */
  cr_assert_eq(hl_require(&loop, "@a/@b/x", DATA "main", &m), HL_EMODULENOTFOUND);
  /* deregister the middle one: c then a */
  cr_assert_eq(hl_module_hooks_deregister(h[1]), 0);
  cr_assert_eq(hl_module_hooks_deregister(h[1]), HL_EINVAL);
  trace[0] = 0;
  cr_assert_eq(hl_require(&loop, "./hello.txt", DATA "main", &m), 0);
  cr_assert_str_eq(trace, "r:c r:a l:c l:a ");
  /* a cached module is resolved again but not loaded again */
  trace[0] = 0;
  cr_assert_eq(hl_require(&loop, "./hello.txt", DATA "main", &m), 0);
  cr_assert_str_eq(trace, "r:c r:a ");
}

/* A JSON module served from a table, a native plugin served from memory. */
typedef struct {
  const char *name, *json;
} row_t;
static const row_t table[] = {{"settings", "{\"debug\": true}"}, {"users", "[1, 2, 3]"}};
static void *plugin_bytes;
static size_t plugin_len;

static int table_resolve(const char *spec, const hl_module_resolve_context_t *ctx,
                         hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out) {
  (void)arg;
  if (strncmp(spec, "table/", 6) == 0) {
    out->url = hl_module_chain_strdup(next, spec); /* hooks may build strings */
    char *u = hl_module_chain_alloc(next, strlen(spec) + 8);
    sprintf(u, "table:%s", spec + 6);
    out->url = u;
    out->format = "json";
    out->short_circuit = 1;
    return 0;
  }
  if (strcmp(spec, "mem:plugin") == 0) {
    out->url = "mem:plugin";
    out->format = "native";
    out->short_circuit = 1;
    return 0;
  }
  return hl_module_next_resolve(next, spec, ctx, out);
}

static int table_load(const char *url, const hl_module_load_context_t *ctx, hl_module_chain_t *next,
                      void *arg, hl_module_load_result_t *out) {
  int *loads = arg;
  if (strncmp(url, "table:", 6) == 0) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
      if (strcmp(url + 6, table[i].name) == 0) {
        ++*loads;
        out->format = ctx->format;
        out->source = table[i].json;
        out->length = strlen(table[i].json);
        out->short_circuit = 1;
        return 0;
      }
    return hl_module_chain_fail(next, HL_EMODULENOTFOUND, "no row '%s' in the table", url + 6);
  }
  if (strcmp(url, "mem:plugin") == 0) {
    ++*loads;
    out->format = "native";
    out->source = plugin_bytes;
    out->length = plugin_len;
    out->short_circuit = 1;
    return 0;
  }
  return hl_module_next_load(next, url, ctx, out);
}

static void read_file(const char *path, void **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  *buf = malloc(*len);
  cr_assert_eq(fread(*buf, 1, *len, f), *len);
  fclose(f);
}

Test(hooks, json_from_a_table_and_a_plugin_from_memory_with_short_circuit) {
  int loads = 0;
  hl_module_hooks_t hooks = {"table", table_resolve, table_load};
  cr_assert_eq(hl_module_register_hooks(&loop, &hooks, &loads, NULL), 0);
  hl_module_t *m, *m2;
  cr_assert_eq(hl_require(&loop, "table/settings", NULL, &m), 0, "%s", hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_url(m), "table:settings");
  cr_assert_str_eq(hl_module_format(m), "json");
  cr_assert_str_eq(hl_module_source(m, NULL), "{\"debug\": true}");
  cr_assert_eq(hl_require(&loop, "table/settings", NULL, &m2), 0);
  cr_assert_eq(m2, m);
  cr_assert_eq(loads, 1);
  cr_assert_eq(hl_require(&loop, "table/nothing", NULL, &m), HL_EMODULENOTFOUND);
  cr_assert_str_eq(hl_module_last_error(&loop), "no row 'nothing' in the table");

  /* the bytes are read here, by the "archive"; the loader gets only memory */
  read_file(HL_FIXTURES "/plugin_ok.so", &plugin_bytes, &plugin_len);
  cr_assert_eq(hl_require(&loop, "mem:plugin", NULL, &m), 0, "%s", hl_module_last_error(&loop));
  free(plugin_bytes);
  plugin_bytes = NULL;
  cr_assert_str_eq(hl_module_url(m), "mem:plugin");
  cr_assert_str_eq(hl_module_format(m), "native");
  cr_assert_eq(*(int *)hl_module_get(m, "answer"), 42);
  /* its own copy: the file-loaded one is another module with its own init */
  cr_assert_eq(hl_require(&loop, FX "plugin_ok.so", NULL, &m2), 0);
  cr_assert_neq(m2, m);
  cr_assert_eq(*(int *)hl_module_get(m2, "inits"), 1);
  cr_assert_neq(hl_module_get(m2, "inits"), hl_module_get(m, "inits"));
}

/* Context merging: next gets the original context with the given fields over it. */
static const char *seen_parent, *seen_attrs;
static int merge_resolve(const char *spec, const hl_module_resolve_context_t *ctx,
                         hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out) {
  (void)arg;
  hl_module_resolve_context_t c = {NULL, DATA "sub/x", NULL}; /* parent only */
  (void)ctx;
  return hl_module_next_resolve(next, spec, &c, out);
}
static int spy_resolve(const char *spec, const hl_module_resolve_context_t *ctx,
                       hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out) {
  (void)arg;
  seen_parent = hl_module_chain_strdup(next, ctx->parent_url);
  seen_attrs = hl_module_chain_strdup(next, ctx->attributes);
  cr_assert_str_eq(ctx->conditions[0], "hookloop");
  cr_assert_str_eq(ctx->conditions[1], "require");
  cr_assert_null(ctx->conditions[2]);
  int rc = hl_module_next_resolve(next, spec, NULL, out);
  seen_parent = strdup(seen_parent);
  seen_attrs = strdup(seen_attrs);
  return rc;
}

Test(hooks, next_merges_the_context_over_the_original) {
  cr_assert_eq(
      hl_module_register_hooks(&loop, &(hl_module_hooks_t){"spy", spy_resolve, NULL}, NULL, NULL),
      0);
  cr_assert_eq(hl_module_register_hooks(&loop, &(hl_module_hooks_t){"merge", merge_resolve, NULL},
                                        NULL, NULL),
               0);
  hl_module_t *m;
  cr_assert_eq(hl_require_with(&loop, "./inner.json", DATA "main", "type=json", &m), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(seen_parent, DATA "sub/x");
  cr_assert_str_eq(seen_attrs, "type=json", "kept from the original");
  cr_assert_str_eq(hl_module_url(m), DATA "sub/inner.json");
  cr_assert_str_eq(hl_module_attributes(m), "type=json");
  free((void *)seen_parent);
  free((void *)seen_attrs);
}

/* ---- every failure ---------------------------------------------------------- */

static int bad_resolve(const char *spec, const hl_module_resolve_context_t *ctx,
                       hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out) {
  (void)arg;
  if (!strcmp(spec, "incomplete")) {
    out->url = "file:///x";
    return 0;
  }
  if (!strcmp(spec, "no-url")) {
    out->short_circuit = 1;
    return 0;
  }
  if (!strcmp(spec, "bad-url")) {
    out->url = "not a url";
    out->short_circuit = 1;
    return 0;
  }
  if (!strcmp(spec, "next-null"))
    return hl_module_next_resolve(next, NULL, ctx, out);
  if (!strcmp(spec, "next-wrong-phase"))
    return hl_module_next_load(next, "file:///x", NULL, (hl_module_load_result_t *)out);
  if (!strcmp(spec, "fails"))
    return HL_ENOENT;
  if (!strcmp(spec, "recovers")) {
    int rc = hl_module_next_resolve(next, "./missing", ctx, out);
    cr_assert_eq(rc, HL_EMODULENOTFOUND);
    return hl_module_next_resolve(next, "./hello.txt", ctx, out);
  }
  if (!strncmp(spec, "srv:", 4)) {
    out->url = spec;
    out->short_circuit = 1;
    return 0;
  }
  return hl_module_next_resolve(next, spec, ctx, out);
}

static int bad_load(const char *url, const hl_module_load_context_t *ctx, hl_module_chain_t *next,
                    void *arg, hl_module_load_result_t *out) {
  (void)arg;
  if (!strcmp(url, "srv:incomplete")) {
    out->format = "text";
    out->source = "x";
    out->length = 1;
    return 0;
  }
  if (!strcmp(url, "srv:no-format")) {
    out->source = "x";
    out->short_circuit = 1;
    return 0;
  }
  if (!strcmp(url, "srv:no-source")) {
    out->format = "json";
    out->short_circuit = 1;
    return 0;
  }
  if (!strcmp(url, "srv:native-no-source")) {
    out->format = "native";
    out->short_circuit = 1;
    return 0;
  }
  if (!strcmp(url, "srv:unknown-format")) {
    out->format = "wasm";
    out->source = "x";
    out->length = 1;
    out->short_circuit = 1;
    return 0;
  }
  if (!strcmp(url, "srv:next-bad-url"))
    return hl_module_next_load(next, "no url", ctx, out);
  if (!strcmp(url, "srv:next-null-url"))
    return hl_module_next_load(next, NULL, ctx, out);
  return hl_module_next_load(next, url, ctx, out);
}

static void expect_fail(const char *spec, int code, const char *msg) {
  hl_module_t *m = (hl_module_t *)1;
  int n = hl_module_cache_size(&loop);
  cr_assert_eq(hl_require(&loop, spec, DATA "main", &m), code, "%s: %s (%s)", spec,
               hl_err_name(hl_require(&loop, spec, DATA "main", &m)), hl_module_last_error(&loop));
  cr_assert_null(m);
  cr_assert_str_eq(hl_module_last_error(&loop), msg, "%s", spec);
  cr_assert_eq(hl_module_cache_size(&loop), n, "nothing cached from a failure");
}

Test(hooks, every_failure_with_nodes_wording) {
  hl_module_hooks_handle_t *h;
  cr_assert_eq(
      hl_module_register_hooks(&loop, &(hl_module_hooks_t){"bad", bad_resolve, bad_load}, NULL, &h),
      0);
  expect_fail("incomplete", HL_ELOADERCHAININCOMPLETE,
              "bad 'resolve' did not call the next hook in its chain and did not explicitly "
              "signal a short circuit. If this is intentional, set short_circuit in the hook's "
              "result.");
  expect_fail("srv:incomplete", HL_ELOADERCHAININCOMPLETE,
              "bad 'load' did not call the next hook in its chain and did not explicitly signal a "
              "short circuit. If this is intentional, set short_circuit in the hook's result.");
  expect_fail("no-url", HL_EINVALIDRETURN,
              "Expected a URL string to be returned for the \"url\" from the \"bad 'resolve'\" "
              "hook but got NULL.");
  expect_fail("bad-url", HL_EINVALIDRETURN,
              "Expected a URL string to be returned for the \"url\" from the \"bad 'resolve'\" "
              "hook but got 'not a url'.");
  expect_fail("srv:no-format", HL_EINVALIDRETURN,
              "Expected a string to be returned for the \"format\" from the \"bad 'load'\" hook "
              "but got NULL.");
  expect_fail("srv:no-source", HL_EINVALIDRETURN,
              "Expected bytes (source and length) to be returned for the \"source\" from the "
              "\"bad 'load'\" hook but got NULL.");
  expect_fail("srv:native-no-source", HL_EINVALIDRETURN,
              "Expected bytes (source and length) to be returned for the \"source\" from the "
              "\"bad 'load'\" hook but got NULL.");
  expect_fail("srv:unknown-format", HL_EUNKNOWNFORMAT,
              "Unknown module format: wasm for URL srv:unknown-format (expected native, json, "
              "text or binary)");
  expect_fail("next-null", HL_EINVAL,
              "The \"bad 'resolve' specifier\" argument must be of type string. Received NULL");
  expect_fail("next-wrong-phase", HL_EINVAL,
              "The \"bad 'resolve' next\" argument of hl_module_next_load must come from a "
              "'load' hook. Received the next of a 'resolve' hook");
  expect_fail("srv:next-bad-url", HL_EINVAL,
              "The argument 'bad 'load' url' should be a URL string. Received 'no url'");
  expect_fail("srv:next-null-url", HL_EINVAL,
              "The \"bad 'load' url\" argument must be a URL string. Received NULL");
  expect_fail("fails", HL_ENOENT, "bad 'resolve' failed: no such file or directory (ENOENT)");
  /* a hook may recover from an error of next */
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "recovers", DATA "main", &m), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_url(m), DATA "hello.txt");
  /* nothing was cached from the failures: once the hooks are gone, the
   * default serves the same name */
  cr_assert_eq(hl_module_hooks_deregister(h), 0);
  cr_assert_eq(hl_require(&loop, "./config.json", DATA "main", &m), 0);
}

/* ---- off-thread hooks -------------------------------------------------------- */

typedef struct {
  char text[512];
} tag_log_t;

Test(hooks, three_off_thread_hooks_and_in_thread_hooks_first) {
  static tag_log_t log;
  tag_log_t *lp = &log;
  const char *objs[3] = {FX "hooks_tag_a.so", FX "hooks_tag_b.so", FX "hooks_tag_c.so"};
  for (int i = 0; i < 3; i++)
    cr_assert_eq(hl_module_register(&loop, objs[i], NULL, &lp, sizeof lp), 0, "%s",
                 hl_module_last_error(&loop));
  /* each registration went through the hooks registered before it, as Node's */
  cr_assert_str_eq(log.text, "resolve:a load:a resolve:b resolve:a load:b load:a ");
  log.text[0] = 0;
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "@c/@b/@a/./config.json", DATA "main", &m), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_url(m), DATA "config.json");
  cr_assert_str_eq(log.text, "resolve:c resolve:b resolve:a load:c load:b load:a ");
  /* in-thread hooks run first; their next enters the off-thread chain */
  log.text[0] = 0;
  cr_assert_eq(hl_module_register_hooks(&loop, &tag_hooks, "x", NULL), 0);
  cr_assert_eq(hl_require(&loop, "@x/@c/./hello.txt", DATA "main", &m), 0, "%s",
               hl_module_last_error(&loop));
  cr_assert_str_eq(trace, "r:x l:x ");
  cr_assert_str_eq(log.text, "resolve:c resolve:b resolve:a load:c load:b load:a ");
}

static int alias_resolve(const char *spec, const hl_module_resolve_context_t *ctx,
                         hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out) {
  (void)arg;
  if (!strcmp(spec, "hooks:count"))
    spec = FX "hooks_count.so";
  return hl_module_next_resolve(next, spec, ctx, out);
}

static int *count_sym(const char *name) {
  void *h = dlopen(HL_FIXTURES "/hooks_count.so", RTLD_NOW | RTLD_NOLOAD);
  cr_assert_not_null(h, "the hooks object is loaded");
  int *p = dlsym(h, name);
  dlclose(h);
  return p;
}

typedef struct {
  int n, status;
  hl_module_t *m[4];
  uv_thread_t thread;
} many_t;

static void on_many(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  many_t *r = arg;
  cr_assert_eq(status, 0, "%s", err ? err->message : "");
  r->m[r->n++] = m;
}

Test(hooks, register_goes_through_earlier_hooks_and_hooks_run_on_their_thread) {
  cr_assert_eq(hl_module_register_hooks(&loop, &(hl_module_hooks_t){"alias", alias_resolve, NULL},
                                        NULL, NULL),
               0);
  cr_assert_eq(hl_module_register(&loop, "hooks:count", NULL, NULL, 0), 0, "%s",
               hl_module_last_error(&loop));
  int *resolves = count_sym("hooks_count_resolves");
  int *loads = count_sym("hooks_count_loads");
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "./config.json", DATA "main", &m), 0);
  cr_assert_eq(*resolves, 1);
  cr_assert_eq(*loads, 1);
  uv_thread_t self = uv_thread_self();
  uv_thread_t *hooks_thread = (uv_thread_t *)count_sym("hooks_count_thread");
  cr_assert(!uv_thread_equal(&self, hooks_thread), "hooks ran on another thread");
}

static void on_fail(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  ++*(int *)arg;
  cr_assert_eq(status, HL_EMODULENOTFOUND);
  cr_assert_null(m);
  cr_assert(strstr(err->message, "Cannot find module './missing.json'"), "%s", err->message);
}

Test(hooks, concurrent_async_imports_of_one_url_load_it_once) {
  cr_assert_eq(hl_module_register(&loop, FX "hooks_count.so", NULL, NULL, 0), 0, "%s",
               hl_module_last_error(&loop));
  int *resolves = count_sym("hooks_count_resolves");
  int *loads = count_sym("hooks_count_loads");
  many_t r = {0};
  cr_assert_eq(hl_import(&loop, "./config.json", DATA "main", on_many, &r), 0);
  cr_assert_eq(hl_import(&loop, "./sub/../config.json", DATA "main", on_many, &r), 0);
  cr_assert_eq(hl_import(&loop, DATA "config.json", NULL, on_many, &r), 0);
  cr_assert_eq(r.n, 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(r.n, 3);
  cr_assert_eq(r.m[0], r.m[1]);
  cr_assert_eq(r.m[1], r.m[2]);
  cr_assert_eq(*resolves, 3);
  cr_assert_eq(*loads, 1, "loaded once");
  cr_assert_eq(hl_module_cache_size(&loop), 1);
  /* and an import failing off-thread reports through the callback */
  static int failed;
  cr_assert_eq(hl_import(&loop, "./missing.json", DATA "main", on_fail, &failed), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(failed, 1);
  cr_assert_eq(*resolves, 4);
  cr_assert_eq(*loads, 1);
}

Test(hooks, off_thread_errors_name_the_hooks_object) {
  cr_assert_eq(hl_module_register(&loop, FX "hooks_fail.so", NULL, NULL, 0), 0);
  expect_fail("incomplete", HL_ELOADERCHAININCOMPLETE,
              FX "hooks_fail.so 'resolve' did not call the next hook in its chain and did not "
                 "explicitly signal a short circuit. If this is intentional, set short_circuit in "
                 "the hook's result.");
  expect_fail("no-url", HL_EINVALIDRETURN,
              "Expected a URL string to be returned for the \"url\" from the \"" FX
              "hooks_fail.so 'resolve'\" hook but got NULL.");
}

Test(hooks, register_failures) {
  hl_module_t *m;
  cr_assert_eq(hl_module_register(&loop, "./nothing.so", FX "x", NULL, 0), HL_EMODULENOTFOUND);
  cr_assert(strstr(hl_module_last_error(&loop), "Cannot find module './nothing.so'"));
  cr_assert_eq(hl_module_register(&loop, FX "plugin_noabi.so", NULL, NULL, 0), HL_EABIVERSION);
  /* hooks_tag's initialize refuses data of the wrong size: nothing added */
  cr_assert_eq(hl_module_register(&loop, FX "hooks_tag_a.so", NULL, "x", 1), HL_EINVAL);
  cr_assert_str_eq(hl_module_last_error(&loop),
                   FX "hooks_tag_a.so 'initialize' failed: invalid argument (EINVAL)");
  cr_assert_eq(hl_require(&loop, "@a/./config.json", DATA "main", &m), HL_EMODULENOTFOUND,
               "the refused hooks are not in the chain");
  /* a data module cannot be a hooks object */
  cr_assert_eq(hl_module_register(&loop, DATA "hello.txt", NULL, NULL, 0), HL_EBADMODULE);
}

/* ---- the seed: initialize({ number, port }) -------------------------------------- */

typedef struct {
  int number;
  uv_async_t *port;
  int *reply;
  uv_thread_t *thread;
} seed_data_t;

static int reply_seen;
static void on_reply(uv_async_t *h) {
  reply_seen = *(int *)h->data;
  uv_close((uv_handle_t *)h, NULL);
}

Test(hooks, seed_initialize_number_and_port) {
  static uv_async_t port;
  static int reply;
  static uv_thread_t hooks_thread;
  cr_assert_eq(uv_async_init(hl_loop_uv(&loop), &port, on_reply), 0);
  port.data = &reply;
  seed_data_t data = {42, &port, &reply, &hooks_thread};
  cr_assert_eq(hl_module_register(&loop, FX "hooks_seed.so", NULL, &data, sizeof data), 0, "%s",
               hl_module_last_error(&loop));
  /* the reply comes back to the loop thread through the port */
  cr_assert_eq(reply_seen, 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(reply_seen, 43);
  uv_thread_t self = uv_thread_self();
  cr_assert(!uv_thread_equal(&self, &hooks_thread), "initialize ran on the hooks thread");
  /* the number is what the hooks now serve */
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "number:", NULL, &m), 0, "%s", hl_module_last_error(&loop));
  cr_assert_str_eq(hl_module_url(m), "number:value");
  cr_assert_str_eq(hl_module_format(m), "text");
  cr_assert_str_eq(hl_module_source(m, NULL), "42");
  /* and everything else goes through to the defaults */
  cr_assert_eq(hl_require(&loop, "./config.json", DATA "main", &m), 0);
}

/* ---- exit, leaks ------------------------------------------------------------ */

static void exit_with_hooks_busy(void *arg) {
  (void)arg;
  hl_loop_t l;
  hl_loop_init(&l);
  if (hl_module_register(&l, FX "hooks_count.so", NULL, NULL, 0))
    exit(10);
  /* an import in flight on the hooks thread, then exit without closing */
  if (hl_import(&l, "./config.json", DATA "main", on_many, &(many_t){0}))
    exit(11);
  printf("exiting\n");
  fflush(stdout);
  exit(3);
}

Test(hooks, the_hooks_thread_is_not_waited_for_at_exit) {
  hl_child_result_t r;
  hl_child_run(exit_with_hooks_busy, NULL, &r);
  cr_assert(r.exited);
  cr_assert_eq(r.code, 3, "%s", r.err);
  cr_assert_str_eq(r.out, "exiting\n");
}

static void on_any(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  (void)m;
  (void)err;
  ++*(int *)arg;
  cr_assert_eq(status, 0, "%s", err ? err->message : "");
}

Test(hooks, imports_through_both_chains_and_no_leaks) {
  cr_assert_eq(hl_loop_close(&loop), 0);
  hl_counting_on();
  cr_assert_eq(hl_loop_init(&loop), 0);
  static tag_log_t log;
  tag_log_t *lp = &log;
  cr_assert_eq(hl_module_register(&loop, FX "hooks_tag_a.so", NULL, &lp, sizeof lp), 0);
  hl_module_hooks_handle_t *h;
  cr_assert_eq(hl_module_register_hooks(&loop, &tag_hooks, "x", &h), 0);
  int done = 0;
  /* in-thread hooks present: the import hops to the hooks thread synchronously */
  cr_assert_eq(hl_import(&loop, "@x/@a/./config.json", DATA "main", on_any, &done), 0);
  cr_assert_eq(hl_import(&loop, FX "plugin_ok.so", NULL, on_any, &done), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(done, 2);
  cr_assert_str_eq(trace, "r:x l:x r:x l:x ");
  cr_assert_str_eq(log.text, "resolve:a load:a resolve:a load:a ");
  /* once deregistered, imports run fully off-thread */
  cr_assert_eq(hl_module_hooks_deregister(h), 0);
  cr_assert_eq(hl_import(&loop, "@a/./hello.txt", DATA "main", on_any, &done), 0);
  hl_module_t *m;
  cr_assert_eq(hl_require(&loop, "./missing", DATA "main", &m), HL_EMODULENOTFOUND);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(done, 3);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "every allocation freed");
  hl_counting_off();
  cr_assert_eq(hl_loop_init(&loop), 0);
}
