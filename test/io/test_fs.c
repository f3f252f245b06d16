/* test/io/test_fs.c - file-system requests (include/hookloop/fs.h).
 *
 * Each request is an FSREQCALLBACK resource: init synchronously inside the
 * call, one before/after pair around its callback, destroy after it, the
 * caller's execution id as trigger (so a request made in another request's
 * callback is triggered by it), and the async-local storage of its creator.
 * Every operation is run for success and for an error; every public function
 * is fed bad arguments (HL_EINVAL, nothing emitted, nothing leaked); the loop
 * refuses to close while a request is in flight.
 *
 * Node: test/async-hooks/test-fsreqcallback-access.js (types, triggers,
 * invocations of one request) and test/parallel/test-fs-* for the errors.
 * The read-file chain has its own file, test_fs_chain.c. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <sys/stat.h>
#include "core/internal.h"
#include "counting.h"
#include "fs_util.h"
#include "record.h"

static hl_loop_t loop;
static hl_rec_t rec;
static hl_log_t LOG;

static void setup(void) {
  hl_counting_on();
  fsu_tmp_make();
}

static void teardown(void) {
  fsu_tmp_remove();
  hl_counting_off();
}

TestSuite(fs, .init = setup, .fini = teardown);

static void start(void) {
  cr_assert_eq(hl_rec_start(&loop, &rec, &LOG, 0), 0);
}

static void finish(void) {
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "%ld allocation(s) left after close", hl_counting_live());
}

/* Every FSREQCALLBACK in the log had exactly one init, before, after and
 * destroy, in that order. Returns how many there were. */
static int check_requests(void) {
  int n = 0;
  for (int i = 0; i < LOG.n; i++) {
    const hl_ev_t *e = &LOG.ev[i];
    if (e->kind != EV_INIT || strcmp(e->type, "FSREQCALLBACK"))
      continue;
    n++;
    hl_async_id_t id = e->id;
    cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), 1, "request %lld: one before", (long long)id);
    cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), 1, "request %lld: one after", (long long)id);
    cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), 1, "request %lld: one destroy", (long long)id);
    int b = hl_log_index(&LOG, EV_BEFORE, id, -1), a = hl_log_index(&LOG, EV_AFTER, id, -1),
        d = hl_log_index(&LOG, EV_DESTROY, id, -1);
    cr_assert(i < b && b < a && a < d, "request %lld: init < before < after < destroy",
              (long long)id);
  }
  return n;
}

/* The init just recorded (init is synchronous inside the call). */
static const hl_ev_t *last_init(void) {
  cr_assert_gt(LOG.n, 0);
  const hl_ev_t *e = &LOG.ev[LOG.n - 1];
  cr_assert_eq(e->kind, EV_INIT, "the call emitted init before returning");
  cr_assert_str_eq(e->type, "FSREQCALLBACK");
  return e;
}

/* ---- every operation, each made in the previous one's callback -------------- */

enum {
  S_MKDIR,
  S_OPEN_W,
  S_WRITE,
  S_FSYNC,
  S_FSTAT,
  S_CLOSE_W,
  S_OPEN_R,
  S_READ,
  S_CLOSE_R,
  S_RENAME,
  S_STAT,
  S_LSTAT,
  S_STAT_LINK,
  S_READDIR,
  S_UNLINK,
  S_RMDIR,
  S_DONE
};

static struct {
  int step;
  hl_file_t fd;
  char buf[64];
  hl_async_id_t exec[S_DONE], trig[S_DONE], issued[S_DONE];
  void *res[S_DONE];
  int names;
} ch;

static void ch_next(void);

static void ch_seen(void) {
  cr_assert_lt(ch.step, S_DONE);
  ch.exec[ch.step] = hl_execution_async_id();
  ch.trig[ch.step] = hl_trigger_async_id();
  ch.res[ch.step] = hl_execution_async_resource();
}

