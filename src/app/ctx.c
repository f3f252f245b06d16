/* src/app/ctx.c - the app object (routes, stage lists, store) and the context
 * API: request accessors, `set`, and the per-request arena.
 *
 * A request is one pooled object (the app's pool) that embeds its context and
 * the first block of its arena, so a request whose memory fits in that block
 * (the common case, also with trace on) costs no heap allocation. Larger needs
 * chain extra blocks, freed together when the request ends.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "app_internal.h"
#include "http/http_internal.h"

const char *const hl__stage_names[HL_STAGE_COUNT] = {"request",      "parse",  "transform",
                                                     "beforeHandle", "handle", "afterHandle",
                                                     "mapResponse",  "error",  "afterResponse"};

HL_EXPORT const char *hl_stage_name(hl_stage_t stage) {
  return (unsigned)stage < HL_STAGE_COUNT ? hl__stage_names[stage] : NULL;
}

int hl__fn_names(hl__fn_t *f, hl_stage_t stage) {
  const char *sn = hl__stage_names[stage];
  size_t sl = strlen(sn), n = strlen(f->name), len = 2 + sl + 1 + n + 5;
  size_t size = len + 1 < HL__ST_PRE_PAD ? HL__ST_PRE_PAD : len + 1;
  char *p = hl__malloc(size);
  if (p == NULL)
    return HL_ENOMEM;
  memset(p + len, 0, size - len);
  p[0] = ',';
  p[1] = ' ';
  memcpy(p + 2, sn, sl);
  p[2 + sl] = '.';
  for (size_t i = 0; i < n; i++) /* a metric name is an HTTP token */
    p[2 + sl + 1 + i] =
        hl__http_tchar[(unsigned char)f->name[i]] ? f->name[i] : '_'; /* a metric token */
  memcpy(p + 2 + sl + 1 + n, ";dur=", 6);
  f->st_pre = p;
  f->st_pre_len = len;
  return 0;
}

void hl__fn_free_names(hl__fn_t *f) {
  hl__free((void *)f->st_pre);
  hl__free((void *)f->name);
  f->st_pre = f->name = NULL;
}

