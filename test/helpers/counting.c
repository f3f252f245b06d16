/* test/helpers/counting.c - see counting.h. */
#include "counting.h"
#include <hookloop.h>
#include <stdlib.h>

static long g_live;

static void *count_malloc(size_t n) {
  void *p = malloc(n);
  g_live += p != NULL;
  return p;
}
static void *count_calloc(size_t c, size_t n) {
  void *p = calloc(c, n);
  g_live += p != NULL;
  return p;
}
static void *count_realloc(void *old, size_t n) {
  void *p = realloc(old, n);
  g_live += p != NULL && old == NULL;
  return p;
}
static void count_free(void *p) {
  g_live -= p != NULL;
  free(p);
}

long hl_counting_live(void) {
  return g_live;
}

void hl_counting_on(void) {
  g_live = 0;
  if (hl_replace_allocator(count_malloc, count_realloc, count_calloc, count_free) != 0)
    abort();
}

void hl_counting_off(void) {
  hl_replace_allocator(malloc, realloc, calloc, free);
}
