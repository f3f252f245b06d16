/* src/core/alloc.c - the library allocator (replaceable, as libuv's) and the
 * fixed-size object pools that keep allocation off the hot paths.
 *
 * Every allocation hookloop makes goes through hl__malloc and friends, so a
 * test can fail any one of them (see test/core/test_oom.c).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static struct {
  hl_malloc_fn malloc_fn;
  hl_realloc_fn realloc_fn;
  hl_calloc_fn calloc_fn;
  hl_free_fn free_fn;
} hl__alloc = {malloc, realloc, calloc, free};
static int hl__alloc_libc = 1; /* libc's allocator: sizes readable (heap accounting) */

HL_EXPORT int hl_replace_allocator(hl_malloc_fn malloc_fn, hl_realloc_fn realloc_fn,
                                   hl_calloc_fn calloc_fn, hl_free_fn free_fn) {
  if (!malloc_fn || !realloc_fn || !calloc_fn || !free_fn)
    return HL_EINVAL;
  hl__alloc.malloc_fn = malloc_fn;
  hl__alloc.realloc_fn = realloc_fn;
  hl__alloc.calloc_fn = calloc_fn;
  hl__alloc.free_fn = free_fn;
  hl__alloc_libc =
      malloc_fn == malloc && realloc_fn == realloc && calloc_fn == calloc && free_fn == free;
  return 0;
}

/* Heap accounting for hl_process_memory_usage(): with libc's allocator (the
 * default) each block's size is read with malloc_usable_size() and summed in
 * relaxed atomic counters (loops may run on several threads); no header, so
 * pointers stay the allocator's own (valgrind still sees them as reachable,
 * and memory from elsewhere freed here is not corrupted). With a replaced
 * allocator the sizes are unknown and nothing is counted. */
static int64_t hl__heap_bytes, hl__heap_blocks;

static inline void hl__count(void *p, int sign) {
  if (p && hl__alloc_libc) {
    __atomic_add_fetch(&hl__heap_bytes, sign * (int64_t)malloc_usable_size(p), __ATOMIC_RELAXED);
    __atomic_add_fetch(&hl__heap_blocks, sign, __ATOMIC_RELAXED);
  }
}

void hl__heap_stats(size_t *bytes, size_t *blocks) {
  int64_t b = __atomic_load_n(&hl__heap_bytes, __ATOMIC_RELAXED);
  int64_t n = __atomic_load_n(&hl__heap_blocks, __ATOMIC_RELAXED);
  *bytes = b > 0 ? (size_t)b : 0; /* skewed only by an allocator swap with blocks alive */
  *blocks = n > 0 ? (size_t)n : 0;
}

void *hl__malloc(size_t size) {
  void *p = hl__alloc.malloc_fn(size ? size : 1);
  hl__count(p, 1);
  return p;
}

void *hl__calloc(size_t count, size_t size) {
  void *p = hl__alloc.calloc_fn(count ? count : 1, size ? size : 1);
  hl__count(p, 1);
  return p;
}

void *hl__realloc(void *ptr, size_t size) {
  size_t old = ptr && hl__alloc_libc ? malloc_usable_size(ptr) : 0;
  void *p = hl__alloc.realloc_fn(ptr, size ? size : 1);
  if (p && hl__alloc_libc) {
    __atomic_add_fetch(&hl__heap_bytes, (int64_t)malloc_usable_size(p) - (int64_t)old,
                       __ATOMIC_RELAXED);
    if (!ptr)
      __atomic_add_fetch(&hl__heap_blocks, 1, __ATOMIC_RELAXED);
  }
  return p;
}

void hl__free(void *ptr) {
  if (ptr) {
    hl__count(ptr, -1);
    hl__alloc.free_fn(ptr);
  }
}

char *hl__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = hl__malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

/* A slab: a header then per_slab objects of `size` bytes. */
typedef struct hl__slab_s {
  struct hl__slab_s *next;
  size_t pad; /* keeps objects 16-byte aligned */
} hl__slab_t;

void hl__pool_init(hl__pool_t *pool, size_t size, uint32_t per_slab) {
  pool->size = (size + 15) & ~(size_t)15;
  pool->per_slab = per_slab;
  pool->free = NULL;
  pool->slabs = NULL;
  pool->limbo = pool->limbo_tail = NULL;
  pool->limbo_next = NULL;
}

void *hl__pool_refill(hl__pool_t *pool) {
  hl__slab_t *slab = hl__calloc(1, sizeof(hl__slab_t) + pool->size * pool->per_slab);
  if (!slab)
    return NULL;
  slab->next = pool->slabs;
  pool->slabs = slab;
  char *base = (char *)(slab + 1);
  for (uint32_t i = pool->per_slab; i-- > 0;) {
    *(void **)(base + i * pool->size) = pool->free;
    pool->free = base + i * pool->size;
  }
  void *obj = pool->free;
  pool->free = *(void **)obj;
  return obj;
}

void hl__pool_each(hl__pool_t *pool, void (*each)(void *obj, void *arg), void *arg) {
  for (hl__slab_t *s = pool->slabs; s; s = s->next) {
    char *base = (char *)(s + 1);
    for (uint32_t i = 0; i < pool->per_slab; i++)
      each(base + i * pool->size, arg);
  }
}

void hl__pool_destroy(hl__pool_t *pool) {
  hl__slab_t *s = pool->slabs;
  while (s) {
    hl__slab_t *next = s->next;
    hl__free(s);
    s = next;
  }
  pool->slabs = NULL;
  pool->free = NULL;
  pool->limbo = pool->limbo_tail = NULL;
}
