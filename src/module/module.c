/* src/module/module.c - the module loader's public face: the per-loop module
 * system, the cache (modules by resolved URL + attributes), hl_require,
 * hl_import (a "MODULEREQ" async resource whose callback takes the core's
 * execution-context path), registration of hooks, and instantiation of what
 * the load chain produced (dlopen + hl_module_init for native, a copy of the
 * bytes otherwise).
 *
 * Everything here runs on the loop thread. An import whose chain has only
 * off-thread hooks for a phase hands that phase to the hooks thread and goes
 * on in hl__modsys_async_cb when the result comes back; concurrent imports of
 * one (url, attributes) wait on a single in-flight load. Import callbacks are
 * always deferred to that async callback, so they never run inside hl_import.
 */
#include <dlfcn.h>
#include <string.h>
#include "mod.h"

struct hl_module_s {
  hl_module_t *hnext;         /* hash chain */
  hl_module_t *lnext, *lprev; /* load order */
  hl__modsys_t *M;
  uint32_t hash;
  int ready;
  char *url;
  char *attrs;
  const char *format;
  void *source;
  size_t length;
  void *dl;
  struct hl__export_s {
    char *name;
    void *ptr;
  } * exports;
  int nexp, capexp;
};

struct hl__inflight_s {
  hl__inflight_t *next;
  const char *url, *attrs; /* in r's arena */
  hl__import_t *waiters;
  hl__mreq_t *r;
  hl__hjob_t job;
};

struct hl__import_s {
  void *pool_link;
  hl__async_t async;
  hl__modsys_t *M;
  hl_import_cb cb;
  void *arg;
  hl__mreq_t *r;
  hl__hjob_t job;
  hl__import_t *next; /* waiter list, then ready list */
  int status;
  hl_error_t *err;
};

/* ---- the module system --------------------------------------------------------- */

static void hl__modsys_close(hl__loop_t *L);

hl__modsys_t *hl__modsys_get(hl__loop_t *L) {
  if (HL_LIKELY(L->modsys != NULL))
    return L->modsys;
  hl__modsys_t *M = hl__calloc(1, sizeof *M);
  if (!M)
    return NULL;
  M->nbuckets = 64;
  M->buckets = hl__calloc(M->nbuckets, sizeof *M->buckets);
  if (!M->buckets) {
    hl__free(M);
    return NULL;
  }
  M->L = L;
  uv_mutex_init(&M->mu);
  uv_mutex_init(&M->paths_mu);
  uv_cond_init(&M->cv_work);
  uv_cond_init(&M->cv_done);
  uv_async_init(L->uv, &M->async, hl__modsys_async_cb);
  uv_unref((uv_handle_t *)&M->async);
  hl__pool_init(&M->import_pool, sizeof(hl__import_t), 32);
  L->modsys = M;
  L->modsys_close = hl__modsys_close;
  return M;
}

static hl__modsys_t *hl__M(const hl_loop_t *loop) {
  hl__loop_t *L = hl__L(loop);
  return L ? hl__modsys_get(L) : NULL;
}

static void hl__module_free(hl_module_t *m) {
  if (m->dl)
    dlclose(m->dl);
  for (int i = 0; i < m->nexp; i++)
    hl__free(m->exports[i].name);
  hl__free(m->exports);
  hl__free(m->source);
  hl__free(m->url);
  hl__free(m->attrs);
  hl__free(m);
}

static void hl__modsys_free_cb(uv_handle_t *h) {
  hl__free(hl__container_of((uv_async_t *)h, hl__modsys_t, async));
}

