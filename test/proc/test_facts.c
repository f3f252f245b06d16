/* test/proc/test_facts.c - process facts and controls (process.h): hrtime,
 * memory usage from the allocator accounting, uptime, ids, platform/arch,
 * env, cwd/chdir, umask, credentials, title, versions, config. Whatever
 * changes process state (cwd, umask, title, env) runs in a child. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "child.h"
#include "childerr.h"

Test(facts, hrtime_and_its_difference) {
  uint64_t a[2], b[2], d[2];
  cr_assert_eq(hl_hrtime(NULL, a), 0);
  cr_assert_lt(a[1], 1000000000u);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t mono = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  uint64_t ns = hl_hrtime_ns();
  cr_assert_geq(ns, mono); /* the same clock, read later */
  cr_assert_geq(ns, a[0] * 1000000000u + a[1]);
  cr_assert_eq(hl_hrtime(NULL, b), 0);
  cr_assert_eq(hl_hrtime(a, d), 0);
  uint64_t da = d[0] * 1000000000u + d[1];
  cr_assert_geq(da, (b[0] - a[0]) * 1000000000u + b[1] - a[1]);
  cr_assert_lt(d[1], 1000000000u);
  cr_assert_eq(hl_hrtime(NULL, NULL), HL_EINVAL);
  uint64_t future[2] = {b[0] + 1000, 0};
  cr_assert_eq(hl_hrtime(future, d), HL_EINVAL);
  uint64_t bad[2] = {0, 1000000000u};
  cr_assert_eq(hl_hrtime(bad, d), HL_EINVAL);
}

Test(facts, memory_usage_follows_the_library_allocations) {
  hl_memory_usage_t m0, m1, m2;
  cr_assert_eq(hl_process_memory_usage(NULL), HL_EINVAL);
  cr_assert_eq(hl_process_memory_usage(&m0), 0);
  cr_assert_gt(m0.rss, 0);
  hl_loop_t loop;
  hl_loop_init(&loop);
  hl_error_t *e = hl_error_new(HL_ERAISED, "%0100000d", 7); /* > 100 kB message */
  cr_assert_eq(hl_process_memory_usage(&m1), 0);
  cr_assert_geq(m1.heap_used, m0.heap_used + 100000);
  cr_assert_geq(m1.heap_total, m1.heap_used);
  hl_error_free(e);
  hl_loop_close(&loop);
  cr_assert_eq(hl_process_memory_usage(&m2), 0);
  cr_assert_eq(m2.heap_used, m0.heap_used);
  cr_assert_eq(m2.external, 0);
}

Test(facts, uptime_ids_platform_arch) {
  double u1 = hl_process_uptime();
  cr_assert_gt(u1, 0);
  cr_assert_geq(hl_process_uptime(), u1);
  cr_assert_eq(hl_process_pid(), (int)getpid());
  cr_assert_eq(hl_process_ppid(), (int)getppid());
#ifdef __linux__
  cr_assert_str_eq(hl_process_platform(), "linux");
#endif
#ifdef __x86_64__
  cr_assert_str_eq(hl_process_arch(), "x64");
#elif defined(__aarch64__)
  cr_assert_str_eq(hl_process_arch(), "arm64");
#endif
}

static void env_child(void *arg) {
  (void)arg;
  char buf[64];
  size_t n = sizeof buf;
  cr_assert_eq(hl_process_env_set("HL_TEST_VAR", "hello"), 0);
  cr_assert_eq(hl_process_env_get("HL_TEST_VAR", buf, &n), 0);
  printf("%s %zu\n", buf, n);
  n = 3;
  cr_assert_eq(hl_process_env_get("HL_TEST_VAR", buf, &n), UV_ENOBUFS);
  printf("needs %zu\n", n);
  cr_assert_eq(hl_process_env_unset("HL_TEST_VAR"), 0);
  n = sizeof buf;
  cr_assert_eq(hl_process_env_get("HL_TEST_VAR", buf, &n), UV_ENOENT);
  cr_assert_eq(hl_process_env_set("A=B", "x"), HL_EINVAL);
  cr_assert_eq(hl_process_env_set(NULL, "x"), HL_EINVAL);
  cr_assert_eq(hl_process_env_get("X", NULL, &n), HL_EINVAL);
  printf("%s\n", getenv("HL_TEST_VAR") ? "still set" : "unset");
}

Test(facts, env_get_set_unset) {
  hl_child_result_t r;
  hl_child_run(env_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited && r.code == 0, "stderr %s", r.err);
  cr_assert_str_eq(r.out, "hello 5\nneeds 6\nunset\n");
}

static void cwd_child(void *arg) {
  (void)arg;
  char tmpl[] = "/tmp/hl-proc-XXXXXX";
  char *dir = mkdtemp(tmpl);
  cr_assert(dir);
  cr_assert_eq(hl_process_chdir(dir), 0);
  char buf[4096];
  size_t n = sizeof buf;
  cr_assert_eq(hl_process_cwd(buf, &n), 0);
  char *real = realpath(dir, NULL);
  printf("%d %d\n", strcmp(buf, real) == 0, n == strlen(real));
  free(real);
  cr_assert_eq(hl_process_chdir("/"), 0);
  rmdir(dir);
  cr_assert_eq(hl_process_chdir(dir), UV_ENOENT);
  cr_assert_eq(hl_process_chdir(NULL), HL_EINVAL);
  n = 1;
  cr_assert_eq(hl_process_cwd(buf, &n), UV_ENOBUFS);
}

