/* test/io/test_fs_chain.c - hl_fs_read_file / hl_fs_write_file: chains of
 * FSREQCALLBACK requests, each triggered by the one before it and the first by
 * the caller's execution id.
 *
 * Mirrors Node's test/async-hooks/test-fsreqcallback-readFile.js (inside the
 * read-file callback, the first three requests have had init, before, after
 * and destroy, and the last one - the close, whose callback this is - only
 * init and before) and test-graph.fsreq-readFile.js (the trigger graph open ->
 * fstat -> read -> close, compared edge by edge after pruning TickObjects as
 * verify-graph.js does). Also: a file that vanished (ENOENT to the callback,
 * nothing leaked), a file unlinked while it is being read, a directory, a
 * file of unknown size, an empty file, write errors, append, the store of the
 * caller, and EBUSY on close while a chain is in flight. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <sys/stat.h>
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

TestSuite(fs_chain, .init = setup, .fini = teardown);

static void start(void) {
  cr_assert_eq(hl_rec_start(&loop, &rec, &LOG, 0), 0);
}

static void run_loop(void) {
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
}

/* At the end of each test, once the data was freed. */
static void close_check(void) {
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "%ld allocation(s) left after close", hl_counting_live());
}

/* ---- the graph, as verify-graph.js ------------------------------------------ */

typedef struct act_s {
  hl_async_id_t uid, trigger;
  char type[32];
} act_t;

/* The activities (inits) in order, TickObjects pruned: each one's children
 * are re-pointed to its trigger (verify-graph.js pruneTickObjects). */
static int activities(act_t *out, int max) {
  int n = 0;
  for (int i = 0; i < LOG.n && n < max; i++)
    if (LOG.ev[i].kind == EV_INIT) {
      out[n].uid = LOG.ev[i].id;
      out[n].trigger = LOG.ev[i].trigger;
      strcpy(out[n].type, LOG.ev[i].type);
      n++;
    }
  for (int i = 0; i < n;) {
    if (strcmp(out[i].type, "TickObject")) {
      i++;
      continue;
    }
    for (int j = 0; j < n; j++)
      if (out[j].trigger == out[i].uid)
        out[j].trigger = out[i].trigger;
    memmove(&out[i], &out[i + 1], (size_t)(n - i - 1) * sizeof *out);
    n--;
  }
  return n;
}

/* A graph node: its type, its stand-in id, and the stand-in id of its trigger
 * (NULL: not a node of the graph, here the top level). */
typedef struct node_s {
  const char *type, *id, *trigger;
} node_t;

/* verifyGraph(hooks, graph): map the n-th activity of each type onto the n-th
 * node of that type and check every edge. Returns the number of mismatches
 * (printed). `root` is what a NULL trigger must be. */
static int verify_graph(const node_t *graph, int nodes, hl_async_id_t root) {
  act_t acts[256];
  int n = activities(acts, 256);
  hl_async_id_t uid_of[64];
  int errors = 0, matched = 0;
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int j = 0; j <= i; j++)
      seen += !strcmp(acts[j].type, acts[i].type);
    int k = -1, found = 0;
    for (int g = 0; g < nodes; g++)
      if (!strcmp(graph[g].type, acts[i].type) && ++found == seen) {
        k = g;
        break;
      }
    if (k < 0)
      continue;
    matched++;
    uid_of[k] = acts[i].uid;
    hl_async_id_t want = root;
    if (graph[k].trigger) {
      want = -2;
      for (int g = 0; g < k; g++)
        if (!strcmp(graph[g].id, graph[k].trigger))
          want = uid_of[g];
    }
    if (acts[i].trigger != want) {
      fprintf(stderr, "'%s' expected to be triggered by '%s' (%lld), but was triggered by %lld\n",
              graph[k].id, graph[k].trigger ? graph[k].trigger : "top level", (long long)want,
              (long long)acts[i].trigger);
      errors++;
    }
  }
  if (matched != nodes) {
    fprintf(stderr, "%d of %d graph nodes found among %d activities\n", matched, nodes, n);
    errors++;
  }
  return errors;
}