static void hl__modsys_close(hl__loop_t *L) {
  hl__modsys_t *M = L->modsys;
  if (!M)
    return;
  hl__hooks_thread_stop(M);
  /* Modules close in reverse load order: a plugin may use one loaded before it. */
  while (M->last) {
    hl_module_t *m = M->last;
    M->last = m->lprev;
    hl__module_free(m);
  }
  hl__free(M->buckets);
  for (int i = M->n_off - 1; i >= 0; i--) {
    hl__free((char *)M->off[i].id);
    dlclose(M->off_dl[i]);
  }
  hl__free(M->off);
  hl__free(M->off_dl);
  while (M->hk_head) {
    struct hl_module_hooks_handle_s *h = M->hk_head;
    M->hk_head = h->next;
    hl__free(h);
  }
  while (M->hk_removed) {
    struct hl_module_hooks_handle_s *h = M->hk_removed;
    M->hk_removed = h->next;
    hl__free(h);
  }
  for (int i = 0; i < M->npaths; i++)
    hl__free(M->paths[i]);
  hl__free(M->paths);
  hl__free(M->last_err);
  hl__pool_destroy(&M->import_pool);
  uv_mutex_destroy(&M->mu);
  uv_mutex_destroy(&M->paths_mu);
  uv_cond_destroy(&M->cv_work);
  uv_cond_destroy(&M->cv_done);
  L->modsys = NULL;
  L->modsys_close = NULL;
  uv_close((uv_handle_t *)&M->async, hl__modsys_free_cb);
}

/* ---- cache ------------------------------------------------------------------------ */