static void ch_result(int64_t r, void *arg) {
  cr_assert_eq(arg, &ch, "arg passed through");
  ch_seen();
  switch (ch.step) {
  case S_OPEN_W:
  case S_OPEN_R:
    cr_assert_geq(r, 0, "open: %s", hl_err_name((int)r));
    ch.fd = (hl_file_t)r;
    break;
  case S_WRITE:
    cr_assert_eq(r, 11);
    break;
  case S_READ:
    cr_assert_eq(r, 5, "read at offset 6 returns the last 5 bytes");
    cr_assert(!memcmp(ch.buf, "world", 5));
    break;
  default:
    cr_assert_eq(r, 0, "step %d: %s", ch.step, hl_err_name((int)r));
  }
  ch.step++;
  ch_next();
}

static void ch_stat(int status, const hl_stat_t *st, void *arg) {
  cr_assert_eq(arg, &ch);
  ch_seen();
  cr_assert_eq(status, 0, "step %d: %s", ch.step, hl_err_name(status));
  cr_assert_not_null(st);
  if (ch.step == S_LSTAT) {
    cr_assert(S_ISLNK(st->st_mode), "lstat does not follow the link");
  } else {
    cr_assert(S_ISREG(st->st_mode), "step %d: a regular file", ch.step);
    cr_assert_eq(st->st_size, 11);
  }
  ch.step++;
  ch_next();
}

static void ch_dir(int status, hl_fs_dir_t *dir, void *arg) {
  cr_assert_eq(arg, &ch);
  ch_seen();
  cr_assert_eq(status, 2, "two entries: %d", status);
  hl_dirent_t ent;
  const char *want[] = {"b.txt", "c.txt"}; /* sorted by name */
  const uv_dirent_type_t type[] = {UV_DIRENT_FILE, UV_DIRENT_LINK};
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(hl_fs_dir_next(dir, &ent), 0);
    cr_assert_str_eq(ent.name, want[i]);
    cr_assert_eq(ent.type, type[i], "%s: type %d", ent.name, (int)ent.type);
    ch.names++;
  }
  cr_assert_eq(hl_fs_dir_next(dir, &ent), UV_EOF);
  cr_assert_eq(hl_fs_dir_next(dir, &ent), UV_EOF, "still the end");
  ch.step++;
  ch_next();
}

static void ch_next(void) {
  int s = ch.step, r = 0;
  switch (s) {
  case S_MKDIR:
    r = hl_fs_mkdir(&loop, fsu_path("sub"), 0755, ch_result, &ch);
    break;
  case S_OPEN_W:
    r = hl_fs_open(&loop, fsu_path("sub/a.txt"), UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC,
                   0644, ch_result, &ch);
    break;
  case S_WRITE:
    r = hl_fs_write(&loop, ch.fd, "hello world", 11, -1, ch_result, &ch);
    break;
  case S_FSYNC:
    r = hl_fs_fsync(&loop, ch.fd, ch_result, &ch);
    break;
  case S_FSTAT:
    r = hl_fs_fstat(&loop, ch.fd, ch_stat, &ch);
    break;
  case S_CLOSE_W:
  case S_CLOSE_R:
    r = hl_fs_close(&loop, ch.fd, ch_result, &ch);
    break;
  case S_OPEN_R:
    r = hl_fs_open(&loop, fsu_path("sub/a.txt"), UV_FS_O_RDONLY, 0, ch_result, &ch);
    break;
  case S_READ:
    r = hl_fs_read(&loop, ch.fd, ch.buf, sizeof ch.buf, 6, ch_result, &ch);
    break;
  case S_RENAME:
    r = hl_fs_rename(&loop, fsu_path("sub/a.txt"), fsu_path("sub/b.txt"), ch_result, &ch);
    break;
  case S_STAT:
    r = hl_fs_stat(&loop, fsu_path("sub/b.txt"), ch_stat, &ch);
    break;
  case S_LSTAT:
    cr_assert_eq(symlink("b.txt", fsu_path("sub/c.txt")), 0);
    r = hl_fs_lstat(&loop, fsu_path("sub/c.txt"), ch_stat, &ch);
    break;
  case S_STAT_LINK:
    r = hl_fs_stat(&loop, fsu_path("sub/c.txt"), ch_stat, &ch);
    break;
  case S_READDIR:
    r = hl_fs_readdir(&loop, fsu_path("sub"), ch_dir, &ch);
    break;
  case S_UNLINK:
    cr_assert_eq(unlink(fsu_path("sub/c.txt")), 0);
    r = hl_fs_unlink(&loop, fsu_path("sub/b.txt"), ch_result, &ch);
    break;
  case S_RMDIR:
    r = hl_fs_rmdir(&loop, fsu_path("sub"), ch_result, &ch);
    break;
  default:
    return;
  }
  cr_assert_eq(r, 0, "step %d: %s", s, hl_err_name(r));
  ch.issued[s] = last_init()->id;
}

