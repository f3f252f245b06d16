/* src/module/default.c - the default resolver and loader that end every chain.
 *
 * Resolve: "./" and "../" against the parent's directory, absolute paths,
 * file: URLs, other URLs unchanged, bare names through HL_MODULE_PATH then the
 * configured directories; each candidate is tried as is and with ".so"
 * appended, and every file tried goes into the not-found message, in order, as
 * Lua's package.searchpath reports. Load: reads file: URLs, format from the
 * context's hint or the extension. Runs on whichever thread reaches the bottom
 * of the chain (the loop thread, or the hooks thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mod.h"

int hl__is_url(const char *s) {
  if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
    return 0;
  const char *p = s + 1;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '+' || *p == '-' || *p == '.')
    p++;
  /* one-letter schemes would be Windows drive letters: not URLs */
  return *p == ':' && p - s >= 2;
}

static const char *const hl__formats[] = {"native", "json", "text", "binary"};

const char *hl__format_intern(const char *format) {
  if (!format)
    return NULL;
  for (size_t i = 0; i < sizeof hl__formats / sizeof hl__formats[0]; i++)
    if (strcmp(format, hl__formats[i]) == 0)
      return hl__formats[i];
  return NULL;
}

int hl__format_known(const char *format) {
  return hl__format_intern(format) != NULL;
}

static int hl__hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *hl__file_url_to_path(hl__arena_t *a, const char *url) {
  if (strncmp(url, "file:", 5) != 0)
    return NULL;
  const char *p = url + 5;
  if (p[0] == '/' && p[1] == '/') {
    p += 2;
    if (strncmp(p, "localhost/", 10) == 0)
      p += 9;
    else if (*p != '/')
      return NULL; /* a remote host */
  }
  if (*p != '/')
    return NULL;
  size_t n = strcspn(p, "?#");
  char *out = hl__arena_alloc(a, n + 1);
  if (!out)
    return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    int h, l;
    if (p[i] == '%' && i + 2 < n + 1 && (h = hl__hexval(p[i + 1])) >= 0 &&
        (l = hl__hexval(p[i + 2])) >= 0) {
      out[j++] = (char)(h * 16 + l);
      i += 2;
    } else {
      out[j++] = p[i];
    }
  }
  out[j] = 0;
  return out;
}

static char *hl__path_to_file_url(hl__arena_t *a, const char *path) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(path);
  char *u = hl__arena_alloc(a, 7 + 3 * n + 1);
  if (!u)
    return NULL;
  memcpy(u, "file://", 7);
  size_t j = 7;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)path[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        strchr("/-._~!$&'()*+,;=:@", c)) {
      u[j++] = (char)c;
    } else {
      u[j++] = '%';
      u[j++] = hex[c >> 4];
      u[j++] = hex[c & 15];
    }
  }
  u[j] = 0;
  return u;
}

/* Join `dir` and `rel` and normalize "." / ".." / "//" segments. */
static char *hl__path_join(hl__arena_t *a, const char *dir, const char *rel) {
  size_t dl = dir ? strlen(dir) : 0, rl = strlen(rel);
  char *buf = hl__arena_alloc(a, dl + rl + 3);
  if (!buf)
    return NULL;
  char *out = buf;
  size_t j = 0;
  const char *parts[2] = {rel[0] == '/' ? "" : (dir ? dir : ""), rel};
  out[j++] = '/';
  for (int k = 0; k < 2; k++) {
    const char *p = parts[k];
    while (*p) {
      while (*p == '/')
        p++;
      if (!*p)
        break;
      size_t len = strcspn(p, "/");
      if (len == 1 && p[0] == '.') {
        /* skip */
      } else if (len == 2 && p[0] == '.' && p[1] == '.') {
        if (j > 1) {
          j--; /* drop the trailing '/' */
          while (j > 1 && out[j - 1] != '/')
            j--;
        }
      } else {
        memcpy(out + j, p, len);
        j += len;
        out[j++] = '/';
      }
      p += len;
    }
  }
  if (j > 1)
    j--; /* no trailing '/' */
  out[j] = 0;
  return out;
}

typedef struct {
  hl__arena_t *a;
  char *buf;
  size_t len, cap;
} hl__sb_t;