int hl__fnlist_add(hl__fnlist_t *l, hl_stage_t stage, const char *name, hl_app_fn fn, void *arg) {
  if (l->n == l->cap) {
    unsigned cap = l->cap ? l->cap * 2 : 4;
    hl__fn_t *v = hl__realloc(l->v, cap * sizeof(*v));
    if (v == NULL)
      return HL_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  hl__fn_t *f = &l->v[l->n];
  f->st_pre = NULL;
  f->name = hl__strdup(name ? name : "anonymous");
  if (f->name == NULL || hl__fn_names(f, stage) != 0) {
    hl__free((void *)f->name);
    return HL_ENOMEM;
  }
  f->fn = fn;
  f->arg = arg;
  l->n++;
  return 0;
}

void hl__fnlist_free(hl__fnlist_t *l) {
  for (unsigned i = 0; i < l->n; i++)
    hl__fn_free_names(&l->v[i]);
  hl__free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

HL_EXPORT int hl_app_new(hl_loop_t *loop, hl_app_t **out) {
  if (loop == NULL || loop->impl == NULL || out == NULL)
    return HL_EINVAL;
  hl_app_t *app = hl__calloc(1, sizeof(*app));
  if (app == NULL)
    return HL_ENOMEM;
  app->loop = loop;
  hl__pool_init(&app->pool, sizeof(hl_ctx_t), 8);
  *out = app;
  return 0;
}

static void route_free(hl_route_t *r) {
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl__fnlist_free(&r->stages[s]);
  for (unsigned i = 0; i < r->n_names_mem; i++)
    hl__free(r->names_mem[i]);
  hl__fn_free_names(&r->handler);
  hl__free(r->path);
  hl__free(r);
}

static void ctx_free_each(void *obj, void *arg) {
  (void)arg;
  hl__free(((hl_ctx_t *)obj)->hio_body); /* the HTTP adapter's body buffer */
}

HL_EXPORT int hl_app_free(hl_app_t *app) {
  if (app == NULL)
    return HL_EINVAL;
  if (app->live || app->held) /* in their lifecycle, or held by a promise / stream */
    return HL_EBUSY;
  if (hl__app_http_busy(app)) /* listening, closing, or HTTP requests not yet ended */
    return HL_EBUSY;
  hl__app_http_free(app);
  hl__router_free(app);
  while (app->routes) {
    hl_route_t *r = app->routes;
    app->routes = r->next;
    route_free(r);
  }
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl__fnlist_free(&app->stages[s]);
  hl__free(app->traces);
  hl__pool_each(&app->pool, ctx_free_each, NULL);
  hl__pool_destroy(&app->pool);
  hl__free(app);
  return 0;
}

HL_EXPORT hl_loop_t *hl_app_loop(const hl_app_t *app) {
  return app ? app->loop : NULL;
}
HL_EXPORT void hl_app_set_store(hl_app_t *app, void *store) {
  if (app)
    app->store = store;
}
HL_EXPORT void *hl_app_store(const hl_app_t *app) {
  return app ? app->store : NULL;
}

HL_EXPORT int hl_app_route(hl_app_t *app, unsigned methods, const char *path, const char *name,
                           hl_app_fn handler, void *arg, hl_route_t **out) {
  if (app == NULL || path == NULL || handler == NULL || methods == 0 ||
      (methods & ~(unsigned)HL_ANY_METHOD) || path[0] != '/')
    return HL_EINVAL;
  if (app->live)
    return HL_ESTATE;
  hl_route_t *r = hl__calloc(1, sizeof(*r));
  if (r == NULL)
    return HL_ENOMEM;
  r->app = app;
  r->methods = methods;
  r->handler.fn = handler;
  r->handler.arg = arg;
  r->handler.name = hl__strdup(name ? name : "anonymous");
  r->path = hl__strdup(path);
  if (r->handler.name == NULL || r->path == NULL ||
      hl__fn_names(&r->handler, HL_STAGE_HANDLE) != 0) {
    route_free(r);
    return HL_ENOMEM;
  }
  int rc = hl__router_add(app, r, path);
  if (rc != 0) {
    /* slots already set for this route (an optional expansion) point at it:
     * keep the route alive with the app, but refuse */
    if (r->n_names_mem == 0) {
      route_free(r);
      return rc;
    }
    r->next = app->routes;
    app->routes = r;
    return rc;
  }
  r->next = app->routes;
  app->routes = r;
  if (out)
    *out = r;
  return 0;
}

HL_EXPORT int hl_app_on(hl_app_t *app, hl_stage_t stage, const char *name, hl_app_fn fn,
                        void *arg) {
  if (app == NULL || fn == NULL || (unsigned)stage >= HL_STAGE_COUNT || stage == HL_STAGE_HANDLE)
    return HL_EINVAL;
  int rc = hl__fnlist_add(&app->stages[stage], stage, name, fn, arg);
  if (rc == 0)
    app->stage_mask |= 1u << stage;
  return rc;
}

HL_EXPORT int hl_route_on(hl_route_t *route, hl_stage_t stage, const char *name, hl_app_fn fn,
                          void *arg) {
  if (route == NULL || fn == NULL || (unsigned)stage >= HL_STAGE_COUNT ||
      stage == HL_STAGE_HANDLE || stage == HL_STAGE_REQUEST)
    return HL_EINVAL;
  int rc = hl__fnlist_add(&route->stages[stage], stage, name, fn, arg);
  if (rc == 0)
    route->stage_mask |= 1u << stage;
  return rc;
}

HL_EXPORT int hl_app_trace(hl_app_t *app, hl_trace_fn fn, void *arg) {
  if (app == NULL || fn == NULL)
    return HL_EINVAL;
  if (app->ntraces == app->cap_traces) {
    unsigned cap = app->cap_traces ? app->cap_traces * 2 : 4;
    hl__trace_reg_t *v = hl__realloc(app->traces, cap * sizeof(*v));
    if (v == NULL)
      return HL_ENOMEM;
    app->traces = v;
    app->cap_traces = cap;
  }
  app->traces[app->ntraces].fn = fn;
  app->traces[app->ntraces].arg = arg;
  app->ntraces++;
  app->traced = 1;
  return 0;
}

/* ---- arena ------------------------------------------------------------------ */
#define ALIGN(n) (((n) + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1))

HL_EXPORT void *hl_ctx_alloc(hl_ctx_t *r, size_t size) {
  if (r == NULL || size > ((size_t)1 << 40))
    return NULL;
  size = ALIGN(size ? size : 1);
  if (r->chunks == NULL) {
    if (r->used + size <= sizeof(r->buf)) {
      void *p = (char *)r->buf + r->used;
      r->used += size;
      return p;
    }
  } else if (r->chunks->used + size <= r->chunks->cap) {
    void *p = (char *)r->chunks->mem + r->chunks->used;
    r->chunks->used += size;
    return p;
  }
  size_t cap = size > 16384 ? size : 16384;
  hl__chunk_t *c = hl__malloc(sizeof(*c) + cap);
  if (c == NULL)
    return NULL;
  c->cap = cap;
  c->used = size;
  c->next = r->chunks;
  r->chunks = c;
  return c->mem;
}

HL_EXPORT char *hl_ctx_strdup(hl_ctx_t *r, const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s);
  char *p = hl_ctx_alloc(r, n + 1);
  if (p)
    memcpy(p, s, n + 1);
  return p;
}

HL_EXPORT char *hl_ctx_printf(hl_ctx_t *r, const char *fmt, ...) {
  if (r == NULL || fmt == NULL)
    return NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  char *p = hl_ctx_alloc(r, (size_t)n + 1);
  if (p == NULL)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

HL_EXPORT hl_value_t *hl_ctx_value(hl_ctx_t *r, hl_value_t v) {
  hl_value_t *p = hl_ctx_alloc(r, sizeof(*p));
  if (p)
    *p = v;
  return p;
}

int hl__ctx_cleanup(hl_ctx_t *r, void (*fn)(void *), void *p) {
  hl__cleanup_t *c = hl_ctx_alloc(r, sizeof(*c));
  if (c == NULL) {
    fn(p);
    return HL_ENOMEM;
  }
  c->fn = fn;
  c->p = p;
  c->next = r->cleanups;
  r->cleanups = c;
  return 0;
}

void hl__ctx_release_memory(hl_ctx_t *r) {
  while (r->cleanups) {
    hl__cleanup_t *c = r->cleanups;
    r->cleanups = c->next;
    c->fn(c->p);
  }
  while (r->chunks) {
    hl__chunk_t *c = r->chunks;
    r->chunks = c->next;
    hl__free(c);
  }
  r->used = 0;
}

/* ---- accessors ------------------------------------------------------------------ */
HL_EXPORT hl_app_t *hl_ctx_app(const hl_ctx_t *r) {
  return r ? r->app : NULL;
}
HL_EXPORT void *hl_ctx_store(const hl_ctx_t *r) {
  return r ? r->app->store : NULL;
}
HL_EXPORT uint64_t hl_ctx_id(const hl_ctx_t *r) {
  return r ? r->id : 0;
}
HL_EXPORT void hl_ctx_set_data(hl_ctx_t *r, void *data) {
  if (r)
    r->data = data;
}
HL_EXPORT void *hl_ctx_data(const hl_ctx_t *r) {
  return r ? r->data : NULL;
}
HL_EXPORT const char *hl_ctx_method(const hl_ctx_t *r) {
  return r && !r->closed ? r->method : NULL;
}
HL_EXPORT const char *hl_ctx_path(const hl_ctx_t *r) {
  return r && !r->closed ? r->vt->path(r->io) : NULL;
}
HL_EXPORT const char *hl_ctx_header(const hl_ctx_t *r, const char *name) {
  return r && name && !r->closed ? r->vt->header(r->io, name) : NULL;
}
HL_EXPORT int hl_ctx_header_at(const hl_ctx_t *r, size_t i, const char **name, const char **value) {
  if (r == NULL || name == NULL || value == NULL)
    return HL_EINVAL;
  if (r->closed)
    return HL_ESTATE;
  return r->vt->header_at(r->io, i, name, value);
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into the arena (plus as space when `plus`). */
static char *decode(hl_ctx_t *r, const char *s, size_t n, int plus) {
  char *d = hl_ctx_alloc(r, n + 1), *w = d;
  if (d == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    int h, l;
    if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
        (l = hexval((unsigned char)s[i + 2])) >= 0) {
      *w++ = (char)(h * 16 + l);
      i += 2;
    } else if (plus && s[i] == '+') {
      *w++ = ' ';
    } else {
      *w++ = s[i];
    }
  }
  *w = '\0';
  return d;
}

char *hl__decode(hl_ctx_t *r, const char *s, size_t n, int plus);
char *hl__decode(hl_ctx_t *r, const char *s, size_t n, int plus) {
  return decode(r, s, n, plus);
}

HL_EXPORT const char *hl_ctx_param(hl_ctx_t *r, const char *name) {
  if (r == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < r->match.n_params; i++) {
    if (strcmp(r->match.params[i].name, name) != 0)
      continue;
    if (r->pdec[i] == NULL)
      r->pdec[i] = decode(r, r->match.params[i].value, r->match.params[i].len, 0);
    return r->pdec[i];
  }
  return NULL;
}

static void parse_query(hl_ctx_t *r) {
  r->query_done = 1;
  r->nq = 0;
  r->q = NULL;
  const char *q = r->closed ? NULL : r->vt->query(r->io);
  if (q == NULL || *q == '\0')
    return;
  size_t n = 1;
  for (const char *p = q; *p; p++)
    n += *p == '&';
  r->q = hl_ctx_alloc(r, 2 * n * sizeof(char *));
  if (r->q == NULL)
    return;
  const char *p = q;
  while (*p) {
    const char *e = strchr(p, '&');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      size_t kl = eq ? (size_t)(eq - p) : len;
      r->q[2 * r->nq] = decode(r, p, kl, 1);
      r->q[2 * r->nq + 1] = eq ? decode(r, eq + 1, len - kl - 1, 1) : decode(r, "", 0, 0);
      if (r->q[2 * r->nq] && r->q[2 * r->nq + 1])
        r->nq++;
    }
    if (e == NULL)
      break;
    p = e + 1;
  }
}

HL_EXPORT const char *hl_ctx_query(hl_ctx_t *r, const char *name) {
  if (r == NULL || name == NULL)
    return NULL;
  if (!r->query_done)
    parse_query(r);
  for (size_t i = 0; i < r->nq; i++)
    if (strcmp(r->q[2 * i], name) == 0)
      return r->q[2 * i + 1];
  return NULL;
}

HL_EXPORT const void *hl_ctx_body_raw(const hl_ctx_t *r, size_t *len) {
  if (len)
    *len = r ? r->body_len : 0;
  return r && r->body ? r->body : "";
}

HL_EXPORT const hl_value_t *hl_ctx_body(const hl_ctx_t *r) {
  static const hl_value_t none; /* (the reset does not clear `parsed`) */
  return r ? r->parsed_set ? &r->parsed : &none : NULL;
}

HL_EXPORT const hl_form_field_t *hl_ctx_form(const hl_ctx_t *r, const char *name) {
  if (r == NULL || name == NULL || !r->parsed_set || r->parsed.kind != HL_VALUE_FORM)
    return NULL;
  const hl_form_t *f = r->parsed.ptr;
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->fields[i].name, name) == 0)
      return &f->fields[i];
  return NULL;
}

