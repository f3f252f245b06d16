/* test/io/fs_util.h - shared by the fs and work tests: a unique mkdtemp
 * directory per test (removed afterwards, with everything in it), paths in
 * it, and small synchronous file helpers for setting up fixtures. */
#ifndef HL_TEST_FS_UTIL_H
#define HL_TEST_FS_UTIL_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fsu_dir[64];

static int fsu_rm(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static inline void fsu_tmp_make(void) {
  strcpy(fsu_dir, "/tmp/hl-io-XXXXXX");
  if (!mkdtemp(fsu_dir))
    cr_assert_fail("mkdtemp failed");
}

static inline void fsu_tmp_remove(void) {
  if (fsu_dir[0])
    nftw(fsu_dir, fsu_rm, 16, FTW_DEPTH | FTW_PHYS);
  fsu_dir[0] = 0;
}

/* dir/name, in one of 8 rotating static buffers. */
static inline const char *fsu_path(const char *name) {
  static char bufs[8][256];
  static int i;
  char *b = bufs[i++ & 7];
  int n = snprintf(b, sizeof bufs[0], "%s/%s", fsu_dir, name);
  cr_assert(n > 0 && (size_t)n < sizeof bufs[0], "path too long: %s", name);
  return b;
}

/* Create dir/name holding len bytes of data (synchronously). */
static inline void fsu_put(const char *name, const void *data, size_t len) {
  int fd = open(fsu_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert_geq(fd, 0, "open %s", name);
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    cr_assert_gt(n, 0);
    p += n;
    len -= (size_t)n;
  }
  close(fd);
}

/* A buffer of len bytes with a recognizable pattern (caller frees). */
static inline char *fsu_pattern(size_t len) {
  char *b = malloc(len ? len : 1);
  cr_assert_not_null(b);
  for (size_t i = 0; i < len; i++)
    b[i] = (char)('a' + (i * 7 + i / 4096) % 26);
  return b;
}

#endif