static void hl__sb_add(hl__sb_t *sb, const char *s1, const char *s2, const char *s3) {
  const char *s[3] = {s1, s2, s3};
  size_t add = 0;
  for (int i = 0; i < 3; i++)
    add += s[i] ? strlen(s[i]) : 0;
  if (sb->len + add + 1 > sb->cap) {
    size_t cap = (sb->cap + add + 1) * 2;
    char *nb = hl__arena_alloc(sb->a, cap);
    if (!nb)
      return;
    if (sb->len)
      memcpy(nb, sb->buf, sb->len);
    sb->buf = nb;
    sb->cap = cap;
  }
  for (int i = 0; i < 3; i++)
    if (s[i]) {
      size_t n = strlen(s[i]);
      memcpy(sb->buf + sb->len, s[i], n);
      sb->len += n;
    }
  sb->buf[sb->len] = 0;
}

static int hl__is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Try path, then path.so; record both. Returns the path that exists or NULL. */
static char *hl__probe(hl__arena_t *a, const char *path, hl__sb_t *tried) {
  if (hl__is_file(path))
    return (char *)path;
  hl__sb_add(tried, "\n  no file '", path, "'");
  size_t n = strlen(path);
  if (n >= 3 && strcmp(path + n - 3, ".so") == 0)
    return NULL;
  char *so = hl__arena_alloc(a, n + 4);
  if (!so)
    return NULL;
  memcpy(so, path, n);
  memcpy(so + n, ".so", 4);
  if (hl__is_file(so))
    return so;
  hl__sb_add(tried, "\n  no file '", so, "'");
  return NULL;
}

/* The directory part of the parent as a path; NULL when it is not a file. */
static char *hl__parent_dir(hl__mreq_t *r, const char *parent) {
  char *p;
  if (!parent) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
      return NULL;
    return hl__arena_strdup(&r->arena, cwd);
  }
  if (parent[0] == '/')
    p = hl__arena_strdup(&r->arena, parent);
  else
    p = hl__file_url_to_path(&r->arena, parent);
  if (!p)
    return NULL;
  char *slash = strrchr(p, '/');
  if (slash == p)
    slash[1] = 0;
  else if (slash)
    *slash = 0;
  return p;
}

static int hl__not_found(hl__mreq_t *r, const char *spec, const char *parent, hl__sb_t *tried) {
  return hl__mreq_fail(r, HL_EMODULENOTFOUND, "Cannot find module '%s' imported from %s%s", spec,
                       parent ? parent : "(top level)", tried->buf ? tried->buf : "");
}

