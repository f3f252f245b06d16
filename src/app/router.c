/* src/app/router.c - the radix tree that maps a method and a path to a route.
 *
 * Static text is stored in compressed nodes (a node's prefix is the common
 * part of everything below it); children are found by their first byte, so a
 * step costs at most one scan of <= 256 bytes whatever the number of routes.
 * A node may also have one parameter child (a `:name` segment: matches up to
 * the next '/') and one wildcard leaf (`*`: the rest of the path). Lookup tries
 * static, then parameter, then wildcard, backtracking when a branch has no
 * route for the method, so static routes win over parametric ones and both
 * over the wildcard. Parameter names live with each route's slot (routes
 * sharing a position may name it differently). Optional segments (`:b?`) are
 * expanded into every combination at registration.
 */
#include <string.h>
#include "app_internal.h"

static int method_index(unsigned bit) {
  return __builtin_ctz(bit);
}

HL_EXPORT unsigned hl_method_bit(const char *m) {
  if (m == NULL)
    return HL_OTHER;
  switch (m[0]) {
  case 'G': /* the commonest, without a call */
    return m[1] == 'E' && m[2] == 'T' && m[3] == '\0' ? HL_GET : HL_OTHER;
  case 'P':
    if (strcmp(m, "POST") == 0)
      return HL_POST;
    if (strcmp(m, "PUT") == 0)
      return HL_PUT;
    return strcmp(m, "PATCH") == 0 ? HL_PATCH : HL_OTHER;
  case 'D':
    return strcmp(m, "DELETE") == 0 ? HL_DELETE : HL_OTHER;
  case 'H':
    return strcmp(m, "HEAD") == 0 ? HL_HEAD : HL_OTHER;
  case 'O':
    return strcmp(m, "OPTIONS") == 0 ? HL_OPTIONS : HL_OTHER;
  default:
    return HL_OTHER;
  }
}

static hl__rnode_t *node_new(const char *p, size_t n) {
  hl__rnode_t *nd = hl__calloc(1, sizeof(*nd));
  if (nd == NULL)
    return NULL;
  nd->prefix = hl__malloc(n + 1);
  if (nd->prefix == NULL) {
    hl__free(nd);
    return NULL;
  }
  memcpy(nd->prefix, p, n);
  nd->prefix[n] = '\0';
  nd->plen = n;
  return nd;
}

static int kid_add(hl__rnode_t *nd, hl__rnode_t *kid) {
  hl__rnode_t **k = hl__realloc(nd->kids, (nd->nkids + 1) * sizeof(*k));
  if (k == NULL)
    return HL_ENOMEM;
  nd->kids = k;
  char *c = hl__realloc(nd->kidc, nd->nkids + 1);
  if (c == NULL)
    return HL_ENOMEM;
  nd->kidc = c;
  nd->kids[nd->nkids] = kid;
  nd->kidc[nd->nkids] = kid->prefix[0];
  nd->nkids++;
  return 0;
}

static hl__rnode_t *kid_find(const hl__rnode_t *nd, char c) {
  const char *p = nd->nkids ? memchr(nd->kidc, c, nd->nkids) : NULL;
  return p ? nd->kids[p - nd->kidc] : NULL;
}

/* Walk / extend the static text s[0..n) below nd; the node where it ends. */
static hl__rnode_t *insert_static(hl__rnode_t *nd, const char *s, size_t n) {
  while (n > 0) {
    hl__rnode_t *kid = kid_find(nd, s[0]);
    if (kid == NULL) {
      kid = node_new(s, n);
      if (kid == NULL || kid_add(nd, kid) != 0) {
        if (kid) {
          hl__free(kid->prefix);
          hl__free(kid);
        }
        return NULL;
      }
      return kid;
    }
    size_t c = 0;
    while (c < kid->plen && c < n && kid->prefix[c] == s[c])
      c++;
    if (c < kid->plen) { /* split kid at c: allocate everything, then relink */
      hl__rnode_t *mid = node_new(kid->prefix, c);
      char *rest = hl__malloc(kid->plen - c + 1);
      hl__rnode_t **kids = hl__malloc(sizeof(*kids));
      char *kidc = hl__malloc(1);
      if (mid == NULL || rest == NULL || kids == NULL || kidc == NULL) {
        if (mid)
          hl__free(mid->prefix);
        hl__free(mid);
        hl__free(rest);
        hl__free(kids);
        hl__free(kidc);
        return NULL;
      }
      memcpy(rest, kid->prefix + c, kid->plen - c + 1);
      hl__free(kid->prefix);
      kid->prefix = rest;
      kid->plen -= c;
      kids[0] = kid;
      kidc[0] = rest[0];
      mid->kids = kids;
      mid->kidc = kidc;
      mid->nkids = 1;
      const char *pos = memchr(nd->kidc, s[0], nd->nkids);
      nd->kids[pos - nd->kidc] = mid;
      kid = mid;
    }
    nd = kid;
    s += c;
    n -= c;
  }
  return nd;
}

