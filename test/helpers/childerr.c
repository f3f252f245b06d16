/* test/helpers/childerr.c - see childerr.h. */
#include "childerr.h"
#include <string.h>

const char *hl_child_err(const hl_child_result_t *r, char *buf, size_t n) {
  size_t o = 0;
  const char *s = r->err;
  while (*s && o + 1 < n) {
    const char *e = strchr(s, '\n');
    size_t len = e ? (size_t)(e - s) + 1 : strlen(s);
    int noise = strstr(s, "was not suspended. False leaks are possible.") &&
                (!e || strstr(s, "was not suspended. False leaks are possible.") < e);
    if (!noise) {
      if (len > n - 1 - o)
        len = n - 1 - o;
      memcpy(buf + o, s, len);
      o += len;
    }
    s += e ? (size_t)(e - s) + 1 : strlen(s);
  }
  buf[o] = 0;
  return buf;
}

int hl_child_sanitizer_report(const hl_child_result_t *r) {
  return strstr(r->err, "LeakSanitizer") || strstr(r->err, "AddressSanitizer") ||
         strstr(r->err, "runtime error:");
}