HL_EXPORT int hl_ctx_set_status(hl_ctx_t *r, int status) {
  if (r == NULL || status < 100 || status > 999)
    return HL_EINVAL;
  r->status = status;
  return 0;
}
HL_EXPORT int hl_ctx_status(const hl_ctx_t *r) {
  return r ? r->status : 0;
}

static int token_ok(const char *s) {
  if (*s == '\0')
    return 0;
  for (; *s; s++)
    if (*s <= ' ' || *s == ':' || (unsigned char)*s >= 127)
      return 0;
  return 1;
}

static int set_header(hl_ctx_t *r, const char *name, char *v, int copy_name);

HL_EXPORT int hl_ctx_set_header(hl_ctx_t *r, const char *name, const char *value) {
  if (r == NULL || name == NULL || value == NULL || !token_ok(name) || strpbrk(value, "\r\n"))
    return HL_EINVAL;
  char *v = hl_ctx_strdup(r, value);
  if (v == NULL)
    return HL_ENOMEM;
  return set_header(r, name, v, 1);
}

int hl__ctx_set_header_owned(hl_ctx_t *r, const char *name, char *value) {
  return set_header(r, name, value, 0);
}

static int set_header(hl_ctx_t *r, const char *name, char *v, int copy_name) {
  for (size_t i = 0; i < r->nh; i++)
    if (hl__hname_eq(r->hdrs[i].name, name)) {
      r->hdrs[i].value = v;
      return 0;
    }
  if (r->nh == r->caph) {
    size_t cap = r->caph ? r->caph * 2 : HL__HDR_CAP0;
    hl_header_t *h = hl__ctx_alloc_fast(r, cap * sizeof(*h));
    if (h == NULL)
      return HL_ENOMEM;
    if (r->nh)
      memcpy(h, r->hdrs, r->nh * sizeof(*h));
    r->hdrs = h;
    r->caph = cap;
  }
  const char *n = copy_name ? hl_ctx_strdup(r, name) : name;
  if (n == NULL)
    return HL_ENOMEM;
  r->hdrs[r->nh].name = n;
  r->hdrs[r->nh].value = v;
  r->nh++;
  return 0;
}

HL_EXPORT const char *hl_ctx_get_header(const hl_ctx_t *r, const char *name) {
  if (r == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < r->nh; i++)
    if (hl__hname_eq(r->hdrs[i].name, name))
      return r->hdrs[i].value;
  return NULL;
}

HL_EXPORT const hl_value_t *hl_ctx_response(const hl_ctx_t *r) {
  return r ? &r->resp : NULL;
}

HL_EXPORT int hl_ctx_error(const hl_ctx_t *r, const char **message) {
  if (message)
    *message = r ? hl__ctx_errmsg(r) : NULL;
  return r ? r->err : 0;
}