Test(fs, every_operation_is_an_fsreqcallback_triggered_by_its_caller) {
  start();
  memset(&ch, 0, sizeof ch);
  ch_next();
  cr_assert_eq(hl_loop_alive_resources(&loop), 1, "a request in flight is a live resource");
  finish();
  cr_assert_eq(ch.step, S_DONE, "all steps ran (stopped at %d)", ch.step);
  cr_assert_eq(ch.names, 2);
  cr_assert_eq(check_requests(), S_DONE);
  for (int s = 0; s < S_DONE; s++) {
    const hl_ev_t *init = hl_log_init_of(&LOG, ch.issued[s]);
    cr_assert_eq(ch.exec[s], ch.issued[s], "step %d runs in its own request's context", s);
    hl_async_id_t want = s == 0 ? 1 : ch.issued[s - 1];
    cr_assert_eq(init->trigger, want, "step %d triggered by %lld, got %lld", s, (long long)want,
                 (long long)init->trigger);
    cr_assert_eq(ch.trig[s], want, "hl_trigger_async_id() in step %d's callback", s);
    cr_assert_eq(ch.res[s], init->resource, "step %d: the resource init announced", s);
  }
  struct stat sb;
  cr_assert_neq(stat(fsu_path("sub"), &sb), 0, "the directory was removed");
}

/* ---- triggers: a timer, a default-trigger scope --------------------------- */

static hl_async_id_t timer_id, scope_req, timer_req;
static void stat_ok(int status, const hl_stat_t *st, void *arg) {
  (void)arg;
  cr_assert_eq(status, 0);
  cr_assert(S_ISDIR(st->st_mode));
}
static void in_scope(void *arg) {
  (void)arg;
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, stat_ok, NULL), 0);
  scope_req = last_init()->id;
}
static void from_timer(void *arg) {
  (void)arg;
  timer_id = hl_execution_async_id();
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, stat_ok, NULL), 0);
  timer_req = last_init()->id;
}

Test(fs, trigger_is_the_callers_execution_id_or_the_default_trigger_scope) {
  start();
  cr_assert_eq(hl_set_timeout(&loop, from_timer, NULL, 1, NULL), 0);
  cr_assert_eq(hl_default_trigger_scope(&loop, 4242, in_scope, NULL), 0);
  finish();
  cr_assert_eq(hl_log_init_of(&LOG, timer_req)->trigger, timer_id);
  cr_assert_eq(hl_log_init_of(&LOG, scope_req)->trigger, 4242);
  cr_assert_eq(check_requests(), 2);
}

/* ---- errors from each operation -------------------------------------------- */

typedef struct err_case_s {
  const char *what;
  int want;
  int got;
  int calls;
  hl_async_id_t exec, id;
} err_case_t;

static err_case_t ec[16];
static int n_ec;

static void err_result(int64_t r, void *arg) {
  err_case_t *c = arg;
  c->got = (int)r;
  c->calls++;
  c->exec = hl_execution_async_id();
}
static void err_stat(int status, const hl_stat_t *st, void *arg) {
  err_case_t *c = arg;
  cr_assert_null(st, "%s: no stat on error", c->what);
  err_result(status, arg);
}
static void err_dir(int status, hl_fs_dir_t *dir, void *arg) {
  err_case_t *c = arg;
  cr_assert_null(dir, "%s: no entries on error", c->what);
  err_result(status, arg);
}

