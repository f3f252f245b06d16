/* test/helpers/counting.c - see counting.h. */
#include "counting.h"
#include <hookloop.h>
#include <stdlib.h>

static long g_live;
static long g_attempts, g_fail_at, g_injected;
static int g_persistent;

static int fail_now(void) {
  g_attempts++;
  if (g_fail_at > 0 && (g_attempts == g_fail_at || (g_persistent && g_attempts > g_fail_at))) {
    g_injected++;
    return 1;
  }
  return 0;
}

static void *count_malloc(size_t n) {
  if (fail_now())
    return NULL;
  void *p = malloc(n);
  g_live += p != NULL;
  return p;
}
static void *count_calloc(size_t c, size_t n) {
  if (fail_now())
    return NULL;
  void *p = calloc(c, n);
  g_live += p != NULL;
  return p;
}
static void *count_realloc(void *old, size_t n) {
  if (fail_now())
    return NULL;
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
  g_fail_at = 0;
  if (hl_replace_allocator(count_malloc, count_realloc, count_calloc, count_free) != 0)
    abort();
}

void hl_counting_off(void) {
  hl_replace_allocator(malloc, realloc, calloc, free);
}

void hl_counting_fail_at(long nth, int persistent) {
  g_attempts = 0;
  g_injected = 0;
  g_fail_at = nth;
  g_persistent = persistent;
}

long hl_counting_attempts(void) {
  return g_attempts;
}

long hl_counting_injected(void) {
  return g_injected;
}