static uint32_t hl__hash(const char *url, const char *attrs) {
  uint32_t h = 2166136261u;
  for (const char *p = url; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  h = (h ^ 0xffu) * 16777619u;
  if (attrs)
    for (const char *p = attrs; *p; p++)
      h = (h ^ (unsigned char)*p) * 16777619u;
  return h;
}

static int hl__attrs_eq(const char *a, const char *b) {
  if (!a || !*a)
    return !b || !*b;
  return b && strcmp(a, b) == 0;
}

static hl_module_t *hl__cache_find(hl__modsys_t *M, const char *url, const char *attrs) {
  uint32_t h = hl__hash(url, attrs && *attrs ? attrs : NULL);
  for (hl_module_t *m = M->buckets[h & (M->nbuckets - 1)]; m; m = m->hnext)
    if (m->hash == h && strcmp(m->url, url) == 0 && hl__attrs_eq(m->attrs, attrs))
      return m;
  return NULL;
}

static void hl__cache_insert(hl__modsys_t *M, hl_module_t *m) {
  if (M->nmods + 1 > M->nbuckets - M->nbuckets / 4) {
    uint32_t n = M->nbuckets * 2;
    hl_module_t **b = hl__calloc(n, sizeof *b);
    if (b) { /* without memory the table just gets denser */
      for (uint32_t i = 0; i < M->nbuckets; i++)
        for (hl_module_t *m2 = M->buckets[i], *nx; m2; m2 = nx) {
          nx = m2->hnext;
          m2->hnext = b[m2->hash & (n - 1)];
          b[m2->hash & (n - 1)] = m2;
        }
      hl__free(M->buckets);
      M->buckets = b;
      M->nbuckets = n;
    }
  }
  hl_module_t **b = &M->buckets[m->hash & (M->nbuckets - 1)];
  m->hnext = *b;
  *b = m;
  M->nmods++;
  m->lprev = M->last;
  m->lnext = NULL;
  if (M->last)
    M->last->lnext = m;
  else
    M->first = m;
  M->last = m;
}

static void hl__cache_remove(hl__modsys_t *M, hl_module_t *m) {
  for (hl_module_t **p = &M->buckets[m->hash & (M->nbuckets - 1)]; *p; p = &(*p)->hnext)
    if (*p == m) {
      *p = m->hnext;
      break;
    }
  M->nmods--;
  if (m->lprev)
    m->lprev->lnext = m->lnext;
  else
    M->first = m->lnext;
  if (m->lnext)
    m->lnext->lprev = m->lprev;
  else
    M->last = m->lprev;
}

/* ---- instantiation -------------------------------------------------------------- */

static int hl__instantiate(hl__modsys_t *M, hl__mreq_t *r, const char *url, const char *attrs,
                           const hl_module_load_result_t *ld, hl_module_t **out) {
  const char *fmt = hl__format_intern(ld->format);
  if (!fmt)
    return hl__mreq_fail(r, HL_EUNKNOWNFORMAT,
                         "Unknown module format: %s for URL %s (expected native, json, text or "
                         "binary)",
                         ld->format, url);
  hl_module_t *m = hl__calloc(1, sizeof *m);
  if (!m)
    return HL_ENOMEM;
  m->M = M;
  m->format = fmt;
  m->url = hl__strdup(url);
  m->attrs = attrs && *attrs ? hl__strdup(attrs) : NULL;
  if (!m->url || (attrs && *attrs && !m->attrs)) {
    hl__module_free(m);
    return HL_ENOMEM;
  }
  m->hash = hl__hash(url, m->attrs);
  if (fmt[0] != 'n') { /* json, text, binary: keep a NUL-terminated copy */
    m->source = hl__malloc(ld->length + 1);
    if (!m->source) {
      hl__module_free(m);
      return HL_ENOMEM;
    }
    if (ld->length)
      memcpy(m->source, ld->source, ld->length);
    ((char *)m->source)[ld->length] = 0;
    m->length = ld->length;
    m->ready = 1;
    hl__cache_insert(M, m);
    *out = m;
    return 0;
  }
  int rc = hl__native_open(r, url, ld->source, ld->length, &m->dl);
  if (rc) {
    hl__module_free(m);
    return rc;
  }
  hl_module_init_fn init = (hl_module_init_fn)dlsym(m->dl, "hl_module_init");
  if (!init) {
    hl__module_free(m);
    return hl__mreq_fail(r, HL_EBADMODULE, "%s has no hl_module_init entry point", url);
  }
  /* In the cache while it initializes: a cycle back to it finds it. */
  hl__cache_insert(M, m);
  rc = init(m);
  if (rc) {
    hl__cache_remove(M, m);
    hl__module_free(m);
    int code = rc < 0 ? rc : HL_EINVAL;
    char d[160];
    return hl__mreq_fail(r, code, "%s: hl_module_init failed: %s", url,
                         hl__errdesc(code, d, sizeof d));
  }
  m->ready = 1;
  *out = m;
  return 0;
}

static const char *hl__msg(hl__mreq_t *r, int rc) {
  return r && r->msg && r->code == rc ? r->msg : hl_strerror(rc);
}

static void hl__set_last_error(hl__modsys_t *M, const char *msg) {
  hl__free(M->last_err);
  M->last_err = msg ? hl__strdup(msg) : NULL;
}

/* ---- require ---------------------------------------------------------------------- */

static int hl__require(hl__modsys_t *M, const char *spec, const char *parent, const char *attrs,
                       hl_module_t **out) {
  hl__mreq_t *r = hl__mreq_new(M, 0);
  if (!r) {
    hl__set_last_error(M, "out of memory");
    return HL_ENOMEM;
  }
  hl_module_resolve_context_t rctx = {r->conditions, parent, attrs};
  int rc = hl__chain_resolve(r, spec, &rctx, &r->res);
  if (!rc) {
    const char *url = r->res.url;
    const char *a = r->res.attributes ? r->res.attributes : attrs;
    hl_module_t *m = hl__cache_find(M, url, a);
    if (!m) {
      hl_module_load_context_t lctx = {r->conditions, r->res.format, a};
      rc = hl__chain_load(r, url, &lctx, &r->load);
      if (!rc) {
        m = hl__cache_find(M, url, a); /* a cycle through a hook may have loaded it */
        if (!m)
          rc = hl__instantiate(M, r, url, a, &r->load, &m);
      }
    }
    if (!rc) {
      *out = m;
      hl__set_last_error(M, "");
    }
  }
  if (rc)
    hl__set_last_error(M, hl__msg(r, rc));
  hl__mreq_free(r);
  return rc;
}

HL_EXPORT int hl_require_with(hl_loop_t *loop, const char *specifier, const char *parent_url,
                              const char *attributes, hl_module_t **out) {
  if (out)
    *out = NULL;
  hl__modsys_t *M = hl__M(loop);
  if (!specifier || !out)
    return HL_EINVAL;
  if (!M)
    return hl__L(loop) ? HL_ENOMEM : HL_EINVAL;
  return hl__require(M, specifier, parent_url, attributes, out);
}

HL_EXPORT int hl_require(hl_loop_t *loop, const char *specifier, const char *parent_url,
                         hl_module_t **out) {
  return hl_require_with(loop, specifier, parent_url, NULL, out);
}

HL_EXPORT const char *hl_module_last_error(const hl_loop_t *loop) {
  hl__loop_t *L = hl__L(loop);
  if (!L)
    return NULL;
  return L->modsys && L->modsys->last_err ? L->modsys->last_err : "";
}

/* ---- import ------------------------------------------------------------------------ */

static void hl__import_ready(hl__modsys_t *M, hl__import_t *imp, int rc, const char *msg) {
  imp->status = rc;
  if (rc) {
    imp->err = hl_error_new(rc, "%s", msg ? msg : hl_strerror(rc));
    if (!imp->err)
      imp->err = hl__oom_error();
  }
  imp->next = NULL;
  if (M->ready_tail)
    M->ready_tail->next = imp;
  else
    M->ready_head = imp;
  M->ready_tail = imp;
  uv_async_send(&M->async);
}

static void hl__import_loaded(hl__modsys_t *M, hl__inflight_t *fl, int rc) {
  for (hl__inflight_t **p = &M->inflight; *p; p = &(*p)->next)
    if (*p == fl) {
      *p = fl->next;
      break;
    }
  hl_module_t *m = NULL;
  if (!rc) {
    m = hl__cache_find(M, fl->url, fl->attrs); /* a require may have won the race */
    if (!m)
      rc = hl__instantiate(M, fl->r, fl->url, fl->attrs, &fl->r->load, &m);
  }
  const char *msg = rc ? hl__msg(fl->r, rc) : NULL;
  while (fl->waiters) {
    hl__import_t *w = fl->waiters;
    fl->waiters = w->next;
    hl__import_ready(M, w, rc, msg);
  }
  hl__mreq_free(fl->r);
  hl__free(fl);
}

static void hl__import_load_done(hl__modsys_t *M, hl__hjob_t *job) {
  hl__import_loaded(M, job->owner, job->rc);
}

static void hl__import_resolved(hl__modsys_t *M, hl__import_t *imp, int rc) {
  hl__mreq_t *r = imp->r;
  if (rc) {
    hl__import_ready(M, imp, rc, hl__msg(r, rc));
    return;
  }
  const char *url = r->res.url;
  const char *attrs = r->res.attributes;
  if (hl__cache_find(M, url, attrs)) {
    hl__import_ready(M, imp, 0, NULL);
    return;
  }
  for (hl__inflight_t *fl = M->inflight; fl; fl = fl->next)
    if (strcmp(fl->url, url) == 0 && hl__attrs_eq(fl->attrs, attrs)) {
      imp->next = fl->waiters; /* order of callbacks does not matter: each gets its own */
      fl->waiters = imp;
      return;
    }
  hl__inflight_t *fl = hl__calloc(1, sizeof *fl);
  hl__mreq_t *lr = fl ? hl__mreq_new(M, 1) : NULL;
  char *u = lr ? hl__arena_strdup(&lr->arena, url) : NULL;
  char *a = lr && attrs ? hl__arena_strdup(&lr->arena, attrs) : NULL;
  if (!u || (attrs && !a)) {
    hl__mreq_free(lr);
    hl__free(fl);
    hl__import_ready(M, imp, HL_ENOMEM, NULL);
    return;
  }
  fl->r = lr;
  fl->url = u;
  fl->attrs = a;
  fl->waiters = imp;
  imp->next = NULL;
  fl->next = M->inflight;
  M->inflight = fl;
  const char *format = r->res.format ? hl__arena_strdup(&lr->arena, r->res.format) : NULL;
  hl_module_load_context_t lctx = {lr->conditions, format, a};
  if (M->n_off_load > 0 && M->n_in_load == 0) {
    fl->job = (hl__hjob_t){.kind = HL__PH_LOAD,
                           .r = lr,
                           .str = u,
                           .lctx = lctx,
                           .lout = &lr->load,
                           .on_done = hl__import_load_done,
                           .owner = fl};
    hl__hooks_post_async(M, &fl->job);
    return;
  }
  hl__import_loaded(M, fl, hl__chain_load(lr, u, &lctx, &lr->load));
}

static void hl__import_resolve_done(hl__modsys_t *M, hl__hjob_t *job) {
  hl__import_t *imp = job->owner;
  if (!job->rc && !imp->r->res.attributes)
    imp->r->res.attributes = job->rctx.attributes;
  hl__import_resolved(M, imp, job->rc);
}

/* Run one import's callback in its MODULEREQ context, then end the resource. */
static void hl__import_deliver(hl__modsys_t *M, hl__import_t *imp) {
  hl__loop_t *L = M->L;
  hl_module_t *m = NULL;
  int status = imp->status;
  if (!status) {
    /* look it up now: a module whose init failed after this import found it
     * initializing is gone */
    m = hl__cache_find(M, imp->r->res.url, imp->r->res.attributes);
    if (!m) {
      status = HL_EBADMODULE;
      imp->err = hl_error_new(status, "%s failed to initialize", imp->r->res.url);
      if (!imp->err)
        imp->err = hl__oom_error();
    }
  }
  hl_async_id_t id = imp->async.id;
  hl_import_cb cb = imp->cb;
  void *arg = imp->arg;
  hl_error_t *err = imp->err;
  hl__mreq_free(imp->r);
  imp->r = NULL;
  imp->err = NULL;
  hl__loop_t *prev = hl__enter(L, &imp->async);
  cb(status, m, err, arg);
  hl__leave(L, id, prev);
  hl_error_free(err);
  L->live--;
  if (--M->pending == 0)
    uv_unref((uv_handle_t *)&M->async);
  hl__async_end(L, &imp->async, imp, &M->import_pool);
}

void hl__modsys_async_cb(uv_async_t *h) {
  hl__modsys_t *M = hl__container_of(h, hl__modsys_t, async);
  for (;;) {
    uv_mutex_lock(&M->mu);
    hl__hjob_t *done = M->done_head;
    M->done_head = M->done_tail = NULL;
    uv_mutex_unlock(&M->mu);
    while (done) {
      hl__hjob_t *j = done;
      done = j->next;
      j->on_done(M, j);
    }
    if (!M->ready_head)
      break;
    while (M->ready_head) {
      hl__import_t *imp = M->ready_head;
      M->ready_head = imp->next;
      if (!M->ready_head)
        M->ready_tail = NULL;
      hl__import_deliver(M, imp);
    }
  }
}

HL_EXPORT int hl_import_with(hl_loop_t *loop, const char *specifier, const char *parent_url,
                             const char *attributes, hl_import_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !specifier || !cb)
    return HL_EINVAL;
  hl__modsys_t *M = hl__modsys_get(L);
  if (!M)
    return HL_ENOMEM;
  hl__import_t *imp = hl__pool_get(&M->import_pool);
  if (!imp)
    return HL_ENOMEM;
  hl__mreq_t *r = hl__mreq_new(M, 1);
  char *spec = r ? hl__arena_strdup(&r->arena, specifier) : NULL;
  char *parent = r && parent_url ? hl__arena_strdup(&r->arena, parent_url) : NULL;
  char *attrs = r && attributes ? hl__arena_strdup(&r->arena, attributes) : NULL;
  if (!spec || (parent_url && !parent) || (attributes && !attrs)) {
    hl__mreq_free(r);
    hl__pool_put(&M->import_pool, imp);
    return HL_ENOMEM;
  }
  imp->M = M;
  imp->cb = cb;
  imp->arg = arg;
  imp->r = r;
  imp->next = NULL;
  imp->status = 0;
  imp->err = NULL;
  hl__async_init(L, &imp->async, "MODULEREQ", -1, imp);
  L->live++;
  if (M->pending++ == 0)
    uv_ref((uv_handle_t *)&M->async);
  hl_module_resolve_context_t rctx = {r->conditions, parent, attrs};
  if (M->n_off_resolve > 0 && M->n_in_resolve == 0) {
    imp->job = (hl__hjob_t){.kind = HL__PH_RESOLVE,
                            .r = r,
                            .str = spec,
                            .rctx = rctx,
                            .rout = &r->res,
                            .on_done = hl__import_resolve_done,
                            .owner = imp};
    hl__hooks_post_async(M, &imp->job);
    return 0;
  }
  int rc = hl__chain_resolve(r, spec, &rctx, &r->res);
  if (!rc && !r->res.attributes)
    r->res.attributes = attrs;
  hl__import_resolved(M, imp, rc);
  return 0;
}