static err_case_t *expect(const char *what, int want) {
  err_case_t *c = &ec[n_ec++];
  memset(c, 0, sizeof *c);
  c->what = what;
  c->want = want;
  return c;
}

static void issued(err_case_t *c, int r) {
  cr_assert_eq(r, 0, "%s: queued (%s)", c->what, hl_err_name(r));
  c->id = last_init()->id;
}

Test(fs, each_operation_reports_its_error_to_its_callback) {
  start();
  n_ec = 0;
  char missing[256];
  snprintf(missing, sizeof missing, "%s", fsu_path("missing"));
  fsu_put("file", "x", 1);
  cr_assert_eq(mkdir(fsu_path("full"), 0755), 0);
  fsu_put("full/x", "x", 1);
  int rd = open(fsu_path("file"), O_RDONLY);
  int wr = open(fsu_path("file"), O_WRONLY);
  cr_assert(rd >= 0 && wr >= 0);
  const int badfd = 987654; /* not open */
  static char buf[8];
  err_case_t *c;

  c = expect("open missing", UV_ENOENT);
  issued(c, hl_fs_open(&loop, missing, UV_FS_O_RDONLY, 0, err_result, c));
  c = expect("open exclusive existing", UV_EEXIST);
  issued(c, hl_fs_open(&loop, fsu_path("file"), UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_EXCL, 0644,
                       err_result, c));
  c = expect("close bad fd", UV_EBADF);
  issued(c, hl_fs_close(&loop, badfd, err_result, c));
  c = expect("read write-only fd", UV_EBADF);
  issued(c, hl_fs_read(&loop, wr, buf, sizeof buf, -1, err_result, c));
  c = expect("write read-only fd", UV_EBADF);
  issued(c, hl_fs_write(&loop, rd, "y", 1, 0, err_result, c));
  c = expect("stat missing", UV_ENOENT);
  issued(c, hl_fs_stat(&loop, missing, err_stat, c));
  c = expect("lstat missing", UV_ENOENT);
  issued(c, hl_fs_lstat(&loop, missing, err_stat, c));
  c = expect("fstat bad fd", UV_EBADF);
  issued(c, hl_fs_fstat(&loop, badfd, err_stat, c));
  c = expect("rename missing", UV_ENOENT);
  issued(c, hl_fs_rename(&loop, missing, fsu_path("other"), err_result, c));
  c = expect("unlink missing", UV_ENOENT);
  issued(c, hl_fs_unlink(&loop, missing, err_result, c));
  c = expect("mkdir existing", UV_EEXIST);
  issued(c, hl_fs_mkdir(&loop, fsu_path("full"), 0755, err_result, c));
  c = expect("rmdir not empty", UV_ENOTEMPTY);
  issued(c, hl_fs_rmdir(&loop, fsu_path("full"), err_result, c));
  c = expect("readdir missing", UV_ENOENT);
  issued(c, hl_fs_readdir(&loop, missing, err_dir, c));
  c = expect("readdir of a file", UV_ENOTDIR);
  issued(c, hl_fs_readdir(&loop, fsu_path("file"), err_dir, c));
  c = expect("fsync bad fd", UV_EBADF);
  issued(c, hl_fs_fsync(&loop, badfd, err_result, c));
  c = expect("open empty path", UV_ENOENT);
  issued(c, hl_fs_open(&loop, "", UV_FS_O_RDONLY, 0, err_result, c));

  finish();
  close(rd);
  close(wr);
  for (int i = 0; i < n_ec; i++) {
    cr_assert_eq(ec[i].calls, 1, "%s: one callback", ec[i].what);
    cr_assert_eq(ec[i].got, ec[i].want, "%s: want %s, got %s", ec[i].what, hl_err_name(ec[i].want),
                 hl_err_name(ec[i].got));
    cr_assert_eq(ec[i].exec, ec[i].id, "%s: the callback runs in the request's context",
                 ec[i].what);
  }
  cr_assert_eq(check_requests(), n_ec, "a failed request is still one full lifecycle");
}

