/* src/module/chain.c - the resolve and load hook chains, as Node runs them
 * (lib/internal/modules/esm/hooks.js): hooks nest, the last registered runs
 * first, each one either calls next (which runs the one below it, down to the
 * default) or returns short_circuit; the result of every hook is validated.
 *
 * A chain is walked with an hl_module_chain_t on the stack of the hook that
 * calls next: it knows where in the list the caller sits and the context the
 * caller was given, over which next() merges the non-NULL fields it is
 * passed. On the loop thread the in-thread list (a copy taken when the
 * request started) is walked first; below it either the hooks thread walks the
 * off-thread list (a synchronous hop) or the default runs. The request's arena
 * holds every string the chain makes; its error slot holds the message.
 */
#include <stdarg.h>
#include <string.h>
#include "mod.h"

struct hl_module_chain_s {
  hl__mreq_t *r;
  int phase;
  int pos;    /* index (in walk order) of the next hook to consider */
  int called; /* the hook called next */
  const char *id;
  const hl_module_resolve_context_t *rctx; /* what the hook was given */
  const hl_module_load_context_t *lctx;
};

/* ---- arena -------------------------------------------------------------------- */

void *hl__arena_alloc(hl__arena_t *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  hl__ablk_t *b = a->head;
  if (HL_LIKELY(b && b->cap - b->used >= n)) {
    void *p = b->mem + b->used;
    b->used += n;
    return p;
  }
  size_t cap = n > 4096 ? n : 4096;
  hl__ablk_t *nb = hl__malloc(sizeof *nb + cap);
  if (!nb)
    return NULL;
  nb->mem = (char *)(nb + 1);
  nb->cap = cap;
  nb->used = n;
  nb->next = a->head;
  a->head = nb;
  return nb->mem;
}

char *hl__arena_strdup(hl__arena_t *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = hl__arena_alloc(a, n);
  if (d)
    memcpy(d, s, n);
  return d;
}