HL_EXPORT int hl_import(hl_loop_t *loop, const char *specifier, const char *parent_url,
                        hl_import_cb cb, void *arg) {
  return hl_import_with(loop, specifier, parent_url, NULL, cb, arg);
}

static void hl__import_promise_cb(int status, hl_module_t *m, const hl_error_t *err, void *arg) {
  hl_promise_t *p = arg;
  if (status == 0)
    hl_promise_resolve(p, m, NULL);
  else
    hl_promise_reject_error(p, status, "%s", err ? err->message : hl_strerror(status));
}

HL_EXPORT int hl_import_promise(hl_loop_t *loop, const char *specifier, const char *parent_url,
                                hl_promise_t **out) {
  if (out)
    *out = NULL;
  if (!hl__L(loop) || !specifier || !out)
    return HL_EINVAL;
  hl_promise_t *p;
  int rc = hl_promise_new(loop, &p);
  if (rc)
    return rc;
  rc = hl_import(loop, specifier, parent_url, hl__import_promise_cb, p);
  if (rc) {
    hl_promise_resolve(p, NULL, NULL); /* settled, nobody holds it: swept */
    return rc;
  }
  *out = p;
  return 0;
}

/* ---- configuration, registration ------------------------------------------------- */

HL_EXPORT int hl_module_add_path(hl_loop_t *loop, const char *dir) {
  hl__modsys_t *M = hl__M(loop);
  if (!dir || !*dir)
    return HL_EINVAL;
  if (!M)
    return hl__L(loop) ? HL_ENOMEM : HL_EINVAL;
  char *d = hl__strdup(dir);
  if (!d)
    return HL_ENOMEM;
  uv_mutex_lock(&M->paths_mu);
  char **p = hl__realloc(M->paths, (size_t)(M->npaths + 1) * sizeof *p);
  if (p) {
    M->paths = p;
    M->paths[M->npaths++] = d;
  }
  uv_mutex_unlock(&M->paths_mu);
  if (!p) {
    hl__free(d);
    return HL_ENOMEM;
  }
  return 0;
}

