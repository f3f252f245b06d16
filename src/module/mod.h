/* src/module/mod.h - what the module loader's files share: the per-loop module
 * system (cache, hook lists, hooks thread), the request that carries one
 * resolve+load through the chains (with its arena and error), and the entry
 * points of each file:
 *
 *   module.c   the public API, the cache, hl_require / hl_import, instantiation
 *   chain.c    the resolve and load chains: next(), validation, error wording
 *   default.c  the default resolver and loader (paths, file: URLs, probing)
 *   native.c   dlopen of a path or of bytes in memory (memfd), the ABI check
 *   thread.c   the hooks thread: job queue, register, async completions
 */
#ifndef HL_MODULE_MOD_H
#define HL_MODULE_MOD_H

#include "../core/internal.h"

/* ---- arena: memory that lives as long as one request ----------------------- */
typedef struct hl__ablk_s {
  struct hl__ablk_s *next;
  size_t used, cap;
  char *mem;
} hl__ablk_t;

typedef struct hl__arena_s {
  hl__ablk_t *head;
  hl__ablk_t first; /* descriptor of an inline first block */
  char first_mem[1024];
} hl__arena_t;

void *hl__arena_alloc(hl__arena_t *a, size_t n);
char *hl__arena_strdup(hl__arena_t *a, const char *s);
char *hl__arena_printf(hl__arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *hl__arena_vprintf(hl__arena_t *a, const char *fmt, va_list ap);

/* ---- hook entries ------------------------------------------------------------- */
typedef struct hl__hookent_s {
  const char *id; /* for messages: URL of the hooks object, or the hooks' name */
  hl_module_resolve_fn resolve;
  hl_module_load_fn load;
  void *arg;
} hl__hookent_t;

struct hl_module_hooks_handle_s {
  struct hl_module_hooks_handle_s *next, *prev; /* registration order */
  struct hl__modsys_s *M;
  hl__hookent_t ent;
  int removed;
  char name[];
};

enum { HL__PH_RESOLVE = 0, HL__PH_LOAD = 1 };

/* ---- one resolve + load ------------------------------------------------------ */
typedef struct hl__mreq_s {
  struct hl__modsys_s *M;
  hl__arena_t arena;
  int code;  /* error of the last failed step (0: none) */
  char *msg; /* its message (arena) */
  const char *const *conditions;
  /* the in-thread chain this request started with (arena copy, registration order) */
  hl__hookent_t *in;
  int n_in;
  int off_thread; /* running on the hooks thread */
  hl_module_resolve_result_t res;
  hl_module_load_result_t load;
} hl__mreq_t;

hl__mreq_t *hl__mreq_new(struct hl__modsys_s *M, int for_import);
void hl__mreq_free(hl__mreq_t *r);
const char *hl__errdesc(int rc, char *buf, size_t n); /* "message (NAME)" */
int hl__mreq_fail(hl__mreq_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Run the whole chain for a phase from the top (chain.c). On the loop thread
 * the in-thread hooks run first, then (when there are off-thread hooks for the
 * phase) a synchronous hop to the hooks thread, else the default. On the hooks
 * thread (r->off_thread) the off-thread hooks, then the default. */
int hl__chain_resolve(hl__mreq_t *r, const char *specifier, const hl_module_resolve_context_t *ctx,
                      hl_module_resolve_result_t *out);
int hl__chain_load(hl__mreq_t *r, const char *url, const hl_module_load_context_t *ctx,
                   hl_module_load_result_t *out);

/* default.c */
int hl__default_resolve(hl__mreq_t *r, const char *specifier,
                        const hl_module_resolve_context_t *ctx, hl_module_resolve_result_t *out);
int hl__default_load(hl__mreq_t *r, const char *url, const hl_module_load_context_t *ctx,
                     hl_module_load_result_t *out);
int hl__is_url(const char *s);                               /* "scheme:..." */
char *hl__file_url_to_path(hl__arena_t *a, const char *url); /* NULL: not file: */
int hl__format_known(const char *format);                    /* 1 native/json/text/binary */
const char *hl__format_intern(const char *format);           /* static string or NULL */

/* native.c: open a shared object from a file: URL (source NULL) or from bytes;
 * check its ABI. 0 and *handle, or an error recorded in r. */
int hl__native_open(hl__mreq_t *r, const char *url, const void *source, size_t length,
                    void **handle);

/* ---- the per-loop module system --------------------------------------------- */
typedef struct hl__mod_ent_s hl__mod_ent_t;
typedef struct hl__inflight_s hl__inflight_t;
typedef struct hl__hjob_s hl__hjob_t;
typedef struct hl__import_s hl__import_t;

typedef struct hl__modsys_s {
  hl__loop_t *L;
  /* cache: open hash of modules by key (url "\n" attributes) */
  hl_module_t **buckets;
  uint32_t nbuckets, nmods;
  hl_module_t *first, *last; /* load order, for closing in reverse */
  hl__inflight_t *inflight;  /* async loads in progress (few: a list) */
  char *last_err;
  char **paths;
  int npaths;
  uv_mutex_t paths_mu; /* the default resolver may run on the hooks thread */

  /* in-thread hooks, registration order */
  struct hl_module_hooks_handle_s *hk_head, *hk_tail;
  struct hl_module_hooks_handle_s *hk_removed; /* freed at close */
  int n_in_resolve, n_in_load, hk_seq;

  /* off-thread hooks: the list belongs to the hooks thread; the counts to the loop */
  hl__hookent_t *off;
  void **off_dl;
  int n_off, cap_off;
  int n_off_resolve, n_off_load;

  /* hooks thread */
  int thread_started, stop;
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cv_work, cv_done;
  hl__hjob_t *q_head, *q_tail;       /* to the hooks thread */
  hl__hjob_t *done_head, *done_tail; /* async results back to the loop */
  uv_async_t async;
  hl__import_t *ready_head, *ready_tail; /* import callbacks to run (loop thread only) */
  int pending;                           /* imports in flight: the async handle is ref'd */
  hl__pool_t import_pool;
} hl__modsys_t;

hl__modsys_t *hl__modsys_get(hl__loop_t *L); /* created on first use; NULL on OOM */

/* thread.c */
struct hl__hjob_s {
  hl__hjob_t *next;
  int kind; /* HL__PH_RESOLVE, HL__PH_LOAD, HL__HJ_REGISTER */
  int async, done, rc;
  hl__mreq_t *r;
  const char *str; /* specifier or url */
  hl_module_resolve_context_t rctx;
  hl_module_load_context_t lctx;
  hl_module_resolve_result_t *rout;
  hl_module_load_result_t *lout;
  /* register */
  const void *data;
  size_t len;
  int has[3]; /* initialize, resolve, load found */
  /* async completion on the loop thread */
  void (*on_done)(hl__modsys_t *M, hl__hjob_t *job);
  void *owner;
};
enum { HL__HJ_REGISTER = 2 };
int hl__hooks_thread_start(hl__modsys_t *M);
void hl__hooks_thread_stop(hl__modsys_t *M);
int hl__hooks_call_sync(hl__modsys_t *M, hl__hjob_t *job); /* returns job->rc */
void hl__hooks_post_async(hl__modsys_t *M, hl__hjob_t *job);
void hl__hooks_run_job(hl__modsys_t *M, hl__hjob_t *job); /* on the hooks thread */
void hl__modsys_async_cb(uv_async_t *h);                  /* module.c */

#endif