char *hl__arena_vprintf(hl__arena_t *a, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return NULL;
  char *s = hl__arena_alloc(a, (size_t)n + 1);
  if (s)
    vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *hl__arena_printf(hl__arena_t *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = hl__arena_vprintf(a, fmt, ap);
  va_end(ap);
  return s;
}

static void hl__arena_init(hl__arena_t *a) {
  a->first.mem = a->first_mem;
  a->first.cap = sizeof a->first_mem;
  a->first.used = 0;
  a->first.next = NULL;
  a->head = &a->first;
}

static void hl__arena_free(hl__arena_t *a) {
  hl__ablk_t *b = a->head;
  while (b && b != &a->first) {
    hl__ablk_t *n = b->next;
    hl__free(b);
    b = n;
  }
  a->head = NULL;
}

/* ---- requests ----------------------------------------------------------------- */

static const char *const hl__cond_require[] = {"hookloop", "require", NULL};
static const char *const hl__cond_import[] = {"hookloop", "import", NULL};

hl__mreq_t *hl__mreq_new(hl__modsys_t *M, int for_import) {
  hl__mreq_t *r = hl__malloc(sizeof *r);
  if (!r)
    return NULL;
  memset(r, 0, offsetof(hl__mreq_t, arena));
  hl__arena_init(&r->arena);
  r->code = 0;
  r->msg = NULL;
  r->M = M;
  r->conditions = for_import ? hl__cond_import : hl__cond_require;
  r->off_thread = 0;
  memset(&r->res, 0, sizeof r->res);
  memset(&r->load, 0, sizeof r->load);
  /* The in-thread chain as it is now: hooks added or removed later do not
   * change a request already running. */
  int n = 0;
  for (struct hl_module_hooks_handle_s *h = M->hk_head; h; h = h->next)
    n++;
  r->n_in = n;
  r->in = NULL;
  if (n) {
    r->in = hl__arena_alloc(&r->arena, (size_t)n * sizeof *r->in);
    if (!r->in) {
      hl__mreq_free(r);
      return NULL;
    }
    int i = 0;
    for (struct hl_module_hooks_handle_s *h = M->hk_head; h; h = h->next)
      r->in[i++] = h->ent;
  }
  return r;
}

void hl__mreq_free(hl__mreq_t *r) {
  if (!r)
    return;
  hl__arena_free(&r->arena);
  hl__free(r);
}

int hl__mreq_fail(hl__mreq_t *r, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  r->code = code < 0 ? code : HL_EINVAL;
  r->msg = hl__arena_vprintf(&r->arena, fmt, ap);
  va_end(ap);
  return r->code;
}

/* ---- walking the chains -------------------------------------------------------- */

/* The list a request walks on its thread, in walk order (last registered
 * first): returns the entry at walk position `pos` having the phase's hook, or
 * NULL below the last one (and *pos is advanced past skipped entries). */
static const hl__hookent_t *hl__chain_at(hl__mreq_t *r, int phase, int *pos) {
  const hl__hookent_t *list = r->off_thread ? r->M->off : r->in;
  int n = r->off_thread ? r->M->n_off : r->n_in;
  while (*pos < n) {
    const hl__hookent_t *e = &list[n - 1 - *pos];
    if (phase == HL__PH_RESOLVE ? e->resolve != NULL : e->load != NULL)
      return e;
    (*pos)++;
  }
  return NULL;
}

static const char *hl__hook_name(int phase) {
  return phase == HL__PH_RESOLVE ? "resolve" : "load";
}

/* A hook returned an error: keep the message of whoever failed below it (next
 * or hl_module_chain_fail), else say which hook failed. */
const char *hl__errdesc(int rc, char *buf, size_t n) {
  /* hl_strerror and hl_err_name share one thread-local buffer: copy between */
  char msg[96];
  snprintf(msg, sizeof msg, "%s", hl_strerror(rc));
  snprintf(buf, n, "%s (%s)", msg, hl_err_name(rc));
  return buf;
}

static int hl__hook_failed(hl__mreq_t *r, const char *id, int phase, int rc) {
  if (rc >= 0)
    rc = HL_EINVAL;
  if (r->code == rc && r->msg)
    return rc;
  char d[160];
  return hl__mreq_fail(r, rc, "%s '%s' failed: %s", id, hl__hook_name(phase),
                       hl__errdesc(rc, d, sizeof d));
}

static int hl__chain_incomplete(hl__mreq_t *r, const char *id, int phase) {
  return hl__mreq_fail(r, HL_ELOADERCHAININCOMPLETE,
                       "%s '%s' did not call the next hook in its chain and did not explicitly "
                       "signal a short circuit. If this is intentional, set short_circuit in "
                       "the hook's result.",
                       id, hl__hook_name(phase));
}

static int hl__bad_return(hl__mreq_t *r, const char *id, int phase, const char *expected,
                          const char *prop, const char *got) {
  if (got)
    return hl__mreq_fail(r, HL_EINVALIDRETURN,
                         "Expected %s to be returned for the \"%s\" from the \"%s '%s'\" hook "
                         "but got '%s'.",
                         expected, prop, id, hl__hook_name(phase), got);
  return hl__mreq_fail(r, HL_EINVALIDRETURN,
                       "Expected %s to be returned for the \"%s\" from the \"%s '%s'\" hook "
                       "but got NULL.",
                       expected, prop, id, hl__hook_name(phase));
}

static int hl__run_resolve(hl__mreq_t *r, int pos, const char *spec,
                           const hl_module_resolve_context_t *ctx, hl_module_resolve_result_t *out);
static int hl__run_load(hl__mreq_t *r, int pos, const char *url,
                        const hl_module_load_context_t *ctx, hl_module_load_result_t *out);

/* Below the last hook of this thread's list. */
static int hl__bottom_resolve(hl__mreq_t *r, const char *spec,
                              const hl_module_resolve_context_t *ctx,
                              hl_module_resolve_result_t *out) {
  if (!r->off_thread && r->M->n_off_resolve > 0) {
    hl__hjob_t job = {.kind = HL__PH_RESOLVE, .r = r, .str = spec, .rctx = *ctx, .rout = out};
    return hl__hooks_call_sync(r->M, &job);
  }
  memset(out, 0, sizeof *out);
  return hl__default_resolve(r, spec, ctx, out);
}

static int hl__bottom_load(hl__mreq_t *r, const char *url, const hl_module_load_context_t *ctx,
                           hl_module_load_result_t *out) {
  if (!r->off_thread && r->M->n_off_load > 0) {
    hl__hjob_t job = {.kind = HL__PH_LOAD, .r = r, .str = url, .lctx = *ctx, .lout = out};
    return hl__hooks_call_sync(r->M, &job);
  }
  memset(out, 0, sizeof *out);
  return hl__default_load(r, url, ctx, out);
}

static int hl__run_resolve(hl__mreq_t *r, int pos, const char *spec,
                           const hl_module_resolve_context_t *ctx,
                           hl_module_resolve_result_t *out) {
  const hl__hookent_t *e = hl__chain_at(r, HL__PH_RESOLVE, &pos);
  if (!e)
    return hl__bottom_resolve(r, spec, ctx, out);
  hl_module_chain_t c = {r, HL__PH_RESOLVE, pos + 1, 0, e->id, ctx, NULL};
  memset(out, 0, sizeof *out);
  int rc = e->resolve(spec, ctx, &c, e->arg, out);
  if (rc)
    return hl__hook_failed(r, e->id, HL__PH_RESOLVE, rc);
  r->code = 0; /* a hook may recover from an error of next */
  r->msg = NULL;
  if (!c.called && !out->short_circuit)
    return hl__chain_incomplete(r, e->id, HL__PH_RESOLVE);
  if (!out->url || !hl__is_url(out->url))
    return hl__bad_return(r, e->id, HL__PH_RESOLVE, "a URL string", "url", out->url);
  return 0;
}

static int hl__run_load(hl__mreq_t *r, int pos, const char *url,
                        const hl_module_load_context_t *ctx, hl_module_load_result_t *out) {
  const hl__hookent_t *e = hl__chain_at(r, HL__PH_LOAD, &pos);
  if (!e)
    return hl__bottom_load(r, url, ctx, out);
  hl_module_chain_t c = {r, HL__PH_LOAD, pos + 1, 0, e->id, NULL, ctx};
  memset(out, 0, sizeof *out);
  int rc = e->load(url, ctx, &c, e->arg, out);
  if (rc)
    return hl__hook_failed(r, e->id, HL__PH_LOAD, rc);
  r->code = 0;
  r->msg = NULL;
  if (!c.called && !out->short_circuit)
    return hl__chain_incomplete(r, e->id, HL__PH_LOAD);
  if (!out->format)
    return hl__bad_return(r, e->id, HL__PH_LOAD, "a string", "format", NULL);
  if (!out->source) {
    /* Only a native module at a file: URL may come without bytes. */
    if (strcmp(out->format, "native") != 0 || strncmp(url, "file:", 5) != 0)
      return hl__bad_return(r, e->id, HL__PH_LOAD, "bytes (source and length)", "source", NULL);
  }
  return 0;
}

int hl__chain_resolve(hl__mreq_t *r, const char *spec, const hl_module_resolve_context_t *ctx,
                      hl_module_resolve_result_t *out) {
  return hl__run_resolve(r, 0, spec, ctx, out);
}

int hl__chain_load(hl__mreq_t *r, const char *url, const hl_module_load_context_t *ctx,
                   hl_module_load_result_t *out) {
  return hl__run_load(r, 0, url, ctx, out);
}

/* ---- next() ------------------------------------------------------------------- */

HL_EXPORT int hl_module_next_resolve(hl_module_chain_t *next, const char *specifier,
                                     const hl_module_resolve_context_t *ctx,
                                     hl_module_resolve_result_t *out) {
  if (!next)
    return HL_EINVAL;
  hl__mreq_t *r = next->r;
  if (next->phase != HL__PH_RESOLVE)
    return hl__mreq_fail(r, HL_EINVAL,
                         "The \"%s 'load' next\" argument of hl_module_next_resolve must come "
                         "from a 'resolve' hook. Received the next of a 'load' hook",
                         next->id);
  if (!specifier)
    return hl__mreq_fail(r, HL_EINVAL,
                         "The \"%s 'resolve' specifier\" argument must be of type string. "
                         "Received NULL",
                         next->id);
  if (!out)
    return hl__mreq_fail(r, HL_EINVAL,
                         "The \"%s 'resolve' out\" argument must be a result to fill. "
                         "Received NULL",
                         next->id);
  hl_module_resolve_context_t merged = *next->rctx;
  if (ctx) {
    if (ctx->conditions)
      merged.conditions = ctx->conditions;
    if (ctx->parent_url)
      merged.parent_url = ctx->parent_url;
    if (ctx->attributes)
      merged.attributes = ctx->attributes;
  }
  next->called = 1;
  return hl__run_resolve(r, next->pos, specifier, &merged, out);
}

HL_EXPORT int hl_module_next_load(hl_module_chain_t *next, const char *url,
                                  const hl_module_load_context_t *ctx,
                                  hl_module_load_result_t *out) {
  if (!next)
    return HL_EINVAL;
  hl__mreq_t *r = next->r;
  if (next->phase != HL__PH_LOAD)
    return hl__mreq_fail(r, HL_EINVAL,
                         "The \"%s 'resolve' next\" argument of hl_module_next_load must come "
                         "from a 'load' hook. Received the next of a 'resolve' hook",
                         next->id);
  if (!url)
    return hl__mreq_fail(r, HL_EINVAL,
                         "The \"%s 'load' url\" argument must be a URL string. Received NULL",
                         next->id);
  if (!hl__is_url(url))
    return hl__mreq_fail(r, HL_EINVAL,
                         "The argument '%s 'load' url' should be a URL string. Received '%s'",
                         next->id, url);
  if (!out)
    return hl__mreq_fail(r, HL_EINVAL,
                         "The \"%s 'load' out\" argument must be a result to fill. Received NULL",
                         next->id);
  hl_module_load_context_t merged = *next->lctx;
  if (ctx) {
    if (ctx->conditions)
      merged.conditions = ctx->conditions;
    if (ctx->format)
      merged.format = ctx->format;
    if (ctx->attributes)
      merged.attributes = ctx->attributes;
  }
  next->called = 1;
  return hl__run_load(r, next->pos, url, &merged, out);
}

HL_EXPORT void *hl_module_chain_alloc(hl_module_chain_t *next, size_t size) {
  if (!next)
    return NULL;
  return hl__arena_alloc(&next->r->arena, size ? size : 1);
}

HL_EXPORT char *hl_module_chain_strdup(hl_module_chain_t *next, const char *s) {
  if (!next || !s)
    return NULL;
  return hl__arena_strdup(&next->r->arena, s);
}

HL_EXPORT int hl_module_chain_fail(hl_module_chain_t *next, int code, const char *fmt, ...) {
  if (code >= 0)
    code = HL_EINVAL;
  if (!next)
    return code;
  hl__mreq_t *r = next->r;
  va_list ap;
  va_start(ap, fmt);
  r->code = code;
  r->msg = fmt ? hl__arena_vprintf(&r->arena, fmt, ap) : NULL;
  va_end(ap);
  return code;
}