HL_EXPORT int hl_module_cache_size(const hl_loop_t *loop) {
  hl__loop_t *L = hl__L(loop);
  if (!L)
    return HL_EINVAL;
  return L->modsys ? (int)L->modsys->nmods : 0;
}

HL_EXPORT int hl_module_register_hooks(hl_loop_t *loop, const hl_module_hooks_t *hooks, void *arg,
                                       hl_module_hooks_handle_t **handle) {
  if (handle)
    *handle = NULL;
  hl__modsys_t *M = hl__M(loop);
  if (!hooks || (!hooks->resolve && !hooks->load))
    return HL_EINVAL;
  if (!M)
    return hl__L(loop) ? HL_ENOMEM : HL_EINVAL;
  char name[32];
  const char *nm = hooks->name;
  if (!nm) {
    snprintf(name, sizeof name, "hooks#%d", M->hk_seq + 1);
    nm = name;
  }
  size_t n = strlen(nm) + 1;
  struct hl_module_hooks_handle_s *h = hl__malloc(sizeof *h + n);
  if (!h)
    return HL_ENOMEM;
  memcpy(h->name, nm, n);
  h->M = M;
  h->removed = 0;
  h->ent = (hl__hookent_t){h->name, hooks->resolve, hooks->load, arg};
  h->next = NULL;
  h->prev = M->hk_tail;
  if (M->hk_tail)
    M->hk_tail->next = h;
  else
    M->hk_head = h;
  M->hk_tail = h;
  M->hk_seq++;
  M->n_in_resolve += hooks->resolve != NULL;
  M->n_in_load += hooks->load != NULL;
  if (handle)
    *handle = h;
  return 0;
}

