/* examples/io/read_file_tree.c - read a file with hl_fs_read_file(), count
 * its lines on the thread pool with hl_queue_work(), and print the async
 * resource tree an async hook saw: the read-file chain (open -> fstat ->
 * read... -> close, each request triggered by the one before) and the work
 * request queued from the chain's last callback. Both callbacks also show
 * that the async-local store set around hl_fs_read_file() follows along.
 *
 * Usage: example-read-file-tree [path]   (default: the program itself)
 * Exit code 1 if the file could not be read.
 */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 64

typedef struct node_s {
  hl_async_id_t id, trigger;
  char type[24];
  int destroyed;
} node_t;

static struct {
  hl_loop_t loop;
  hl_als_t request;
  node_t nodes[MAX_NODES];
  int n;
  const char *path;
  int failed;
} app;

/* The line count, computed on a pool thread: only plain C there. */
typedef struct count_job_s {
  hl_work_t req;
  char *data;
  size_t len;
  size_t lines;
} count_job_t;

/* ---- the hook: record the tree ---------------------------------------------- */

static void on_init(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                    void *arg) {
  (void)res;
  (void)arg;
  if (app.n == MAX_NODES)
    return;
  node_t *nd = &app.nodes[app.n++];
  nd->id = id;
  nd->trigger = trigger;
  snprintf(nd->type, sizeof nd->type, "%s", type);
}

static void on_destroy(hl_async_id_t id, void *arg) {
  (void)arg;
  for (int i = 0; i < app.n; i++)
    if (app.nodes[i].id == id)
      app.nodes[i].destroyed = 1;
}

static void print_tree(hl_async_id_t parent, int depth) {
  for (int i = 0; i < app.n; i++) {
    if (app.nodes[i].trigger != parent)
      continue;
    printf("%*s%s (id %lld%s)\n", 2 * depth + 2, "", app.nodes[i].type, (long long)app.nodes[i].id,
           app.nodes[i].destroyed ? "" : ", alive");
    print_tree(app.nodes[i].id, depth + 1);
  }
}

/* ---- the work ------------------------------------------------------------------ */

static void where(const char *what) {
  const char *store = hl_als_get_store(&app.request);
  printf("%-22s exec %-3lld trigger %-3lld store %s\n", what, (long long)hl_execution_async_id(),
         (long long)hl_trigger_async_id(), store ? store : "-");
}

static void count_lines(hl_work_t *req) { /* pool thread */
  count_job_t *job = req->data;
  for (size_t i = 0; i < job->len; i++)
    job->lines += job->data[i] == '\n';
}

static void counted(hl_work_t *req, int status) {
  count_job_t *job = req->data;
  where("lines counted");
  if (status == 0) {
    printf("lines: %zu\n", job->lines);
  } else {
    fprintf(stderr, "count: %s\n", hl_strerror(status));
    app.failed = 1;
  }
  hl_fs_free(job->data);
  free(job);
}

static void on_read(int status, char *data, size_t len, void *arg) {
  (void)arg;
  where("file read");
  if (status < 0) {
    fprintf(stderr, "%s: %s\n", app.path, hl_strerror(status));
    app.failed = 1;
    return;
  }
  printf("bytes: %zu\n", len);
  count_job_t *job = calloc(1, sizeof *job);
  if (!job) {
    app.failed = 1;
    hl_fs_free(data);
    return;
  }
  job->req.data = job;
  job->data = data; /* the job owns the buffer now */
  job->len = len;
  int r = hl_queue_work(&app.loop, &job->req, count_lines, counted);
  if (r) {
    fprintf(stderr, "hl_queue_work: %s\n", hl_strerror(r));
    app.failed = 1;
    hl_fs_free(data);
    free(job);
  }
}

static void start_read(void *arg) {
  (void)arg;
  int r = hl_fs_read_file(&app.loop, app.path, on_read, NULL);
  if (r) {
    fprintf(stderr, "hl_fs_read_file: %s\n", hl_strerror(r));
    app.failed = 1;
  }
}

int main(int argc, char **argv) {
  app.path = argc > 1 ? argv[1] : argv[0];
  hl_hook_t *hook;
  hl_hook_callbacks_t cbs = {.init = on_init, .destroy = on_destroy};
  int r;
  if ((r = hl_loop_init(&app.loop)) || (r = hl_als_init(&app.loop, &app.request, NULL)) ||
      (r = hl_hook_create(&app.loop, &cbs, NULL, &hook)) || (r = hl_hook_enable(hook)) ||
      (r = hl_als_run(&app.request, "read-1", start_read, NULL))) {
    fprintf(stderr, "setup: %s\n", hl_strerror(r));
    return 1;
  }
  hl_run(&app.loop, HL_RUN_DEFAULT);
  printf("async resource tree (type, id), rooted at the top level (id 1):\nroot (id 1)\n");
  print_tree(1, 0);
  hl_hook_destroy(hook);
  return hl_loop_close(&app.loop) || app.failed ? 1 : 0;
}
