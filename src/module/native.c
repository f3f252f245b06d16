/* src/module/native.c - opening native modules and hooks objects: dlopen of a
 * file: URL's path, or of bytes a load hook served from memory (Linux:
 * memfd_create, then dlopen of /proc/self/fd/N, so nothing touches the file
 * system), followed by the ABI check every plugin must pass (its exported
 * hl_module_abi must equal HL_MODULE_ABI_VERSION). The only platform-specific
 * file of the loader.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mod.h"

static void *hl__dlopen_bytes(hl__mreq_t *r, const char *url, const void *src, size_t len) {
  const char *base = strrchr(url, '/');
  int fd = memfd_create(base ? base + 1 : "hookloop-module", MFD_CLOEXEC);
  if (fd < 0) {
    hl__mreq_fail(r, -errno, "Cannot load native module %s from memory: memfd_create: %s", url,
                  strerror(errno));
    return NULL;
  }
  const char *p = src;
  size_t left = len;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      hl__mreq_fail(r, -e, "Cannot load native module %s from memory: write: %s", url, strerror(e));
      return NULL;
    }
    p += n;
    left -= (size_t)n;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    hl__mreq_fail(r, HL_EBADMODULE, "Cannot load native module %s from memory: %s", url,
                  e ? e : "dlopen failed");
  }
  close(fd); /* the mapping keeps the contents */
  return h;
}

int hl__native_open(hl__mreq_t *r, const char *url, const void *source, size_t length,
                    void **handle) {
  void *h;
  *handle = NULL;
  if (source) {
    h = hl__dlopen_bytes(r, url, source, length);
    if (!h)
      return r->code;
  } else {
    char *path = hl__file_url_to_path(&r->arena, url);
    if (!path)
      return hl__mreq_fail(r, HL_EBADMODULE,
                           "Cannot load native module %s: no bytes and not a file: URL", url);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *e = dlerror();
      return hl__mreq_fail(r, HL_EBADMODULE, "Cannot load native module %s: %s", url,
                           e ? e : "dlopen failed");
    }
  }
  const uint32_t *abi = dlsym(h, "hl_module_abi");
  if (!abi) {
    dlclose(h);
    return hl__mreq_fail(r, HL_EABIVERSION,
                         "%s does not declare its hookloop module ABI (HL_MODULE_ABI_DECLARE); "
                         "this hookloop needs ABI %u",
                         url, (unsigned)HL_MODULE_ABI_VERSION);
  }
  if (*abi != HL_MODULE_ABI_VERSION) {
    unsigned got = *abi;
    dlclose(h);
    return hl__mreq_fail(r, HL_EABIVERSION,
                         "%s was built for hookloop module ABI %u; this hookloop needs ABI %u", url,
                         got, (unsigned)HL_MODULE_ABI_VERSION);
  }
  *handle = h;
  return 0;
}