Test(facts, cwd_and_chdir) {
  hl_child_result_t r;
  hl_child_run(cwd_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited && r.code == 0, "stderr %s", r.err);
  cr_assert_str_eq(r.out, "1 1\n");
}

static void umask_child(void *arg) {
  (void)arg;
  unsigned old, now;
  cr_assert_eq(hl_process_umask(022, &old), 0);
  cr_assert_eq(hl_process_umask(0027, &old), 0);
  cr_assert_eq(hl_process_umask(-1, &now), 0);
  printf("%o %o\n", old, now);
  cr_assert_eq(hl_process_umask(01000, &old), HL_EINVAL);
  mode_t real = umask(0);
  printf("%o\n", (unsigned)real);
}

Test(facts, umask) {
  hl_child_result_t r;
  hl_child_run(umask_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited && r.code == 0, "stderr %s", r.err);
  cr_assert_str_eq(r.out, "22 27\n27\n");
}

Test(facts, credentials) {
  cr_assert_eq(hl_process_getuid(), (unsigned)getuid());
  cr_assert_eq(hl_process_geteuid(), (unsigned)geteuid());
  cr_assert_eq(hl_process_getgid(), (unsigned)getgid());
  cr_assert_eq(hl_process_getegid(), (unsigned)getegid());
  cr_assert_eq(hl_process_setuid(getuid()), 0); /* to itself: always allowed */
  cr_assert_eq(hl_process_setgid(getgid()), 0);
  if (getuid() != 0) {
    cr_assert_eq(hl_process_setuid(0), UV_EPERM);
    cr_assert_eq(hl_process_setgroups(NULL, 0), UV_EPERM);
    cr_assert_eq(hl_process_initgroups("root", 0), UV_EPERM);
  }
  size_t n = 0;
  int count = getgroups(0, NULL);
  int r = hl_process_getgroups(NULL, &n);
  if (count > 0) {
    cr_assert_eq(r, UV_ENOBUFS);
    cr_assert_eq(n, (size_t)count);
    gid_t g[256];
    n = 256;
    cr_assert_eq(hl_process_getgroups(g, &n), 0);
    cr_assert_eq(n, (size_t)count);
  } else {
    cr_assert_eq(r, 0);
  }
  cr_assert_eq(hl_process_getgroups(NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_initgroups(NULL, 0), HL_EINVAL);
}

static void title_child(void *arg) {
  (void)arg;
  /* one block, as the kernel lays out argv, so the title has room */
  static char mem[] = "prog-with-a-long-name\0--hl-title=hl-title-1\0arg";
  char *argv[] = {mem, mem + 22, mem + 44, NULL};
  hl_loop_t loop;
  hl_loop_init(&loop);
  char buf[64];
  cr_assert_eq(hl_process_get_title(buf, sizeof buf), HL_ESTATE);
  cr_assert_eq(hl_process_set_title("x"), HL_ESTATE);
  cr_assert_eq(hl_process_init(&loop, 3, argv), 0);
  cr_assert_eq(hl_process_get_title(buf, sizeof buf), 0);
  printf("title %s\n", buf);
  FILE *f = fopen("/proc/self/comm", "r");
  char comm[64] = "";
  if (f) {
    if (!fgets(comm, sizeof comm, f))
      comm[0] = 0;
    fclose(f);
  }
  printf("comm %s", comm);
  cr_assert_eq(hl_process_set_title("renamed"), 0);
  cr_assert_eq(hl_process_get_title(buf, sizeof buf), 0);
  printf("title %s\n", buf);
  printf("argv0 %s\n", mem); /* the memory ps reads */
  int argc;
  char *const *av = hl_process_argv(&argc);
  printf("argv %d %s %s\n", argc, av[0], av[1]);
  cr_assert_eq(hl_process_set_title(NULL), HL_EINVAL);
}

Test(facts, title_is_visible_to_ps) {
  hl_child_result_t r;
  hl_child_run(title_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert(r.exited && r.code == 0, "stderr %s", r.err);
  cr_assert_str_eq(r.out, "title hl-title-1\n"
                          "comm hl-title-1\n"
                          "title renamed\n"
                          "argv0 renamed\n"
                          "argv 2 prog-with-a-long-name arg\n");
}

Test(facts, versions_and_config) {
  cr_assert_str_eq(hl_process_version(), "v" HL_VERSION_STRING);
  const hl_versions_t *v = hl_process_versions();
  cr_assert_str_eq(v->hookloop, HL_VERSION_STRING);
  cr_assert_str_eq(v->libuv, uv_version_string());
  cr_assert_not_null(v->llhttp);
  const char *c = hl_process_config();
  cr_assert(strstr(c, "compiler="));
  cr_assert(strstr(c, "optimize="));
  cr_assert(strstr(c, "asan="));
}

static void abort_child(void *arg) {
  (void)arg;
  signal(SIGABRT, SIG_DFL);
  hl_process_abort();
}

Test(facts, abort_raises_sigabrt) {
  hl_child_result_t r;
  hl_child_run(abort_child, NULL, &r);
  cr_assert_not(hl_child_sanitizer_report(&r), "%s", r.err);
  cr_assert_not(r.exited);
  cr_assert_eq(r.signal, SIGABRT);
}
