/* test/io/test_fs_oom.c - out of memory on the request paths of fs and work.
 *
 * The counting allocator (test/helpers/counting.h) fails the n-th allocation
 * hookloop makes (or every one from the n-th on) for every n a scenario of fs
 * requests, read-file and write-file chains and work requests reaches. Every
 * call must return 0 or HL_ENOMEM; every call that returned 0 must get its
 * callback exactly once, with success or HL_ENOMEM; every init must get its
 * destroy; after the loop is closed no allocation may be left.
 *
 * A chain that runs out of memory in the middle (no request object for its
 * next step) must still close its file: that is forced deterministically by
 * holding libuv's only pool thread busy (child process, UV_THREADPOOL_SIZE=1)
 * until the request pool is exactly empty, then failing allocations. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hookloop.h>
#include <sys/stat.h>
#include "child.h"
#include "core/internal.h"
#include "counting.h"
#include "fs_util.h"
#include "record.h"

static hl_loop_t loop;
static hl_rec_t rec;
static hl_log_t LOG;
static hl_als_t als;
static char STORE[] = "store";

static void setup(void) {
  hl_counting_on();
  fsu_tmp_make();
}

static void teardown(void) {
  fsu_tmp_remove();
  hl_counting_off();
}

TestSuite(fs_oom, .init = setup, .fini = teardown);

/* ---- the scenario ------------------------------------------------------------- */

static const char CONTENT[] = "some file content\n";

typedef struct sc_s {
  int expected; /* callbacks owed: calls that returned 0 */
  int called;
  int bad;
  char why[256];
  int enomem; /* results that were HL_ENOMEM */
  hl_work_t work[2];
  int work_ran[2];
} sc_t;
static sc_t sc;

static void fail_why(const char *fmt, const char *what, int code) {
  if (!sc.bad) {
    sc.bad = 1;
    snprintf(sc.why, sizeof sc.why, fmt, what, hl_err_name(code));
  }
}

/* A public call's return value. */
static void ret(const char *what, int r) {
  if (r == 0)
    sc.expected++;
  else if (r == HL_ENOMEM)
    sc.enomem++;
  else
    fail_why("%s returned %s", what, r);
}

/* A callback's status: success or out of memory, and the right store. */
static void got(const char *what, int status, int ok) {
  sc.called++;
  if (status == HL_ENOMEM)
    sc.enomem++;
  else if (status < 0 || !ok)
    fail_why("%s: unexpected result %s", what, status);
  void *s = hl_als_get_store(&als);
  if (s != STORE && s != NULL)
    fail_why("%s: wrong store (%s)", what, 0);
}

static void stat_cb(int status, const hl_stat_t *st, void *arg) {
  (void)arg;
  got("stat", status, status < 0 || (st && S_ISDIR(st->st_mode)));
}

static void dir_cb(int status, hl_fs_dir_t *dir, void *arg) {
  (void)arg;
  int n = 0;
  hl_dirent_t ent;
  while (status >= 0 && hl_fs_dir_next(dir, &ent) == 0)
    n++;
  got("readdir", status, status < 0 || n == status);
}

static void rf_cb(int status, char *data, size_t len, void *arg) {
  (void)arg;
  got("read_file", status,
      status < 0 ? data == NULL : (len == sizeof CONTENT - 1 && !strcmp(data, CONTENT)));
  hl_fs_free(data);
}

static void wf_cb(int status, void *arg) {
  (void)arg;
  got("write_file", status, 1);
}

static void rmdir_cb(int64_t r, void *arg) {
  (void)arg;
  got("rmdir", (int)r, 1);
}

static void mkdir_cb(int64_t r, void *arg) {
  (void)arg;
  got("mkdir", (int)r, 1);
  if (r == 0)
    ret("rmdir", hl_fs_rmdir(&loop, fsu_path("sub"), rmdir_cb, NULL));
}

static void work_fn(hl_work_t *req) {
  *(int *)req->data = 1;
}