/* ---- the static paths' table ---- */
static uint64_t path_hash(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
  return h;
}

static const hl__rnode_t *statics_find(const hl__statics_t *t, const char *s, size_t n) {
  if (t->n == 0)
    return NULL;
  uint64_t h = path_hash(s, n);
  for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    const hl__static_t *e = &t->v[i];
    if (e->path == NULL)
      return NULL;
    if (e->hash == h && e->len == n && memcmp(e->path, s, n) == 0)
      return e->node;
  }
}

static void statics_put(hl__static_t *v, size_t cap, const hl__static_t *e) {
  size_t i = (size_t)e->hash & (cap - 1);
  while (v[i].path)
    i = (i + 1) & (cap - 1);
  v[i] = *e;
}

/* Record the static path s[0..n) ending at nd (once per path). */
static int statics_add(hl__statics_t *t, const char *s, size_t n, const hl__rnode_t *nd) {
  if (statics_find(t, s, n))
    return 0;     /* another method's route on the same path: same node */
  t->last = NULL; /* the entries may move */
  if ((t->n + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    hl__static_t *v = hl__calloc(cap, sizeof(*v));
    if (v == NULL)
      return HL_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
      if (t->v[i].path)
        statics_put(v, cap, &t->v[i]);
    hl__free(t->v);
    t->v = v;
    t->cap = cap;
  }
  hl__static_t e = {path_hash(s, n), hl__malloc(n + 1), n, nd};
  if (e.path == NULL)
    return HL_ENOMEM;
  memcpy(e.path, s, n);
  e.path[n] = '\0';
  statics_put(t->v, t->cap, &e);
  t->n++;
  return 0;
}

/* Insert one expanded path (no optional markers). */
static int insert_path(hl_app_t *app, hl_route_t *route, const char *path) {
  const char *names[HL__MAX_PARAMS];
  unsigned nn = 0;
  hl__rnode_t *nd = &app->root;
  const char *s = path;
  while (*s) {
    const char *t = s;
    /* static text up to a ':' or '*' that opens a segment */
    while (*t && !((*t == ':' || *t == '*') && t > path && t[-1] == '/'))
      t++;
    if (t > s) {
      nd = insert_static(nd, s, (size_t)(t - s));
      if (nd == NULL)
        return HL_ENOMEM;
    }
    if (*t == '\0')
      break;
    if (nn == HL__MAX_PARAMS)
      return HL_EINVAL;
    if (*t == '*') {
      if (t[1] != '\0')
        return HL_EINVAL;
      if (nd->wild == NULL && (nd->wild = node_new("*", 1)) == NULL)
        return HL_ENOMEM;
      nd = nd->wild;
      names[nn++] = "*";
      break;
    }
    const char *e = t + 1;
    while (*e && *e != '/')
      e++;
    if (e == t + 1)
      return HL_EINVAL;
    if (nd->param == NULL && (nd->param = node_new(":", 1)) == NULL)
      return HL_ENOMEM;
    nd = nd->param;
    names[nn++] = t + 1; /* ends at '/' or NUL: copied below */
    s = e;
  }
  /* conflicts first, then the names */
  for (unsigned b = route->methods; b; b &= b - 1)
    if (nd->slot[method_index(b & -b)].route)
      return HL_EBUSY;
  if (nn == 0 && statics_add(&app->statics, path, strlen(path), nd) != 0)
    return HL_ENOMEM;
  if (route->n_names_mem == 16)
    return HL_EINVAL;
  size_t bytes = (nn + 1) * sizeof(char *);
  for (unsigned i = 0; i < nn; i++)
    bytes += strcspn(names[i], "/") + 1;
  const char **arr = hl__malloc(bytes);
  if (arr == NULL)
    return HL_ENOMEM;
  char *w = (char *)(arr + nn + 1);
  for (unsigned i = 0; i < nn; i++) {
    size_t l = strcspn(names[i], "/");
    memcpy(w, names[i], l);
    w[l] = '\0';
    arr[i] = w;
    w += l + 1;
  }
  arr[nn] = NULL;
  route->names_mem[route->n_names_mem++] = arr;
  for (unsigned b = route->methods; b; b &= b - 1) {
    int i = method_index(b & -b);
    nd->slot[i].route = route;
    nd->slot[i].names = arr;
  }
  nd->methods |= route->methods;
  return 0;
}

int hl__router_add(hl_app_t *app, hl_route_t *route, const char *path) {
  if (path[0] != '/')
    return HL_EINVAL;
  /* find optional segments ":x?" (a '?' ending a parameter segment) */
  size_t len = strlen(path);
  const char *opt[4];
  unsigned nopt = 0;
  for (const char *p = path; *p; p++) {
    if (*p == '?') {
      const char *b = p;
      while (b > path && b[-1] != '/')
        b--;
      if (*b != ':' || (p[1] != '\0' && p[1] != '/') || p == b + 1)
        return HL_EINVAL;
      if (nopt == 4)
        return HL_EINVAL;
      opt[nopt++] = b - 1; /* the '/' before the segment */
    }
  }
  if (nopt == 0)
    return insert_path(app, route, path);
  char *buf = hl__malloc(len + 1);
  if (buf == NULL)
    return HL_ENOMEM;
  int rc = 0;
  for (unsigned mask = 0; mask < (1u << nopt) && rc == 0; mask++) {
    /* bit i set: segment i present */
    char *w = buf;
    const char *p = path;
    unsigned k = 0;
    while (*p) {
      if (k < nopt && p == opt[k]) {
        const char *e = p + 1;
        while (*e && *e != '/')
          e++;
        if (mask & (1u << k)) {
          memcpy(w, p, (size_t)(e - p - 1)); /* without the '?' */
          w += e - p - 1;
        }
        p = e;
        k++;
        continue;
      }
      *w++ = *p++;
    }
    *w = '\0';
    if (w == buf) { /* "/:a?" without a: the root */
      buf[0] = '/';
      buf[1] = '\0';
    }
    rc = insert_path(app, route, buf);
  }
  hl__free(buf);
  return rc;
}

static void router_free(hl__rnode_t *nd);

void hl__router_free(hl_app_t *app) {
  router_free(&app->root);
  for (size_t i = 0; i < app->statics.cap; i++)
    hl__free(app->statics.v[i].path);
  hl__free(app->statics.v);
  app->statics.v = NULL;
  app->statics.n = app->statics.cap = 0;
  app->statics.last = NULL;
}

static void router_free(hl__rnode_t *nd) {
  for (unsigned i = 0; i < nd->nkids; i++) {
    router_free(nd->kids[i]);
    hl__free(nd->kids[i]);
  }
  if (nd->param) {
    router_free(nd->param);
    hl__free(nd->param);
  }
  if (nd->wild) {
    router_free(nd->wild);
    hl__free(nd->wild);
  }
  hl__free(nd->kids);
  hl__free(nd->kidc);
  hl__free(nd->prefix);
}

typedef struct {
  unsigned mbit;
  hl_route_match_t *m;
  const char *vals[HL__MAX_PARAMS];
  size_t lens[HL__MAX_PARAMS];
  unsigned n;
  const hl__rnode_t *first; /* first node on the path with any route (405) */
} look_t;

static int take(look_t *L, const hl__rnode_t *nd) {
  if (nd->methods == 0)
    return 0;
  if (L->first == NULL)
    L->first = nd;
  int i = -1;
  if (nd->methods & L->mbit)
    i = method_index(L->mbit);
  else if (L->mbit == HL_HEAD && (nd->methods & HL_GET))
    i = method_index(HL_GET);
  if (i < 0)
    return 0;
  hl_route_match_t *m = L->m;
  m->route = nd->slot[i].route;
  m->status = 200;
  m->n_params = L->n;
  for (unsigned k = 0; k < L->n; k++) {
    m->params[k].name = nd->slot[i].names[k];
    m->params[k].value = L->vals[k];
    m->params[k].len = L->lens[k];
  }
  return 1;
}

static int walk(look_t *L, const hl__rnode_t *nd, const char *s, size_t n) {
  if (n == 0 && take(L, nd))
    return 1;
  if (n > 0) {
    const hl__rnode_t *kid = kid_find(nd, s[0]);
    if (kid && kid->plen <= n && memcmp(kid->prefix, s, kid->plen) == 0 &&
        walk(L, kid, s + kid->plen, n - kid->plen))
      return 1;
    if (nd->param && L->n < HL__MAX_PARAMS) {
      const char *e = memchr(s, '/', n);
      size_t seg = e ? (size_t)(e - s) : n;
      if (seg > 0) {
        L->vals[L->n] = s;
        L->lens[L->n] = seg;
        L->n++;
        if (walk(L, nd->param, s + seg, n - seg))
          return 1;
        L->n--;
      }
    }
  }
  if (nd->wild && L->n < HL__MAX_PARAMS) {
    L->vals[L->n] = s;
    L->lens[L->n] = n;
    L->n++;
    if (take(L, nd->wild))
      return 1;
    L->n--;
  }
  return 0;
}

/* The walk (after the static table had no route for the method). */
static int match_walk(const hl_app_t *app, unsigned mbit, const char *path, size_t n,
                      hl_route_match_t *m) {
  look_t L;
  L.mbit = mbit;
  L.m = m;
  L.n = 0;
  L.first = NULL;
  if (walk(&L, &app->root, path, n))
    return 0;
  if (L.first) {
    m->status = 405;
    m->allow = L.first->methods;
    if (m->allow & HL_GET)
      m->allow |= HL_HEAD;
  } else {
    m->status = 404;
  }
  return 0;
}

int hl__router_match(const hl_app_t *app, unsigned mbit, const char *path, size_t n,
                     hl_route_match_t *m) {
  m->route = NULL;
  m->n_params = 0;
  m->allow = 0;
  const hl__rnode_t *st = statics_find(&app->statics, path, n);
  if (st && hl__match_static(st, mbit, m))
    return 0;
  return match_walk(app, mbit, path, n, m);
}

/* hl__router_match_str() for a path over 16 bytes whose hash and length one
 * of the static paths has (out of line: the short path's lookup makes no
 * call but its tail call). */
__attribute__((noinline)) static int match_long(const hl_app_t *app, unsigned mbit,
                                                const char *path, size_t n, hl_route_match_t *m) {
  const hl__rnode_t *st = statics_find(&app->statics, path, n);
  if (st && hl__match_static(st, mbit, m))
    return 0;
  return match_walk(app, mbit, path, n, m);
}

int hl__router_match_str(hl_app_t *app, unsigned mbit, const char *path, hl_route_match_t *m) {
  m->route = NULL;
  m->n_params = 0;
  m->allow = 0;
  /* the length and the static table's hash in one pass */
  uint64_t h = 0xcbf29ce484222325u; /* path_hash() */
  size_t n = 0;
  for (unsigned char c; (c = (unsigned char)path[n]) != 0; n++)
    h = (h ^ c) * 0x100000001b3u;
  const hl__statics_t *t = &app->statics;
  if (t->n) {
    for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
      const hl__static_t *e = &t->v[i];
      if (e->path == NULL)
        break;
      if (e->hash != h || e->len != n)
        continue;
      if (n > 16)
        return match_long(app, mbit, path, n, m);
      size_t k = 0;
      while (k < n && e->path[k] == path[k])
        k++;
      if (k < n)
        continue;
      if (hl__match_static(e->node, mbit, m)) {
        app->statics.last = e;
        return 0;
      }
      break;
    }
  }
  return match_walk(app, mbit, path, n, m);
}

HL_EXPORT int hl_app_match(const hl_app_t *app, const char *method, const char *path,
                           size_t path_len, hl_route_match_t *out) {
  if (app == NULL || method == NULL || path == NULL || out == NULL)
    return HL_EINVAL;
  return hl__router_match(app, hl_method_bit(method), path, path_len, out);
}