int hl__default_resolve(hl__mreq_t *r, const char *spec, const hl_module_resolve_context_t *ctx,
                        hl_module_resolve_result_t *out) {
  hl__arena_t *a = &r->arena;
  const char *parent = ctx->parent_url;
  hl__sb_t tried = {a, NULL, 0, 0};
  char *found = NULL;
  out->attributes = ctx->attributes;
  if (!*spec)
    return hl__mreq_fail(r, HL_EMODULENOTFOUND, "Cannot find module '' (empty specifier)");
  int rel = spec[0] == '.' && (spec[1] == '/' || spec[1] == 0 ||
                               (spec[1] == '.' && (spec[2] == '/' || spec[2] == 0)));
  if (rel) {
    if (parent && hl__is_url(parent) && strncmp(parent, "file:", 5) != 0) {
      /* relative to a URL a hook serves: join as URLs, no probing */
      const char *slash = strrchr(parent, '/');
      const char *colon = strchr(parent, ':');
      size_t keep = slash ? (size_t)(slash - parent) : (size_t)(colon - parent);
      char *path = hl__path_join(a, NULL, spec); /* normalized "/x/y" */
      char *dir = hl__arena_alloc(a, keep + 1);
      if (!path || !dir)
        return HL_ENOMEM;
      memcpy(dir, parent, keep);
      dir[keep] = 0;
      out->url = hl__arena_printf(a, "%s%s", dir, path);
      return out->url ? 0 : HL_ENOMEM;
    }
    char *dir = hl__parent_dir(r, parent);
    if (!dir)
      return hl__mreq_fail(r, HL_EINVAL,
                           "Cannot resolve '%s': the parent '%s' is not a file: URL or a path",
                           spec, parent ? parent : "(current directory)");
    char *path = hl__path_join(a, dir, spec);
    if (!path)
      return HL_ENOMEM;
    found = hl__probe(a, path, &tried);
  } else if (spec[0] == '/') {
    char *path = hl__path_join(a, NULL, spec);
    if (!path)
      return HL_ENOMEM;
    found = hl__probe(a, path, &tried);
  } else if (strncmp(spec, "file:", 5) == 0) {
    char *raw = hl__file_url_to_path(a, spec);
    if (!raw)
      return hl__mreq_fail(r, HL_EINVAL, "Invalid file URL '%s': must be absolute on this host",
                           spec);
    char *path = hl__path_join(a, NULL, raw);
    if (!path)
      return HL_ENOMEM;
    found = hl__probe(a, path, &tried);
  } else if (hl__is_url(spec)) {
    out->url = spec; /* a URL some load hook serves */
    return 0;
  } else {
    int ndirs = 0;
    const char *env = getenv("HL_MODULE_PATH");
    if (env) {
      const char *p = env;
      while (*p && !found) {
        size_t len = strcspn(p, ":");
        if (len) {
          char *dir = hl__arena_alloc(a, len + 1);
          if (!dir)
            return HL_ENOMEM;
          memcpy(dir, p, len);
          dir[len] = 0;
          ndirs++;
          char *path = hl__path_join(a, dir, spec);
          if (!path)
            return HL_ENOMEM;
          found = hl__probe(a, path, &tried);
        }
        p += len;
        if (*p == ':')
          p++;
      }
    }
    hl__modsys_t *M = r->M;
    uv_mutex_lock(&M->paths_mu);
    for (int i = 0; i < M->npaths && !found; i++) {
      ndirs++;
      char *path = hl__path_join(a, M->paths[i], spec);
      if (path)
        found = hl__probe(a, path, &tried);
    }
    uv_mutex_unlock(&M->paths_mu);
    if (!ndirs)
      hl__sb_add(&tried,
                 "\n  no directory to search (set HL_MODULE_PATH or call "
                 "hl_module_add_path)",
                 NULL, NULL);
  }
  if (!found)
    return hl__not_found(r, spec, parent, &tried);
  out->url = hl__path_to_file_url(a, found);
  return out->url ? 0 : HL_ENOMEM;
}

static const char *hl__format_from_ext(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *so = strstr(base, ".so");
  if (so && (so[3] == 0 || so[3] == '.'))
    return "native";
  const char *dot = strrchr(base, '.');
  if (dot && strcmp(dot, ".json") == 0)
    return "json";
  if (dot && strcmp(dot, ".txt") == 0)
    return "text";
  return "binary";
}

int hl__default_load(hl__mreq_t *r, const char *url, const hl_module_load_context_t *ctx,
                     hl_module_load_result_t *out) {
  hl__arena_t *a = &r->arena;
  if (strncmp(url, "file:", 5) != 0) {
    size_t n = strcspn(url, ":");
    return hl__mreq_fail(r, HL_ENOTSUP,
                         "Only URLs with a scheme in: file are supported by the default loader. "
                         "Received protocol '%.*s:' (%s)",
                         (int)n, url, url);
  }
  char *path = hl__file_url_to_path(a, url);
  if (!path)
    return hl__mreq_fail(r, HL_EINVAL, "Invalid file URL '%s': must be absolute on this host", url);
  const char *format = ctx->format ? ctx->format : hl__format_from_ext(path);
  out->format = format;
  if (strcmp(format, "native") == 0) {
    if (!hl__is_file(path))
      return hl__mreq_fail(r, HL_EMODULENOTFOUND, "Cannot find module '%s'\n  no file '%s'", url,
                           path);
    out->source = NULL;
    out->length = 0;
    return 0;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return hl__mreq_fail(r, HL_EMODULENOTFOUND, "Cannot find module '%s'\n  no file '%s'", url,
                           path);
    return hl__mreq_fail(r, -e, "Cannot read module '%s': %s", url, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return hl__mreq_fail(r, HL_EMODULENOTFOUND, "Cannot find module '%s'\n  no file '%s'", url,
                         path);
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *buf = hl__arena_alloc(a, size + 1);
  if (!buf) {
    close(fd);
    return HL_ENOMEM;
  }
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  buf[got] = 0;
  out->source = buf;
  out->length = got;
  return 0;
}