/* ---- argument validation: HL_EINVAL, nothing emitted, nothing queued -------- */

static void never(int64_t r, void *arg) {
  (void)r;
  (void)arg;
  cr_assert_fail("callback of a refused request ran");
}
static void never_stat(int s, const hl_stat_t *st, void *arg) {
  (void)s;
  (void)st;
  (void)arg;
  cr_assert_fail("callback of a refused request ran");
}
static void never_dir(int s, hl_fs_dir_t *d, void *arg) {
  (void)s;
  (void)d;
  (void)arg;
  cr_assert_fail("callback of a refused request ran");
}
static void never_rf(int s, char *d, size_t n, void *arg) {
  (void)s;
  (void)d;
  (void)n;
  (void)arg;
  cr_assert_fail("callback of a refused request ran");
}
static void never_wf(int s, void *arg) {
  (void)s;
  (void)arg;
  cr_assert_fail("callback of a refused request ran");
}

static hl_fs_dir_t *kept_dir;
static void keep_dir(int status, hl_fs_dir_t *dir, void *arg) {
  (void)arg;
  cr_assert_geq(status, 0);
  hl_dirent_t ent;
  cr_assert_eq(hl_fs_dir_next(dir, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_dir_next(NULL, &ent), HL_EINVAL);
  kept_dir = dir;
}

Test(fs, bad_arguments_are_refused_with_einval) {
  start();
  const char *p = fsu_path("f");
  char buf[4];
  hl_loop_t closed = {0};
  const int RD = UV_FS_O_RDONLY, WR = UV_FS_O_WRONLY | UV_FS_O_CREAT;

  /* open: loop, path, cb, flags, mode */
  cr_assert_eq(hl_fs_open(NULL, p, RD, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_open(&closed, p, RD, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_open(&loop, NULL, RD, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_open(&loop, p, RD, 0, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_open(&loop, p, UV_FS_O_WRONLY | UV_FS_O_RDWR, 0, never, NULL), HL_EINVAL,
               "no access mode is both write-only and read-write");
  cr_assert_eq(hl_fs_open(&loop, p, 1 << 30, 0, never, NULL), HL_EINVAL, "unknown flag bit");
  cr_assert_eq(hl_fs_open(&loop, p, -1, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_open(&loop, p, WR, -1, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_open(&loop, p, WR, 010000, never, NULL), HL_EINVAL);
  /* close, fsync, fstat: descriptor */
  cr_assert_eq(hl_fs_close(NULL, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_close(&loop, -1, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_close(&loop, 0, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_fsync(NULL, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_fsync(&loop, -1, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_fsync(&loop, 0, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_fstat(NULL, 0, never_stat, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_fstat(&loop, -1, never_stat, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_fstat(&loop, 0, NULL, NULL), HL_EINVAL);
  /* read/write: descriptor, buffer, length, offset */
  cr_assert_eq(hl_fs_read(NULL, 0, buf, 4, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read(&loop, -1, buf, 4, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read(&loop, 0, NULL, 4, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read(&loop, 0, buf, (size_t)1 << 31, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read(&loop, 0, buf, 4, -2, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read(&loop, 0, buf, 4, 0, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write(NULL, 1, buf, 4, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write(&loop, -1, buf, 4, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write(&loop, 1, NULL, 4, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write(&loop, 1, buf, (size_t)1 << 31, 0, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write(&loop, 1, buf, 4, -7, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write(&loop, 1, buf, 4, 0, NULL, NULL), HL_EINVAL);
  /* path operations */
  cr_assert_eq(hl_fs_stat(NULL, p, never_stat, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_stat(&loop, NULL, never_stat, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_stat(&loop, p, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_lstat(NULL, p, never_stat, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_lstat(&loop, NULL, never_stat, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_lstat(&loop, p, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rename(NULL, p, p, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rename(&loop, NULL, p, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rename(&loop, p, NULL, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rename(&loop, p, p, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_unlink(NULL, p, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_unlink(&loop, NULL, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_unlink(&loop, p, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_mkdir(NULL, p, 0755, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_mkdir(&loop, NULL, 0755, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_mkdir(&loop, p, -1, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_mkdir(&loop, p, 070000, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_mkdir(&loop, p, 0755, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rmdir(NULL, p, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rmdir(&loop, NULL, never, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_rmdir(&loop, p, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_readdir(NULL, p, never_dir, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_readdir(&loop, NULL, never_dir, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_readdir(&loop, p, NULL, NULL), HL_EINVAL);
  /* chains */
  cr_assert_eq(hl_fs_read_file(NULL, p, never_rf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read_file(&closed, p, never_rf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read_file(&loop, NULL, never_rf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_read_file(&loop, p, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write_file(NULL, p, "x", 1, WR, 0644, never_wf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write_file(&loop, NULL, "x", 1, WR, 0644, never_wf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write_file(&loop, p, NULL, 1, WR, 0644, never_wf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write_file(&loop, p, "x", 1, RD, 0644, never_wf, NULL), HL_EINVAL,
               "write-file needs write access");
  cr_assert_eq(hl_fs_write_file(&loop, p, "x", 1, 1 << 30, 0644, never_wf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write_file(&loop, p, "x", 1, WR, 077777, never_wf, NULL), HL_EINVAL);
  cr_assert_eq(hl_fs_write_file(&loop, p, "x", 1, WR, 0644, NULL, NULL), HL_EINVAL);
  /* the iterator */
  hl_dirent_t ent;
  cr_assert_eq(hl_fs_dir_next(NULL, &ent), HL_EINVAL);
  hl_fs_free(NULL);

  cr_assert_eq(LOG.n, 0, "a refused call emits nothing");
  cr_assert_eq(hl_loop_alive_resources(&loop), 0, "and leaves nothing live");

  /* The iterator is dead once its callback returned. */
  cr_assert_eq(hl_fs_readdir(&loop, fsu_dir, keep_dir, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_not_null(kept_dir);
  cr_assert_eq(hl_fs_dir_next(kept_dir, &ent), HL_ESTATE);
  finish();
}

/* ---- async-local storage ---------------------------------------------------- */

static hl_als_t als;
static char STORE_A[] = "A", STORE_B[] = "B";
static void *seen_store[4];
static int n_seen;

static void als_cb(int64_t r, void *arg) {
  cr_assert_eq(r, 0);
  seen_store[(intptr_t)arg] = hl_als_get_store(&als);
  n_seen++;
}
static void als_stat_cb(int status, const hl_stat_t *st, void *arg) {
  (void)st;
  als_cb(status, arg);
}
static void als_issue(void *arg) {
  intptr_t which = (intptr_t)arg;
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, als_stat_cb, (void *)which), 0);
  cr_assert_eq(
      hl_fs_mkdir(&loop, fsu_path(which == 0 ? "da" : "db"), 0700, als_cb, (void *)(which + 2)), 0);
}

Test(fs, callbacks_see_the_store_active_when_the_request_was_made) {
  start();
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  cr_assert_eq(hl_als_run(&als, STORE_A, als_issue, (void *)0), 0);
  cr_assert_eq(hl_als_run(&als, STORE_B, als_issue, (void *)1), 0);
  cr_assert_null(hl_als_get_store(&als), "top level has no store");
  finish();
  cr_assert_eq(n_seen, 4);
  cr_assert_eq(seen_store[0], STORE_A);
  cr_assert_eq(seen_store[2], STORE_A);
  cr_assert_eq(seen_store[1], STORE_B);
  cr_assert_eq(seen_store[3], STORE_B);
}

/* ---- the loop stays busy while a request is in flight ------------------------ */

static int busy_done;
static void busy_cb(int status, const hl_stat_t *st, void *arg) {
  (void)st;
  (void)arg;
  cr_assert_eq(status, 0);
  busy_done++;
}

Test(fs, loop_close_returns_ebusy_while_a_request_is_in_flight) {
  start();
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, busy_cb, NULL), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  cr_assert_eq(busy_done, 0);
  finish();
  cr_assert_eq(busy_done, 1);
}

/* The same on a loop joined to the application's uv loop: hookloop's own
 * count keeps it busy (the uv loop is not ours to inspect there). */
Test(fs, joined_loop_close_returns_ebusy_while_a_request_is_in_flight) {
  uv_loop_t uv;
  cr_assert_eq(uv_loop_init(&uv), 0);
  cr_assert_eq(hl_loop_init_uv(&loop, &uv), 0);
  busy_done = 0;
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, busy_cb, NULL), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(busy_done, 1);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(uv_loop_close(&uv), 0);
  cr_assert_eq(hl_counting_live(), 0);
}

/* ---- pooled: a warm loop does not allocate per request ---------------------- */

static int pool_left;
static void pool_cb(int status, const hl_stat_t *st, void *arg) {
  (void)st;
  (void)arg;
  cr_assert_eq(status, 0);
  if (--pool_left > 0)
    cr_assert_eq(hl_fs_stat(&loop, fsu_dir, pool_cb, NULL), 0);
}

Test(fs, requests_come_from_a_pool_once_warm) {
  cr_assert_eq(hl_loop_init(&loop), 0); /* no hook: nothing queued for destroy */
  pool_left = 1;
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, pool_cb, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  long live = hl_counting_live();
  hl_counting_fail_at(1, 1); /* any allocation by hookloop from now on fails */
  pool_left = 100;
  cr_assert_eq(hl_fs_stat(&loop, fsu_dir, pool_cb, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(pool_left, 0);
  cr_assert_eq(hl_counting_attempts(), 0, "%ld allocation(s) for 100 warm requests",
               hl_counting_attempts());
  cr_assert_eq(hl_counting_live(), live);
  hl_counting_fail_at(0, 0);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0);
}

/* ---- offset -1 reads and writes at the file position, which advances ------------ */

static struct {
  int step;
  hl_file_t fd;
  char buf[8];
  int64_t got[6];
} pos;

static void pos_next(int64_t r, void *arg);

static void pos_issue(void) {
  int r = 0;
  switch (pos.step) {
  case 1: /* the open's result: write "abc" then "def" at the position */
    r = hl_fs_write(&loop, pos.fd, "abc", 3, -1, pos_next, NULL);
    break;
  case 2:
    r = hl_fs_write(&loop, pos.fd, "def", 3, -1, pos_next, NULL);
    break;
  case 3: /* read at offset 1 does not move the position (at 6: end of file) */
    r = hl_fs_read(&loop, pos.fd, pos.buf, 2, 1, pos_next, NULL);
    break;
  case 4:
    r = hl_fs_read(&loop, pos.fd, pos.buf + 2, 4, -1, pos_next, NULL);
    break;
  case 5:
    r = hl_fs_close(&loop, pos.fd, pos_next, NULL);
    break;
  default:
    return;
  }
  cr_assert_eq(r, 0);
}

static void pos_next(int64_t r, void *arg) {
  (void)arg;
  pos.got[pos.step] = r;
  if (pos.step == 0)
    pos.fd = (hl_file_t)r;
  pos.step++;
  pos_issue();
}

Test(fs, offset_minus_one_uses_and_advances_the_file_position) {
  start();
  memset(&pos, 0, sizeof pos);
  cr_assert_eq(
      hl_fs_open(&loop, fsu_path("pos"), UV_FS_O_RDWR | UV_FS_O_CREAT, 0644, pos_next, NULL), 0);
  finish();
  cr_assert_eq(pos.step, 6);
  cr_assert_geq(pos.got[0], 0);
  cr_assert_eq(pos.got[1], 3);
  cr_assert_eq(pos.got[2], 3);
  cr_assert_eq(pos.got[3], 2, "pread at 1");
  cr_assert(!memcmp(pos.buf, "bc", 2));
  cr_assert_eq(pos.got[4], 0, "the position is at the end: pread did not move it");
  cr_assert_eq(pos.got[5], 0);
  cr_assert_eq(check_requests(), 6);
}