/* The ids of the FSREQCALLBACK activities, in order. */
static int fsreqs(hl_async_id_t *ids, int max) {
  int n = 0;
  for (int i = 0; i < LOG.n; i++)
    if (LOG.ev[i].kind == EV_INIT && !strcmp(LOG.ev[i].type, "FSREQCALLBACK") && n < max)
      ids[n++] = LOG.ev[i].id;
  return n;
}

static void check_inv(hl_async_id_t id, int init, int before, int after, int destroy,
                      const char *stage) {
  cr_assert_eq(hl_log_count(&LOG, EV_INIT, id), init, "%lld init %s", (long long)id, stage);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, id), before, "%lld before %s", (long long)id, stage);
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, id), after, "%lld after %s", (long long)id, stage);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, id), destroy, "%lld destroy %s", (long long)id,
               stage);
}

/* ---- test-fsreqcallback-readFile.js ----------------------------------------- */

static const char CONTENT[] = "'use strict';\nconst fs = require('fs');\n";

static struct {
  int calls, status;
  char *data;
  size_t len;
  hl_async_id_t exec, trigger;
} rf;

static void rf_keep(int status, char *data, size_t len, void *arg) {
  cr_assert_eq(arg, &rf);
  rf.calls++;
  rf.status = status;
  rf.data = data;
  rf.len = len;
  rf.exec = hl_execution_async_id();
  rf.trigger = hl_trigger_async_id();
}

static void onread(int status, char *data, size_t len, void *arg) {
  rf_keep(status, data, len, arg);
  hl_async_id_t as[8];
  int n = fsreqs(as, 8);
  cr_assert_eq(n, 4, "open, fstat, read, close: %d requests", n);
  hl_async_id_t last_parent = 1;
  for (int i = 0; i < n; i++) {
    cr_assert_eq(hl_log_init_of(&LOG, as[i])->trigger, last_parent, "reqwrap[%d] trigger", i);
    last_parent = as[i];
  }
  check_inv(as[0], 1, 1, 1, 1, "reqwrap[0]: while in onread callback");
  check_inv(as[1], 1, 1, 1, 1, "reqwrap[1]: while in onread callback");
  check_inv(as[2], 1, 1, 1, 1, "reqwrap[2]: while in onread callback");
  /* called from within the last request's callback: no after, no destroy yet */
  check_inv(as[3], 1, 1, 0, 0, "reqwrap[3]: while in onread callback");
  cr_assert_eq(hl_execution_async_id(), as[3]);
}

Test(fs_chain, read_file_requests_trigger_one_another_as_node_s_test_fsreqcallback_readFile) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("f.js", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("f.js"), onread, &rf), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(rf.calls, 1);
  cr_assert_eq(rf.status, 0);
  cr_assert_eq(rf.len, sizeof CONTENT - 1);
  cr_assert_str_eq(rf.data, CONTENT, "the data, NUL-terminated");
  hl_fs_free(rf.data);
  hl_async_id_t as[8];
  fsreqs(as, 8);
  check_inv(as[3], 1, 1, 1, 1, "when the loop is done");
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0);
}

/* ---- test-graph.fsreq-readFile.js, and a file that takes several reads ------ */

Test(fs_chain, read_file_graph_matches_node_s_test_graph_fsreq_readFile) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("f.js", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("f.js"), rf_keep, &rf), 0);
  run_loop();
  cr_assert_eq(rf.status, 0);
  hl_fs_free(rf.data);
  const node_t graph[] = {{"FSREQCALLBACK", "fsreq:1", NULL},
                          {"FSREQCALLBACK", "fsreq:2", "fsreq:1"},
                          {"FSREQCALLBACK", "fsreq:3", "fsreq:2"},
                          {"FSREQCALLBACK", "fsreq:4", "fsreq:3"}};
  cr_assert_eq(verify_graph(graph, 4, 1), 0, "graph mismatch (see stderr)");
  hl_async_id_t as[8];
  cr_assert_eq(fsreqs(as, 8), 4, "no more requests than the graph's");
  close_check();
}

