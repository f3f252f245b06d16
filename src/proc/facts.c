/* src/proc/facts.c - process facts and controls: hrtime, memory usage,
 * uptime, ids, platform/arch, environment, cwd, umask, credentials, abort,
 * version(s) and build config. Thin wrappers over libuv and POSIX that
 * validate their arguments and return negative codes (libuv's UV_E* are
 * -errno on Unix). */
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "proc.h"

/* ---- time ------------------------------------------------------------------------ */

HL_EXPORT uint64_t hl_hrtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

HL_EXPORT int hl_hrtime(const uint64_t prev[2], uint64_t out[2]) {
  if (!out)
    return HL_EINVAL;
  uint64_t now = hl_hrtime_ns();
  if (prev) {
    uint64_t then = prev[0] * 1000000000u + prev[1];
    if (prev[1] >= 1000000000u || then > now)
      return HL_EINVAL;
    now -= then;
  }
  out[0] = now / 1000000000u;
  out[1] = now % 1000000000u;
  return 0;
}

static uint64_t hl__start_ns;
__attribute__((constructor)) static void hl__facts_start(void) {
  hl__start_ns = hl_hrtime_ns();
}

HL_EXPORT double hl_process_uptime(void) {
  return (double)(hl_hrtime_ns() - hl__start_ns) / 1e9;
}

/* ---- memory ----------------------------------------------------------------------- */

HL_EXPORT int hl_process_memory_usage(hl_memory_usage_t *out) {
  if (!out)
    return HL_EINVAL;
  size_t rss = 0;
  int r = uv_resident_set_memory(&rss);
  if (r)
    return r;
  out->rss = rss;
  size_t blocks;
  hl__heap_stats(&out->heap_used, &blocks);
  out->heap_total = out->heap_used;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2(); /* the C heap those blocks come from */
  if (mi.arena + mi.hblkhd > out->heap_total)
    out->heap_total = mi.arena + mi.hblkhd;
#endif
  out->external = 0;
  return 0;
}

/* ---- ids, platform --------------------------------------------------------------- */

HL_EXPORT int hl_process_pid(void) {
  return (int)uv_os_getpid();
}

HL_EXPORT int hl_process_ppid(void) {
  return (int)uv_os_getppid();
}

HL_EXPORT const char *hl_process_platform(void) {
#if defined(__linux__)
  return "linux";
#elif defined(__APPLE__)
  return "darwin";
#elif defined(__FreeBSD__)
  return "freebsd";
#elif defined(__OpenBSD__)
  return "openbsd";
#elif defined(__sun)
  return "sunos";
#elif defined(_AIX)
  return "aix";
#else
  return "unknown";
#endif
}

HL_EXPORT const char *hl_process_arch(void) {
#if defined(__x86_64__)
  return "x64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "ia32";
#elif defined(__arm__)
  return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#elif defined(__powerpc64__)
  return "ppc64";
#elif defined(__s390x__)
  return "s390x";
#else
  return "unknown";
#endif
}

/* ---- environment, cwd, umask ------------------------------------------------------- */

HL_EXPORT int hl_process_env_get(const char *name, char *buf, size_t *size) {
  if (!name || !buf || !size || *size == 0)
    return HL_EINVAL;
  return uv_os_getenv(name, buf, size);
}

HL_EXPORT int hl_process_env_set(const char *name, const char *value) {
  if (!name || !value || !name[0] || strchr(name, '='))
    return HL_EINVAL;
  return uv_os_setenv(name, value);
}

HL_EXPORT int hl_process_env_unset(const char *name) {
  if (!name || !name[0] || strchr(name, '='))
    return HL_EINVAL;
  return uv_os_unsetenv(name);
}

HL_EXPORT int hl_process_cwd(char *buf, size_t *size) {
  if (!buf || !size || *size == 0)
    return HL_EINVAL;
  return uv_cwd(buf, size);
}