HL_EXPORT int hl_module_hooks_deregister(hl_module_hooks_handle_t *h) {
  if (!h || h->removed)
    return HL_EINVAL;
  hl__modsys_t *M = h->M;
  if (h->prev)
    h->prev->next = h->next;
  else
    M->hk_head = h->next;
  if (h->next)
    h->next->prev = h->prev;
  else
    M->hk_tail = h->prev;
  M->n_in_resolve -= h->ent.resolve != NULL;
  M->n_in_load -= h->ent.load != NULL;
  h->removed = 1;
  /* A request running now may still hold its name: keep the memory (on a
   * removed list reachable from nothing but the handle) until the loop closes. */
  h->prev = NULL;
  h->next = M->hk_removed;
  M->hk_removed = h;
  h->ent.resolve = NULL;
  h->ent.load = NULL;
  return 0;
}

HL_EXPORT int hl_module_register(hl_loop_t *loop, const char *hooks_specifier,
                                 const char *parent_url, const void *data, size_t len) {
  hl__modsys_t *M = hl__M(loop);
  if (!hooks_specifier || (len && !data))
    return HL_EINVAL;
  if (!M)
    return hl__L(loop) ? HL_ENOMEM : HL_EINVAL;
  int rc = hl__hooks_thread_start(M);
  if (rc) {
    hl__set_last_error(M, "cannot start the hooks thread");
    return rc;
  }
  hl__mreq_t *r = hl__mreq_new(M, 0);
  if (!r) {
    hl__set_last_error(M, "out of memory");
    return HL_ENOMEM;
  }
  hl_module_resolve_context_t rctx = {r->conditions, parent_url, NULL};
  rc = hl__chain_resolve(r, hooks_specifier, &rctx, &r->res);
  if (!rc) {
    hl_module_load_context_t lctx = {r->conditions, "native", r->res.attributes};
    rc = hl__chain_load(r, r->res.url, &lctx, &r->load);
  }
  if (!rc && (!r->load.format || strcmp(r->load.format, "native") != 0))
    rc = hl__mreq_fail(r, HL_EUNKNOWNFORMAT,
                       "Hooks object %s must be loaded as format native, not %s", r->res.url,
                       r->load.format ? r->load.format : "NULL");
  void *copy = NULL;
  if (!rc && len) {
    copy = hl__malloc(len);
    if (!copy)
      rc = HL_ENOMEM;
    else
      memcpy(copy, data, len);
  }
  if (!rc) {
    hl__hjob_t job = {.kind = HL__HJ_REGISTER,
                      .r = r,
                      .str = r->res.url,
                      .lout = &r->load,
                      .data = copy,
                      .len = len};
    rc = hl__hooks_call_sync(M, &job);
    if (!rc) {
      M->n_off_resolve += job.has[1];
      M->n_off_load += job.has[2];
    }
  }
  hl__free(copy);
  hl__set_last_error(M, rc ? hl__msg(r, rc) : "");
  hl__mreq_free(r);
  return rc;
}