Test(fs_chain, a_large_file_is_read_in_512k_requests_each_triggered_by_the_previous) {
  start();
  memset(&rf, 0, sizeof rf);
  size_t size = 1200 * 1024 + 7; /* 3 reads of at most 512 KiB */
  char *pat = fsu_pattern(size);
  fsu_put("big", pat, size);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("big"), rf_keep, &rf), 0);
  run_loop();
  cr_assert_eq(rf.status, 0, "%s", hl_err_name(rf.status));
  cr_assert_eq(rf.len, size);
  cr_assert(!memcmp(rf.data, pat, size));
  cr_assert_eq(rf.data[size], 0);
  hl_fs_free(rf.data);
  free(pat);
  const node_t graph[] = {
      {"FSREQCALLBACK", "open", NULL},       {"FSREQCALLBACK", "fstat", "open"},
      {"FSREQCALLBACK", "read:1", "fstat"},  {"FSREQCALLBACK", "read:2", "read:1"},
      {"FSREQCALLBACK", "read:3", "read:2"}, {"FSREQCALLBACK", "close", "read:3"}};
  cr_assert_eq(verify_graph(graph, 6, 1), 0, "graph mismatch (see stderr)");
  hl_async_id_t as[16];
  cr_assert_eq(fsreqs(as, 16), 6);
  cr_assert_eq(rf.exec, as[5], "the callback runs inside the close's callback");
  cr_assert_eq(rf.trigger, as[4]);
  close_check();
}

/* ---- the first request is triggered by the caller ------------------------- */

static hl_async_id_t caller_id;
static void read_from_timer(void *arg) {
  (void)arg;
  caller_id = hl_execution_async_id();
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("f.js"), rf_keep, &rf), 0);
}

Test(fs_chain, the_first_request_is_triggered_by_the_callers_execution_id) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("f.js", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_set_timeout(&loop, read_from_timer, NULL, 1, NULL), 0);
  run_loop();
  hl_fs_free(rf.data);
  const node_t graph[] = {{"Timeout", "timer", NULL},
                          {"FSREQCALLBACK", "fsreq:1", "timer"},
                          {"FSREQCALLBACK", "fsreq:2", "fsreq:1"},
                          {"FSREQCALLBACK", "fsreq:3", "fsreq:2"},
                          {"FSREQCALLBACK", "fsreq:4", "fsreq:3"}};
  cr_assert_eq(verify_graph(graph, 5, 1), 0, "graph mismatch (see stderr)");
  cr_assert_gt(caller_id, 1);
  close_check();
}

/* ---- a file that vanished --------------------------------------------------- */

static void read_vanished(int64_t r, void *arg) {
  (void)arg;
  cr_assert_eq(r, 0, "unlink: %s", hl_err_name((int)r));
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("gone"), rf_keep, &rf), 0);
}

Test(fs_chain, reading_a_file_that_vanished_gives_enoent_and_leaks_nothing) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("gone", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_fs_unlink(&loop, fsu_path("gone"), read_vanished, NULL), 0);
  run_loop();
  cr_assert_eq(rf.calls, 1);
  cr_assert_eq(rf.status, UV_ENOENT, "%s", hl_err_name(rf.status));
  cr_assert_null(rf.data);
  cr_assert_eq(rf.len, 0);
  hl_async_id_t as[8];
  cr_assert_eq(fsreqs(as, 8), 2, "the unlink, then the open of the chain: nothing to close");
  cr_assert_eq(rf.exec, as[1], "the callback runs inside the failed open's callback");
  cr_assert_eq(hl_log_init_of(&LOG, as[1])->trigger, as[0]);
  for (int i = 0; i < 2; i++)
    check_inv(as[i], 1, 1, 1, 1, "after the loop closed");
  close_check();
}