static void work_after(hl_work_t *req, int status) {
  got("work", status, status == 0 && *(int *)req->data == 1);
}

static void issue(void *arg) {
  (void)arg;
  ret("stat", hl_fs_stat(&loop, fsu_dir, stat_cb, NULL));
  ret("readdir", hl_fs_readdir(&loop, fsu_dir, dir_cb, NULL));
  ret("read_file", hl_fs_read_file(&loop, fsu_path("in"), rf_cb, NULL));
  ret("write_file",
      hl_fs_write_file(&loop, fsu_path("out"), CONTENT, sizeof CONTENT - 1,
                       UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC, 0644, wf_cb, NULL));
  ret("mkdir", hl_fs_mkdir(&loop, fsu_path("sub"), 0755, mkdir_cb, NULL));
  for (int i = 0; i < 2; i++) {
    sc.work[i].data = &sc.work_ran[i];
    ret("queue_work", hl_queue_work(&loop, &sc.work[i], work_fn, work_after));
  }
}

/* Every init in the log has exactly one destroy. */
static int unbalanced(void) {
  for (int i = 0; i < LOG.n; i++)
    if (LOG.ev[i].kind == EV_INIT && hl_log_count(&LOG, EV_DESTROY, LOG.ev[i].id) != 1)
      return 1;
  return 0;
}

/* One run failing the n-th allocation (0: none). Returns how many failures
 * were injected. */
static long run_scenario(long n, int persistent) {
  memset(&sc, 0, sizeof sc);
  hl_counting_on();
  cr_assert_eq(hl_rec_start(&loop, &rec, &LOG, 0), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  hl_counting_fail_at(n, persistent);
  int r = hl_als_run(&als, STORE, issue, NULL);
  if (r == HL_ENOMEM) /* the store could not be set: make the requests anyway */
    issue(NULL);
  else
    cr_assert_eq(r, 0, "n=%ld: hl_als_run: %s", n, hl_err_name(r));
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0, "n=%ld", n);
  long injected = hl_counting_injected();
  hl_counting_fail_at(0, 0);
  cr_assert_eq(hl_loop_close(&loop), 0, "n=%ld persistent=%d", n, persistent);
  cr_assert_not(sc.bad, "n=%ld persistent=%d: %s", n, persistent, sc.why);
  cr_assert_eq(sc.called, sc.expected, "n=%ld persistent=%d: %d callbacks for %d requests", n,
               persistent, sc.called, sc.expected);
  cr_assert_not(unbalanced(), "n=%ld persistent=%d: an init without its destroy", n, persistent);
  cr_assert_eq(hl_counting_live(), 0, "n=%ld persistent=%d: %ld allocation(s) leaked", n,
               persistent, hl_counting_live());
  rmdir(fsu_path("sub"));
  return injected;
}

Test(fs_oom, every_failed_allocation_on_the_request_paths_is_enomem_and_leaks_nothing) {
  fsu_put("in", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(run_scenario(0, 0), 0);
  cr_assert_eq(sc.enomem, 0);
  cr_assert_eq(sc.expected, 8, "every request of the clean run completes (%d)", sc.expected);
  for (int persistent = 0; persistent < 2; persistent++) {
    long n;
    int saw_enomem = 0;
    for (n = 1; n < 200; n++) {
      if (run_scenario(n, persistent) == 0)
        break; /* the scenario makes fewer than n allocations */
      saw_enomem |= sc.enomem > 0;
    }
    cr_assert_lt(n, 200, "the scenario should run out of allocations to fail");
    cr_assert_gt(n, 5, "the scenario allocates (%ld)", n);
    cr_assert(saw_enomem, "some failure reached a caller as HL_ENOMEM");
  }
}

/* ---- a chain that cannot get a request for its next step -------------------- */

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      printf("FAIL line %d: %s\n", __LINE__, #cond);                                               \
      fflush(stdout);                                                                              \
      exit(2);                                                                                     \
    }                                                                                              \
  } while (0)

