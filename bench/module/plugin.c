/* bench/module/plugin.c - the native module of the benchmark graph, copied
 * to m0.so ... m999.so by the run script. Its init reads its own number from
 * its URL and exports "deps": the children in the 10-ary tree (10i+1..10i+10
 * below the module count in "n"), as "./m<j>.so" specifiers. */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

HL_MODULE_ABI_DECLARE;

static char names[10][32];
static const char *deps[11];

__attribute__((visibility("default"))) int hl_module_init(hl_module_t *m) {
  const char *u = strrchr(hl_module_url(m), '/');
  long i = u ? strtol(u + 2, NULL, 10) : 0;
  const char *nenv = getenv("HL_BENCH_MODULES");
  long n = nenv ? strtol(nenv, NULL, 10) : 1000;
  int k = 0;
  for (long j = 10 * i + 1; j <= 10 * i + 10 && j < n; j++) {
    snprintf(names[k], sizeof names[k], "./m%ld.so", j);
    deps[k] = names[k];
    k++;
  }
  deps[k] = NULL;
  return hl_module_export(m, "deps", deps);
}
