/* bench/module/bench_module.c - load a generated graph of modules (a 10-ary
 * tree, json or native, written by bench/module/run) and print microseconds
 * per module:
 *
 *   hl-bench-module <graph-dir> <json|native> <hooks> <inthread|thread> <hooks.so>
 *
 * inthread: <hooks> pass-through hooks registered with hl_module_register_hooks
 *           (or none), the graph walked with hl_require (depth first);
 * thread:   <hooks> registrations of the pass-through hooks object with
 *           hl_module_register (hooks thread), the graph walked with
 *           hl_import (every child imported when its parent arrives).
 * Registration is not timed (Node's --import registration is not either).
 * One process per measurement: the cache starts empty.
 */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static hl_loop_t loop;
static int loaded, failed;

static int pass_resolve(const char *s, const hl_module_resolve_context_t *c, hl_module_chain_t *n,
                        void *a, hl_module_resolve_result_t *o) {
  (void)a;
  return hl_module_next_resolve(n, s, c, o);
}
static int pass_load(const char *u, const hl_module_load_context_t *c, hl_module_chain_t *n,
                     void *a, hl_module_load_result_t *o) {
  (void)a;
  return hl_module_next_load(n, u, c, o);
}

/* The children of a module: native "deps" export, or the json "deps" list. */
static int deps_of(hl_module_t *m, const char **out, char bufs[][32]) {
  int k = 0;
  if (strcmp(hl_module_format(m), "native") == 0) {
    const char **d = hl_module_get(m, "deps");
    while (d && d[k] && k < 10) {
      out[k] = d[k];
      k++;
    }
    return k;
  }
  const char *p = strstr(hl_module_source(m, NULL), "\"deps\"");
  while (p && (p = strstr(p, "\"./")) != NULL && k < 10) {
    const char *e = strchr(p + 1, '"');
    if (!e || e - p - 1 >= 32)
      break;
    memcpy(bufs[k], p + 1, (size_t)(e - p - 1));
    bufs[k][e - p - 1] = 0;
    out[k] = bufs[k];
    k++;
    p = e + 1;
  }
  return k;
}

static void walk_sync(const char *spec, const char *parent) {
  hl_module_t *m;
  int before = hl_module_cache_size(&loop);
  if (hl_require(&loop, spec, parent, &m)) {
    fprintf(stderr, "require %s: %s\n", spec, hl_module_last_error(&loop));
    failed++;
    return;
  }
  if (hl_module_cache_size(&loop) == before)
    return; /* already there */
  loaded++;
  const char *d[10];
  char bufs[10][32];
  int n = deps_of(m, d, bufs);
  for (int i = 0; i < n; i++)
    walk_sync(d[i], hl_module_url(m));
}

static void on_import(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  (void)arg;
  if (status) {
    fprintf(stderr, "import: %s\n", err->message);
    failed++;
    return;
  }
  loaded++;
  const char *d[10];
  char bufs[10][32];
  int n = deps_of(m, d, bufs);
  for (int i = 0; i < n; i++)
    if (hl_import(&loop, d[i], hl_module_url(m), on_import, NULL))
      failed++;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s graph-dir json|native hooks inthread|thread hooks.so\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1], *fmt = argv[2], *where = argv[4], *hooks_so = argv[5];
  int nhooks = atoi(argv[3]);
  int threaded = strcmp(where, "thread") == 0;
  if (hl_loop_init(&loop))
    return 1;
  static const hl_module_hooks_t pass = {"pass", pass_resolve, pass_load};
  for (int i = 0; i < nhooks; i++) {
    int rc = threaded ? hl_module_register(&loop, hooks_so, NULL, NULL, 0)
                      : hl_module_register_hooks(&loop, &pass, NULL, NULL);
    if (rc) {
      fprintf(stderr, "register: %s\n", hl_module_last_error(&loop));
      return 1;
    }
  }
  char root[4096], parent[4200];
  snprintf(root, sizeof root, "./m0.%s", strcmp(fmt, "native") == 0 ? "so" : "json");
  snprintf(parent, sizeof parent, "file://%s/%s/main", dir, fmt);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (threaded) {
    if (hl_import(&loop, root, parent, on_import, NULL))
      return 1;
    hl_run(&loop, HL_RUN_DEFAULT);
  } else {
    walk_sync(root, parent);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
  if (failed || loaded != hl_module_cache_size(&loop)) {
    fprintf(stderr, "failed: %d errors, %d loaded, %d cached\n", failed, loaded,
            hl_module_cache_size(&loop));
    return 1;
  }
  printf("result impl=hookloop graph=%s hooks=%d where=%s modules=%d us_module=%.3f\n", fmt, nhooks,
         threaded ? "thread" : "inthread", loaded, us / loaded);
  hl_loop_close(&loop);
  return 0;
}
