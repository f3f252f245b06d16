/* bench/module/dlopen_floor.c - the floor under the native rows of the module
 * benchmark: dlopen + dlsym("hl_module_init") of the graph's N native files
 * and nothing else (no resolve, no read, no cache, no init call). Whatever
 * the loader does, a native module cannot cost less than this here.
 *
 * The plugin calls back into hookloop (hl_module_url, hl_module_export), so
 * this program exports them as hl-bench-module does: the same RTLD_NOW
 * symbol resolution happens in both.
 *
 * Usage: hl-bench-dlopen-floor GRAPH_DIR (reads GRAPH_DIR/native/m<i>.so,
 * i < $HL_BENCH_MODULES). Prints one "result" line as bench_module does.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "hookloop.h"

/* Pull the module API into the executable, for the plugins to bind to. */
void *volatile hl_bench_keep[] = {(void *)hl_module_url, (void *)hl_module_export};

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s GRAPH_DIR\n", argv[0]);
    return 2;
  }
  const char *n_env = getenv("HL_BENCH_MODULES");
  int n = n_env ? atoi(n_env) : 1000;
  struct timespec a, b;
  char path[4096];
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/native/m%d.so", argv[1], i);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h || !dlsym(h, "hl_module_init")) {
      fprintf(stderr, "%s: %s\n", path, dlerror());
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / n;
  printf("result impl=dlopen graph=native hooks=0 where=bare modules=%d us_module=%.3f\n", n, us);
  return 0;
}
