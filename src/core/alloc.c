/* src/core/alloc.c - the library allocator (replaceable, as libuv's) and the
 * fixed-size object pools that keep allocation off the hot paths.
 *
 * Every allocation hookloop makes goes through hl__malloc and friends, so a
 * test can fail any one of them (see test/core/test_oom.c).
 */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static struct {
  hl_malloc_fn malloc_fn;
  hl_realloc_fn realloc_fn;
  hl_calloc_fn calloc_fn;
  hl_free_fn free_fn;
} hl__alloc = {malloc, realloc, calloc, free};

HL_EXPORT int hl_replace_allocator(hl_malloc_fn malloc_fn, hl_realloc_fn realloc_fn,
                                   hl_calloc_fn calloc_fn, hl_free_fn free_fn) {
  if (!malloc_fn || !realloc_fn || !calloc_fn || !free_fn)
    return HL_EINVAL;
  hl__alloc.malloc_fn = malloc_fn;
  hl__alloc.realloc_fn = realloc_fn;
  hl__alloc.calloc_fn = calloc_fn;
  hl__alloc.free_fn = free_fn;
  return 0;
}

/* Heap accounting for hl_process_memory_usage(): each block carries a 16-byte
 * header holding its size (16 keeps the alignment malloc gives), and two
 * relaxed atomic counters (loops may run on several threads) sum the bytes
 * requested and the bytes held including headers. */
#define HL__HDR 16
static size_t hl__heap_used, hl__heap_total;

static inline void *hl__account(void *raw, size_t size) {
  if (!raw)
    return NULL;
  *(size_t *)raw = size;
  __atomic_add_fetch(&hl__heap_used, size, __ATOMIC_RELAXED);
  __atomic_add_fetch(&hl__heap_total, size + HL__HDR, __ATOMIC_RELAXED);
  return (char *)raw + HL__HDR;
}

static inline void hl__unaccount(size_t size) {
  __atomic_sub_fetch(&hl__heap_used, size, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&hl__heap_total, size + HL__HDR, __ATOMIC_RELAXED);
}

void hl__heap_stats(size_t *used, size_t *total) {
  *used = __atomic_load_n(&hl__heap_used, __ATOMIC_RELAXED);
  *total = __atomic_load_n(&hl__heap_total, __ATOMIC_RELAXED);
}

void *hl__malloc(size_t size) {
  if (size > SIZE_MAX - HL__HDR)
    return NULL;
  return hl__account(hl__alloc.malloc_fn(size + HL__HDR), size);
}

void *hl__calloc(size_t count, size_t size) {
  count = count ? count : 1;
  size = size ? size : 1;
  if (size > (SIZE_MAX - HL__HDR) / count)
    return NULL;
  size_t n = count * size;
  return hl__account(hl__alloc.calloc_fn(1, n + HL__HDR), n);
}

void *hl__realloc(void *ptr, size_t size) {
  if (!ptr)
    return hl__malloc(size);
  if (size > SIZE_MAX - HL__HDR)
    return NULL;
  char *raw = (char *)ptr - HL__HDR;
  size_t old = *(size_t *)raw;
  void *nraw = hl__alloc.realloc_fn(raw, size + HL__HDR);
  if (!nraw)
    return NULL; /* the old block is untouched and still counted */
  hl__unaccount(old);
  return hl__account(nraw, size);
}

void hl__free(void *ptr) {
  if (!ptr)
    return;
  char *raw = (char *)ptr - HL__HDR;
  hl__unaccount(*(size_t *)raw);
  hl__alloc.free_fn(raw);
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
}
