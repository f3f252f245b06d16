/* src/app/body.c - the built-in body parsers (JSON with jansson, text,
 * url-encoded, multipart/form-data) and the default mapping of a value to the
 * transport's response calls.
 *
 * Everything parsed lives in the request's arena (JSON trees are jansson's,
 * released by an arena cleanup), and is valid until the request ends.
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>
#include "app_internal.h"

char *hl__decode(hl_ctx_t *r, const char *s, size_t n, int plus);

static int ctype_is(const char *ct, const char *want) {
  size_t n = strlen(want);
  if (ct == NULL || strncasecmp(ct, want, n) != 0)
    return 0;
  return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

const char *hl__parser_for(hl_ctx_t *r) {
  const char *ct = r->vt->header(r->io, "content-type");
  if (ct == NULL)
    return NULL;
  if (ctype_is(ct, "application/json"))
    return "json";
  if (strncasecmp(ct, "text/", 5) == 0)
    return "text";
  if (ctype_is(ct, "application/x-www-form-urlencoded"))
    return "urlencoded";
  if (ctype_is(ct, "multipart/form-data"))
    return "multipart";
  return NULL;
}

static void json_release(void *p) {
  json_decref(p);
}

int hl__ctx_adopt(hl_ctx_t *r, const hl_value_t *v) {
  if (v->kind == HL_VALUE_JSON && v->ptr)
    return hl__ctx_cleanup(r, json_release, v->ptr); /* on failure: already released */
  return 0;
}

static hl_value_t parse_urlencoded(hl_ctx_t *r, const char *s, size_t n) {
  size_t cap = 1;
  for (size_t i = 0; i < n; i++)
    cap += s[i] == '&';
  hl_form_t *f = hl_ctx_alloc(r, sizeof(*f));
  hl_form_field_t *fl = hl_ctx_alloc(r, cap * sizeof(*fl));
  if (f == NULL || fl == NULL)
    return hl_fail(HL_ENOMEM, NULL);
  f->n = 0;
  f->fields = fl;
  size_t i = 0;
  while (i < n) {
    const char *e = memchr(s + i, '&', n - i);
    size_t len = e ? (size_t)(e - (s + i)) : n - i;
    if (len) {
      const char *eq = memchr(s + i, '=', len);
      size_t kl = eq ? (size_t)(eq - (s + i)) : len;
      hl_form_field_t *x = &fl[f->n];
      memset(x, 0, sizeof(*x));
      x->name = hl__decode(r, s + i, kl, 1);
      char *v = eq ? hl__decode(r, eq + 1, len - kl - 1, 1) : hl__decode(r, "", 0, 0);
      if (x->name == NULL || v == NULL)
        return hl_fail(HL_ENOMEM, NULL);
      x->value = v;
      x->len = strlen(v);
      f->n++;
    }
    i += len + 1;
  }
  hl_value_t out = {HL_VALUE_FORM, 0, NULL, 0, f, NULL, NULL};
  return out;
}

/* A parameter of a header value: `name="x"` or `name=x`; arena copy or NULL. */
static char *header_param(hl_ctx_t *r, const char *h, size_t hn, const char *name) {
  size_t nl = strlen(name);
  for (size_t i = 0; i + nl < hn; i++) {
    if ((i == 0 || h[i - 1] == ';' || h[i - 1] == ' ') && strncasecmp(h + i, name, nl) == 0 &&
        h[i + nl] == '=') {
      const char *v = h + i + nl + 1, *end = h + hn;
      const char *e;
      if (v < end && *v == '"') {
        v++;
        e = memchr(v, '"', (size_t)(end - v));
        if (e == NULL)
          return NULL;
      } else {
        e = v;
        while (e < end && *e != ';' && *e != ' ')
          e++;
      }
      char *o = hl_ctx_alloc(r, (size_t)(e - v) + 1);
      if (o) {
        memcpy(o, v, (size_t)(e - v));
        o[e - v] = '\0';
      }
      return o;
    }
  }
  return NULL;
}