/* Unlinked once opened (at the fstat's init): the open descriptor still reads
 * the whole file, as on any POSIX system. */
static int unlink_at_init;
static void unlink_on_second_fsreq(hl_async_id_t id, const char *type, hl_async_id_t trig,
                                   void *res, void *arg) {
  (void)id;
  (void)trig;
  (void)res;
  (void)arg;
  if (!strcmp(type, "FSREQCALLBACK") && ++unlink_at_init == 2)
    cr_assert_eq(unlink(fsu_path("f.js")), 0);
}

Test(fs_chain, a_file_unlinked_while_being_read_is_still_read_whole) {
  start();
  memset(&rf, 0, sizeof rf);
  hl_hook_t *h;
  hl_hook_callbacks_t cbs = {.init = unlink_on_second_fsreq};
  cr_assert_eq(hl_hook_create(&loop, &cbs, NULL, &h), 0);
  cr_assert_eq(hl_hook_enable(h), 0);
  fsu_put("f.js", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("f.js"), rf_keep, &rf), 0);
  run_loop();
  cr_assert_geq(unlink_at_init, 2);
  cr_assert_eq(rf.status, 0);
  cr_assert_str_eq(rf.data, CONTENT);
  hl_fs_free(rf.data);
  struct stat sb;
  cr_assert_neq(stat(fsu_path("f.js"), &sb), 0, "it is gone");
  close_check();
}

/* ---- a directory: the read fails, the file is still closed ------------------ */

Test(fs_chain, reading_a_directory_fails_with_eisdir_after_closing_it) {
  start();
  memset(&rf, 0, sizeof rf);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_dir, rf_keep, &rf), 0);
  run_loop();
  cr_assert_eq(rf.calls, 1);
  cr_assert_eq(rf.status, UV_EISDIR, "%s", hl_err_name(rf.status));
  cr_assert_null(rf.data);
  hl_async_id_t as[8];
  cr_assert_eq(fsreqs(as, 8), 4, "open, fstat, the failed read, close");
  cr_assert_eq(rf.exec, as[3], "reported from the close's callback");
  close_check();
}

/* ---- unknown size (not a regular file) and empty files ------------------------ */

Test(fs_chain, a_file_of_unknown_size_is_read_to_its_end) {
  start();
  memset(&rf, 0, sizeof rf);
  cr_assert_eq(hl_fs_read_file(&loop, "/proc/self/status", rf_keep, &rf), 0);
  run_loop();
  cr_assert_eq(rf.status, 0, "%s", hl_err_name(rf.status));
  cr_assert_gt(rf.len, 0);
  cr_assert_eq(strlen(rf.data), rf.len);
  cr_assert_not_null(strstr(rf.data, "Name:"));
  hl_fs_free(rf.data);
  hl_async_id_t as[16];
  cr_assert_geq(fsreqs(as, 16), 5, "open, fstat, reads until one returns 0, close");
  close_check();
}

Test(fs_chain, an_empty_file_gives_an_empty_nul_terminated_buffer) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("empty", "", 0);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("empty"), rf_keep, &rf), 0);
  run_loop();
  cr_assert_eq(rf.status, 0);
  cr_assert_eq(rf.len, 0);
  cr_assert_not_null(rf.data);
  cr_assert_eq(rf.data[0], 0);
  hl_fs_free(rf.data);
  close_check();
}

/* ---- write-file ----------------------------------------------------------------- */

static struct {
  int calls, status;
  hl_async_id_t exec;
} wf;

static void wf_done(int status, void *arg) {
  cr_assert_eq(arg, &wf);
  wf.calls++;
  wf.status = status;
  wf.exec = hl_execution_async_id();
}