/* ---- modules -------------------------------------------------------------------------- */

HL_EXPORT int hl_module_export(hl_module_t *m, const char *name, void *ptr) {
  if (!m || !name)
    return HL_EINVAL;
  for (int i = 0; i < m->nexp; i++)
    if (strcmp(m->exports[i].name, name) == 0) {
      m->exports[i].ptr = ptr;
      return 0;
    }
  if (m->nexp == m->capexp) {
    int cap = m->capexp ? m->capexp * 2 : 4;
    struct hl__export_s *e = hl__realloc(m->exports, (size_t)cap * sizeof *e);
    if (!e)
      return HL_ENOMEM;
    m->exports = e;
    m->capexp = cap;
  }
  char *nm = hl__strdup(name);
  if (!nm)
    return HL_ENOMEM;
  m->exports[m->nexp].name = nm;
  m->exports[m->nexp].ptr = ptr;
  m->nexp++;
  return 0;
}

HL_EXPORT void *hl_module_get(const hl_module_t *m, const char *name) {
  if (!m || !name)
    return NULL;
  for (int i = 0; i < m->nexp; i++)
    if (strcmp(m->exports[i].name, name) == 0)
      return m->exports[i].ptr;
  return NULL;
}

HL_EXPORT const char *hl_module_url(const hl_module_t *m) {
  return m ? m->url : NULL;
}

HL_EXPORT const char *hl_module_format(const hl_module_t *m) {
  return m ? m->format : NULL;
}

HL_EXPORT const char *hl_module_attributes(const hl_module_t *m) {
  return m ? m->attrs : NULL;
}

HL_EXPORT const void *hl_module_source(const hl_module_t *m, size_t *length) {
  if (length)
    *length = m ? m->length : 0;
  return m ? m->source : NULL;
}

HL_EXPORT hl_loop_t *hl_module_loop(const hl_module_t *m) {
  return m ? m->M->L->pub : NULL;
}