HL_EXPORT int hl_process_chdir(const char *dir) {
  if (!dir)
    return HL_EINVAL;
  return uv_chdir(dir);
}

HL_EXPORT int hl_process_umask(int mask, unsigned *old) {
  if (mask > 0777)
    return HL_EINVAL;
  mode_t prev;
  if (mask < 0) { /* read: POSIX has no read-only umask; set and put back */
    prev = umask(0);
    umask(prev);
  } else {
    prev = umask((mode_t)mask);
  }
  if (old)
    *old = (unsigned)prev;
  return 0;
}

/* ---- credentials ------------------------------------------------------------------- */

HL_EXPORT unsigned hl_process_getuid(void) {
  return (unsigned)getuid();
}
HL_EXPORT unsigned hl_process_geteuid(void) {
  return (unsigned)geteuid();
}
HL_EXPORT unsigned hl_process_getgid(void) {
  return (unsigned)getgid();
}
HL_EXPORT unsigned hl_process_getegid(void) {
  return (unsigned)getegid();
}

static int hl__sys(int r) {
  return r == 0 ? 0 : -errno;
}

HL_EXPORT int hl_process_setuid(unsigned id) {
  return hl__sys(setuid((uid_t)id));
}
HL_EXPORT int hl_process_seteuid(unsigned id) {
  return hl__sys(seteuid((uid_t)id));
}
HL_EXPORT int hl_process_setgid(unsigned id) {
  return hl__sys(setgid((gid_t)id));
}
HL_EXPORT int hl_process_setegid(unsigned id) {
  return hl__sys(setegid((gid_t)id));
}

HL_EXPORT int hl_process_getgroups(gid_t *out, size_t *n) {
  if (!n || (!out && *n))
    return HL_EINVAL;
  int count = getgroups(0, NULL);
  if (count < 0)
    return -errno;
  if ((size_t)count > *n) {
    *n = (size_t)count;
    return UV_ENOBUFS;
  }
  count = getgroups(count, out);
  if (count < 0)
    return -errno;
  *n = (size_t)count;
  return 0;
}

HL_EXPORT int hl_process_setgroups(const gid_t *groups, size_t n) {
  if (!groups && n)
    return HL_EINVAL;
  return hl__sys(setgroups(n, groups));
}

HL_EXPORT int hl_process_initgroups(const char *user, gid_t extra_group) {
  if (!user || !user[0])
    return HL_EINVAL;
  return hl__sys(initgroups(user, extra_group));
}

HL_EXPORT void hl_process_abort(void) {
  fflush(stdout);
  fflush(stderr);
  abort();
}

/* ---- versions, config ------------------------------------------------------------------ */

#define HL__STR2(x) #x
#define HL__STR(x)  HL__STR2(x)

HL_EXPORT const char *hl_process_version(void) {
  return "v" HL_VERSION_STRING;
}

HL_EXPORT const hl_versions_t *hl_process_versions(void) {
  static hl_versions_t v;
  v.hookloop = HL_VERSION_STRING;
  v.libuv = uv_version_string();
#ifdef HL_LLHTTP_VERSION
  v.llhttp = HL_LLHTTP_VERSION;
#else
  v.llhttp = "none";
#endif
  return &v;
}

HL_EXPORT const char *hl_process_config(void) {
  return "compiler="
#if defined(__clang__)
         "clang-" __clang_version__
#elif defined(__GNUC__)
         "gcc-" __VERSION__
#else
         "unknown"
#endif
         " optimize="
#ifdef __OPTIMIZE__
         "yes"
#else
         "no"
#endif
         " asan="
#if defined(__SANITIZE_ADDRESS__)
         "yes"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
         "yes"
#else
         "no"
#endif
#else
         "no"
#endif
         " assertions="
#ifdef NDEBUG
         "no"
#else
         "yes"
#endif
         " threads=pthreads c_std=" HL__STR(__STDC_VERSION__);
}