static hl_value_t parse_multipart(hl_ctx_t *r, const char *s, size_t n) {
  const char *ct = r->vt->header(r->io, "content-type");
  char *b = header_param(r, ct, strlen(ct), "boundary");
  if (b == NULL || *b == '\0' || strlen(b) > 200)
    return hl_fail(HL_EPARSE, "multipart body without a boundary");
  char delim[208];
  size_t dl = (size_t)snprintf(delim, sizeof(delim), "--%s", b);
  /* count parts for the array */
  size_t cap = 0;
  for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), delim, dl)) != NULL; p += dl)
    cap++;
  if (cap == 0)
    return hl_fail(HL_EPARSE, "multipart body without its boundary");
  hl_form_t *f = hl_ctx_alloc(r, sizeof(*f));
  hl_form_field_t *fl = hl_ctx_alloc(r, cap * sizeof(*fl));
  if (f == NULL || fl == NULL)
    return hl_fail(HL_ENOMEM, NULL);
  f->n = 0;
  f->fields = fl;
  const char *end = s + n;
  const char *p = memmem(s, n, delim, dl);
  for (;;) {
    p += dl;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-')
      break; /* closing delimiter */
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
      return hl_fail(HL_EPARSE, "malformed multipart delimiter");
    p += 2;
    const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (hend == NULL)
      return hl_fail(HL_EPARSE, "multipart part without a header end");
    hl_form_field_t *x = &fl[f->n];
    memset(x, 0, sizeof(*x));
    /* headers: Content-Disposition and Content-Type */
    const char *h = p;
    while (h < hend) {
      const char *le = memmem(h, (size_t)(hend + 2 - h), "\r\n", 2);
      size_t hl = (size_t)(le - h);
      if (hl > 20 && strncasecmp(h, "content-disposition:", 20) == 0) {
        x->name = header_param(r, h + 20, hl - 20, "name");
        x->filename = header_param(r, h + 20, hl - 20, "filename");
      } else if (hl > 13 && strncasecmp(h, "content-type:", 13) == 0) {
        const char *v = h + 13;
        while (*v == ' ')
          v++;
        char *c = hl_ctx_alloc(r, (size_t)(le - v) + 1);
        if (c) {
          memcpy(c, v, (size_t)(le - v));
          c[le - v] = '\0';
        }
        x->ctype = c;
      }
      h = le + 2;
    }
    const char *data = hend + 4;
    char d2[212];
    size_t d2l = (size_t)snprintf(d2, sizeof(d2), "\r\n%s", delim);
    const char *next = memmem(data, (size_t)(end - data), d2, d2l);
    if (next == NULL)
      return hl_fail(HL_EPARSE, "multipart part without its end");
    if (x->name == NULL)
      return hl_fail(HL_EPARSE, "multipart part without a name");
    char *v = hl_ctx_alloc(r, (size_t)(next - data) + 1);
    if (v == NULL)
      return hl_fail(HL_ENOMEM, NULL);
    memcpy(v, data, (size_t)(next - data));
    v[next - data] = '\0';
    x->value = v;
    x->len = (size_t)(next - data);
    f->n++;
    p = next + 2;
  }
  hl_value_t out = {HL_VALUE_FORM, 0, NULL, 0, f, NULL, NULL};
  return out;
}

hl_value_t hl__parse_builtin(hl_ctx_t *r) {
  const char *name = r->builtin_fn.name;
  const char *s = r->body ? r->body : "";
  size_t n = r->body_len;
  if (strcmp(name, "json") == 0) {
    json_error_t e;
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY, &e);
    if (j == NULL)
      return hl_fail(HL_EPARSE, hl_ctx_printf(r, "invalid JSON: %s", e.text));
    return hl_json((struct json_t *)j);
  }
  if (strcmp(name, "text") == 0) {
    char *t = hl_ctx_alloc(r, n + 1);
    if (t == NULL)
      return hl_fail(HL_ENOMEM, NULL);
    memcpy(t, s, n);
    t[n] = '\0';
    return hl_textn(t, n);
  }
  if (strcmp(name, "urlencoded") == 0)
    return parse_urlencoded(r, s, n);
  return parse_multipart(r, s, n);
}