static char *wf_pat;
static size_t wf_size;
static void wf_then_read(int status, void *arg) {
  wf_done(status, arg);
  cr_assert_eq(status, 0, "%s", hl_err_name(status));
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("out"), rf_keep, &rf), 0);
}

Test(fs_chain, write_file_then_read_file_round_trips_a_large_buffer) {
  start();
  memset(&rf, 0, sizeof rf);
  memset(&wf, 0, sizeof wf);
  wf_size = 1536 * 1024 + 3;
  wf_pat = fsu_pattern(wf_size);
  cr_assert_eq(hl_fs_write_file(&loop, fsu_path("out"), wf_pat, wf_size,
                                UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC, 0600, wf_then_read,
                                &wf),
               0);
  run_loop();
  cr_assert_eq(wf.calls, 1);
  cr_assert_eq(rf.status, 0);
  cr_assert_eq(rf.len, wf_size);
  cr_assert(!memcmp(rf.data, wf_pat, wf_size));
  hl_fs_free(rf.data);
  free(wf_pat);
  struct stat sb;
  cr_assert_eq(stat(fsu_path("out"), &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600);
  /* open -> write(s) -> close, then the read-file chain triggered by the close */
  hl_async_id_t as[32];
  int n = fsreqs(as, 32);
  cr_assert_geq(n, 3 + 5);
  cr_assert_eq(hl_log_init_of(&LOG, as[0])->trigger, 1);
  for (int i = 1; i < n; i++)
    cr_assert_eq(hl_log_init_of(&LOG, as[i])->trigger, as[i - 1], "request %d", i);
  close_check();
}

Test(fs_chain, write_file_appends_truncates_and_writes_nothing) {
  start();
  memset(&wf, 0, sizeof wf);
  const int APPEND = UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_APPEND;
  fsu_put("log", "abc", 3);
  cr_assert_eq(hl_fs_write_file(&loop, fsu_path("log"), "def", 3, APPEND, 0644, wf_done, &wf), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  fsu_put("trunc", "a long old content", 18);
  cr_assert_eq(hl_fs_write_file(&loop, fsu_path("trunc"), "new", 3, UV_FS_O_WRONLY | UV_FS_O_TRUNC,
                                0644, wf_done, &wf),
               0);
  cr_assert_eq(hl_fs_write_file(&loop, fsu_path("empty"), NULL, 0, UV_FS_O_WRONLY | UV_FS_O_CREAT,
                                0644, wf_done, &wf),
               0);
  run_loop();
  cr_assert_eq(wf.calls, 3);
  cr_assert_eq(wf.status, 0);
  char buf[32] = {0};
  int fd = open(fsu_path("log"), O_RDONLY);
  cr_assert_eq(read(fd, buf, sizeof buf - 1), 6);
  close(fd);
  cr_assert_str_eq(buf, "abcdef");
  memset(buf, 0, sizeof buf);
  fd = open(fsu_path("trunc"), O_RDONLY);
  cr_assert_eq(read(fd, buf, sizeof buf - 1), 3);
  close(fd);
  cr_assert_str_eq(buf, "new");
  struct stat sb;
  cr_assert_eq(stat(fsu_path("empty"), &sb), 0);
  cr_assert_eq(sb.st_size, 0);
  close_check();
}

Test(fs_chain, write_file_errors_reach_the_callback_and_the_file_is_closed) {
  start();
  memset(&wf, 0, sizeof wf);
  cr_assert_eq(hl_fs_write_file(&loop, fsu_path("no/such/dir"), "x", 1,
                                UV_FS_O_WRONLY | UV_FS_O_CREAT, 0644, wf_done, &wf),
               0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(wf.calls, 1);
  cr_assert_eq(wf.status, UV_ENOENT);
  hl_async_id_t as[8];
  cr_assert_eq(fsreqs(as, 8), 1, "only the open");
  cr_assert_eq(wf.exec, as[0]);

  struct stat sb;
  if (stat("/dev/full", &sb) == 0) { /* every write fails with ENOSPC */
    cr_assert_eq(hl_fs_write_file(&loop, "/dev/full", "x", 1, UV_FS_O_WRONLY, 0, wf_done, &wf), 0);
    cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
    cr_assert_eq(wf.calls, 2);
    cr_assert_eq(wf.status, UV_ENOSPC, "%s", hl_err_name(wf.status));
    int n = fsreqs(as, 8);
    cr_assert_eq(n, 4, "open, write, close");
    cr_assert_eq(wf.exec, as[3], "reported from the close's callback");
  }
  run_loop();
  close_check();
}

/* ---- async-local storage: the whole chain carries the caller's store --------- */

static hl_als_t als;
static char STORE[] = "request-1";
static void *store_in_cb;
static void rf_store(int status, char *data, size_t len, void *arg) {
  rf_keep(status, data, len, arg);
  store_in_cb = hl_als_get_store(&als);
}
static void issue_read(void *arg) {
  (void)arg;
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("f.js"), rf_store, &rf), 0);
}

Test(fs_chain, the_read_file_callback_sees_the_callers_store) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("f.js", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  cr_assert_eq(hl_als_run(&als, STORE, issue_read, NULL), 0);
  run_loop();
  cr_assert_eq(rf.status, 0);
  hl_fs_free(rf.data);
  cr_assert_eq(store_in_cb, STORE);
  close_check();
}

/* ---- EBUSY while a chain is in flight ----------------------------------------- */

Test(fs_chain, loop_close_returns_ebusy_while_a_chain_is_in_flight) {
  start();
  memset(&rf, 0, sizeof rf);
  fsu_put("f.js", CONTENT, sizeof CONTENT - 1);
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path("f.js"), rf_keep, &rf), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  cr_assert_neq(hl_run(&loop, HL_RUN_ONCE), 0, "the open ran; the fstat is in flight");
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY);
  run_loop();
  cr_assert_eq(rf.calls, 1);
  hl_fs_free(rf.data);
  close_check();
}