static uv_sem_t started, release;
static void blocker(hl_work_t *req) {
  (void)req;
  uv_sem_post(&started);
  uv_sem_wait(&release);
}
static void blocker_after(hl_work_t *req, int status) {
  (void)req;
  CHECK(status == 0);
}

static int n_stats, stats_ok, rf_status = 1, rf_calls;
static hl_async_id_t rf_exec;
static void busy_stat(int status, const hl_stat_t *st, void *arg) {
  (void)st;
  (void)arg;
  stats_ok += status == 0;
}
static void starved_rf(int status, char *data, size_t len, void *arg) {
  (void)arg;
  rf_calls++;
  rf_status = status;
  rf_exec = hl_execution_async_id();
  CHECK(data == NULL && len == 0);
}

static int open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  CHECK(d != NULL);
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

static void starved_child(void *arg) {
  int persistent = (int)(intptr_t)arg;
  setenv("UV_THREADPOOL_SIZE", "1", 1);
  CHECK(uv_sem_init(&started, 0) == 0 && uv_sem_init(&release, 0) == 0);
  hl_counting_on();
  CHECK(hl_rec_start(&loop, &rec, &LOG, 0) == 0);
  /* Warm up: the destroy queue gets its capacity, so that the first
   * allocation after the injection is armed is the chain's. */
  CHECK(hl_fs_stat(&loop, fsu_dir, busy_stat, NULL) == 0);
  CHECK(hl_run(&loop, HL_RUN_DEFAULT) == 0);
  stats_ok = 0;
  LOG.n = 0;
  hl_work_t w;
  memset(&w, 0, sizeof w);
  CHECK(hl_queue_work(&loop, &w, blocker, blocker_after) == 0);
  uv_sem_wait(&started); /* the only pool thread is held: nothing completes */
  int fds = open_fds();
  CHECK(hl_fs_read_file(&loop, fsu_path("in"), starved_rf, NULL) == 0);
  hl_async_id_t open_id = LOG.ev[LOG.n - 1].id;
  /* Take every free request, so that the chain's next step needs a new slab. */
  while (loop.impl->fs_pool.free) {
    CHECK(hl_fs_stat(&loop, fsu_dir, busy_stat, NULL) == 0);
    n_stats++;
  }
  hl_counting_fail_at(1, persistent);
  uv_sem_post(&release); /* the open completes first (FIFO), then the stats */
  CHECK(hl_run(&loop, HL_RUN_DEFAULT) == 0);
  CHECK(hl_counting_injected() >= 1);
  hl_counting_fail_at(0, 0);
  CHECK(rf_calls == 1);
  CHECK(rf_status == HL_ENOMEM);
  CHECK(stats_ok == n_stats);
  CHECK(open_fds() == fds); /* the file was closed */
  int fsreqs = hl_log_count_type(&LOG, "FSREQCALLBACK") - n_stats;
  if (persistent) { /* no request for the close either: closed synchronously */
    CHECK(fsreqs == 1);
    CHECK(rf_exec == open_id);
  } else { /* the close got a new slab */
    CHECK(fsreqs == 2);
    CHECK(rf_exec != open_id);
  }
  CHECK(hl_loop_close(&loop) == 0);
  CHECK(!unbalanced());
  CHECK(hl_counting_live() == 0);
  printf("starved ok\n");
}

static void check_starved(int persistent) {
  fsu_put("in", CONTENT, sizeof CONTENT - 1);
  hl_child_result_t r;
  hl_child_run(starved_child, (void *)(intptr_t)persistent, &r);
  cr_assert(r.exited, "child killed by signal %d; stderr: %s", r.signal, r.err);
  cr_assert_eq(r.code, 0, "child failed: %s%s", r.out, r.err);
  cr_assert_str_eq(r.out, "starved ok\n");
}

Test(fs_oom, a_chain_with_no_request_for_its_next_step_closes_the_file_and_reports_enomem) {
  check_starved(0);
}

Test(fs_oom, a_chain_with_no_request_even_for_the_close_closes_it_synchronously) {
  check_starved(1);
}