/* ---- response mapping ----------------------------------------------------------------- */
static const char *ctype_for_path(const char *p) {
  const char *dot = strrchr(p, '.');
  if (dot == NULL || strchr(dot, '/'))
    return "application/octet-stream";
  static const char *const map[][2] = {{".html", "text/html; charset=utf-8"},
                                       {".txt", "text/plain; charset=utf-8"},
                                       {".css", "text/css"},
                                       {".js", "text/javascript"},
                                       {".json", "application/json"},
                                       {".png", "image/png"},
                                       {".jpg", "image/jpeg"},
                                       {".svg", "image/svg+xml"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcasecmp(dot, map[i][0]) == 0)
      return map[i][1];
  return "application/octet-stream";
}

/* The set headers plus Content-Type (and a ready response's own headers).
 * own: ctype is one of this file's literals (valid: sent without a check),
 * own_len its length. */
static hl_header_t *headers(hl_ctx_t *r, const char *ctype, int own, size_t own_len,
                            const hl_response_t *res, size_t *n) {
  size_t extra = res ? res->n_headers : 0;
  hl_header_t *h = hl__ctx_alloc_fast(r, (r->nh + extra + 1) * sizeof(*h));
  if (h == NULL)
    return NULL;
  if (r->nh + extra == 0) { /* nothing set: the value's Content-Type alone */
    *n = 0;
    if (ctype == NULL)
      return h;
    static const char name[] = "Content-Type";
    h[0].name = name;
    h[0].value = ctype;
    *n = 1;
    if (own) {
      r->own_hn[1] = name;
      r->own_hn_len[1] = sizeof name - 1;
      r->own_hv[1] = ctype;
      r->own_hv_len[1] = own_len;
      r->own_set |= 2;
    }
    return h;
  }
  size_t k = 0;
  int have_ct = 0;
  const char *set = NULL; /* the first set Content-Type (what hl_ctx_get_header finds) */
  for (size_t i = 0; i < extra; i++) {
    h[k++] = res->headers[i];
    have_ct |= hl__hname_eq(res->headers[i].name, "content-type");
  }
  for (size_t i = 0; i < r->nh; i++) {
    int dup = 0;
    for (size_t j = 0; j < extra; j++)
      dup |= hl__hname_eq(res->headers[j].name, r->hdrs[i].name);
    if (dup)
      continue;
    if (hl__hname_eq(r->hdrs[i].name, "content-type")) {
      if (set == NULL)
        set = r->hdrs[i].value;
      if (have_ct || ctype == NULL) {
        h[k++] = r->hdrs[i];
        have_ct = 1;
      }
      continue;
    }
    h[k++] = r->hdrs[i];
  }
  if (ctype && !have_ct) {
    /* a set Content-Type wins over the value's default */
    static const char name[] = "Content-Type";
    h[k].name = name;
    h[k++].value = set ? set : ctype;
    if (own && set == NULL) {
      r->own_hn[1] = name;
      r->own_hn_len[1] = sizeof name - 1;
      r->own_hv[1] = ctype;
      r->own_hv_len[1] = own_len;
      r->own_set |= 2;
    }
  }
  *n = k;
  return h;
}

#define CT_TEXT  "text/plain; charset=utf-8"
#define CT_BYTES "application/octet-stream"
#define CT_JSON  "application/json"

/* The default Content-Type as a complete header line (respond_lines). */
#define CT_LINE(ct) "Content-Type: " ct "\r\n"

/* The response through the transport's respond_lines, when nothing but the
 * default Content-Type (`line`, or none) goes with a 200: what respond would
 * send with that header array. 1: not taken (nothing sent); 2: sent, and the
 * request is done (an untraced request without afterResponse functions needs
 * no completion from the transport). */
HL_INLINE int send_lines(hl_ctx_t *r, const char *line, size_t llen, const void *body, size_t len) {
  if (r->nh || r->status != 200 || r->vt->respond_lines == NULL)
    return 1;
  unsigned held = r->app->stage_mask | (r->route ? r->route->stage_mask : 0);
  int early = !r->traced && !(held & (1u << HL_STAGE_AFTER_RESPONSE));
  return r->vt->respond_lines(r->io, line, llen, body, len, early);
}

int hl__send_general(hl_ctx_t *r, int lines_tried) {
  const hl_value_t *v = &r->resp;
  size_t n = 0;
  hl_header_t *h;
  int rc;
  switch (v->kind) {
  case HL_VALUE_NONE:
    if ((rc = send_lines(r, "", 0, "", 0)) != 1)
      return rc;
    h = headers(r, NULL, 0, 0, NULL, &n);
    return h ? r->vt->respond(r->io, r->status, h, n, "", 0) : HL_ENOMEM;
  case HL_VALUE_TEXT:
    if (!lines_tried && (rc = send_lines(r, HL__CT_TEXT_LINE, sizeof HL__CT_TEXT_LINE - 1,
                                         v->data ? v->data : "", v->len)) != 1)
      return rc;
    h = headers(r, CT_TEXT, 1, sizeof CT_TEXT - 1, NULL, &n);
    return h ? r->vt->respond(r->io, r->status, h, n, v->data ? v->data : "", v->len) : HL_ENOMEM;
  case HL_VALUE_BYTES:
    if (v->ctype == NULL && (rc = send_lines(r, CT_LINE(CT_BYTES), sizeof CT_LINE(CT_BYTES) - 1,
                                             v->data ? v->data : "", v->len)) != 1)
      return rc;
    h = headers(r, v->ctype ? v->ctype : CT_BYTES, v->ctype == NULL, sizeof CT_BYTES - 1, NULL, &n);
    return h ? r->vt->respond(r->io, r->status, h, n, v->data ? v->data : "", v->len) : HL_ENOMEM;
  case HL_VALUE_JSON: {
    if (v->ptr == NULL)
      return HL_EINTERNAL;
    size_t len = json_dumpb(v->ptr, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *buf = hl_ctx_alloc(r, len ? len : 1);
    if (buf == NULL || (len && json_dumpb(v->ptr, buf, len, JSON_COMPACT | JSON_ENCODE_ANY) != len))
      return len ? HL_ENOMEM : HL_EINTERNAL;
    if (len == 0)
      return HL_EINTERNAL;
    if ((rc = send_lines(r, CT_LINE(CT_JSON), sizeof CT_LINE(CT_JSON) - 1, buf, len)) != 1)
      return rc;
    h = headers(r, CT_JSON, 1, sizeof CT_JSON - 1, NULL, &n);
    return h ? r->vt->respond(r->io, r->status, h, n, buf, len) : HL_ENOMEM;
  }
  case HL_VALUE_FILE:
    if (v->data == NULL)
      return HL_EINTERNAL;
    if (v->ctype) {
      h = headers(r, v->ctype, 0, 0, NULL, &n);
    } else {
      const char *ct = ctype_for_path(v->data);
      h = headers(r, ct, 1, strlen(ct), NULL, &n);
    }
    return h ? r->vt->respond_file(r->io, r->status, h, n, v->data) : HL_ENOMEM;
  case HL_VALUE_STREAM: {
    if (v->ptr == NULL)
      return HL_EINTERNAL;
    h = headers(r, v->ctype, 0, 0, NULL, &n);
    if (h == NULL)
      return HL_ENOMEM;
    int rc = r->vt->stream_start(r->io, r->status, h, n);
    if (rc == 0)
      r->streaming = 1;
    return rc;
  }
  case HL_VALUE_STATUS:
    if (v->code < 100 || v->code > 999)
      return HL_EINTERNAL;
    h = headers(r, NULL, 0, 0, NULL, &n);
    return h ? r->vt->respond(r->io, v->code, h, n, "", 0) : HL_ENOMEM;
  case HL_VALUE_RESPONSE: {
    const hl_response_t *res = v->ptr;
    if (res == NULL || res->status < 100 || res->status > 999)
      return HL_EINTERNAL;
    h = headers(r, res->ctype, 0, 0, res, &n);
    return h ? r->vt->respond(r->io, res->status, h, n, res->body ? res->body : "", res->len)
             : HL_ENOMEM;
  }
  default: /* a form, a custom pointer, an error: nothing to send */
    return HL_EINTERNAL;
  }
}

/* The commonest answer, text, through respond_lines first without
 * hl__send_general()'s frame. */
int hl__send(hl_ctx_t *r) {
  const hl_value_t *v = &r->resp;
  if (HL_LIKELY(v->kind == HL_VALUE_TEXT)) {
    int rc = send_lines(r, HL__CT_TEXT_LINE, sizeof HL__CT_TEXT_LINE - 1, v->data ? v->data : "",
                        v->len);
    if (rc != 1)
      return rc;
    return hl__send_general(r, 1);
  }
  return hl__send_general(r, 0);
}

hl_value_t hl__error_response(hl_ctx_t *r, int code, const char *msg) {
  (void)code;
  const char *m = msg ? msg : hl_strerror(code);
  return hl_text(hl_ctx_strdup(r, m));
}