/* ---- many chains at once, each in its own store ------------------------------ */

#define MANY 100
static struct {
  int calls, ok;
  void *store;
} many[MANY];
static hl_als_t many_als;
static char many_files[MANY][16];

static void many_cb(int status, char *data, size_t len, void *arg) {
  intptr_t i = (intptr_t)arg;
  many[i].calls++;
  many[i].store = hl_als_get_store(&many_als);
  char want[16];
  snprintf(want, sizeof want, "file %d", (int)i);
  many[i].ok = status == 0 && len == strlen(want) && !strcmp(data, want);
  hl_fs_free(data);
}

static void many_issue(void *arg) {
  intptr_t i = (intptr_t)arg;
  cr_assert_eq(hl_fs_read_file(&loop, fsu_path(many_files[i]), many_cb, arg), 0);
}

Test(fs_chain, a_hundred_concurrent_chains_each_see_their_own_store_and_data) {
  start();
  memset(many, 0, sizeof many);
  cr_assert_eq(hl_als_init(&loop, &many_als, NULL), 0);
  for (intptr_t i = 0; i < MANY; i++) {
    char content[16];
    snprintf(many_files[i], sizeof many_files[i], "m%d", (int)i);
    snprintf(content, sizeof content, "file %d", (int)i);
    fsu_put(many_files[i], content, strlen(content));
    /* the store is the address of the slot: distinct per chain */
    cr_assert_eq(hl_als_run(&many_als, &many[i], many_issue, (void *)i), 0);
  }
  run_loop();
  for (int i = 0; i < MANY; i++) {
    cr_assert_eq(many[i].calls, 1, "chain %d", i);
    cr_assert(many[i].ok, "chain %d: its own file's data", i);
    cr_assert_eq(many[i].store, &many[i], "chain %d: its own store", i);
  }
  hl_async_id_t as[512];
  cr_assert_eq(fsreqs(as, 512), 4 * MANY);
  close_check();
}
