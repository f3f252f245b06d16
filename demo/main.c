/* demo/main.c - hookloop's main job.
 *
 * Default: an HTTP server on 127.0.0.1:8079 (the app layer over the HTTP
 * server): GET / answers "Hello, World!", GET /users/:id a JSON object, GET
 * /slow waits in an asynchronous beforeHandle (100 ms, or ?ms=N) first. Every
 * response carries X-Duration, set in pre-writeHead from the request's start
 * (the http-hooks README example), X-Elapsed, the beforeHandle stage's time
 * set from a trace (Elysia's trace example), and Server-Timing (per stage and
 * function). --trace prints one line per request on stdout with each stage
 * that ran and its time in ms. --print-types prints the type of every async
 * resource created, one per line (the async_hooks seed). Stops on SIGINT
 * (Ctrl-C) with exit code 0.
 *
 * --tree: schedule timers, an interval, immediates, next-ticks, microtasks
 * and a promise chain, watch them all with one async hook, and print the
 * async resource tree it saw (id, type, trigger) as an indented tree. Each
 * callback also prints where it runs and the async-local store it sees, to
 * show the context following causality.
 *
 * Usage: hookloop-demo [--port N] [--print-types] [--trace]
 *        hookloop-demo --tree [--quiet]   (--quiet prints only the tree)
 */
#include <hookloop.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 256

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
  int quiet;
  int interval_runs;
  hl_timer_t interval;
} app;

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

static void say(const char *what) {
  if (app.quiet)
    return;
  const char *store = hl_als_get_store(&app.request);
  printf("%-28s exec %-3lld trigger %-3lld store %s\n", what, (long long)hl_execution_async_id(),
         (long long)hl_trigger_async_id(), store ? store : "-");
}

static void on_tick(void *arg) {
  say(arg);
}

static void on_microtask(void *arg) {
  say(arg);
}

static void on_immediate(void *arg) {
  say(arg);
  hl_next_tick(&app.loop, on_tick, "tick from immediate");
}

static void on_interval(void *arg) {
  (void)arg;
  app.interval_runs++;
  say(app.interval_runs == 1   ? "interval run 1"
      : app.interval_runs == 2 ? "interval run 2"
                               : "interval run 3");
  if (app.interval_runs == 3)
    hl_clear_timer(&app.interval);
}

static void on_value(hl_promise_t *next, void *value, void *arg) {
  (void)arg;
  say(value);
  hl_promise_resolve(next, "promise step 2", NULL);
}

static void on_value2(hl_promise_t *next, void *value, void *arg) {
  (void)next;
  (void)arg;
  say(value);
}

static void on_timeout(void *arg) {
  say(arg);
  hl_set_immediate(&app.loop, on_immediate, "immediate from timeout", NULL);
  hl_promise_t *p, *q;
  if (hl_promise_new(&app.loop, &p) == 0 && hl_promise_then(p, on_value, NULL, NULL, &q) == 0) {
    hl_promise_then(q, on_value2, NULL, NULL, NULL);
    hl_promise_resolve(p, "promise step 1", NULL);
  }
}

static void request(void *arg) {
  (void)arg;
  say("request starts");
  hl_set_timeout(&app.loop, on_timeout, "timeout 5ms", 5, NULL);
  hl_next_tick(&app.loop, on_tick, "tick from request");
  hl_queue_microtask(&app.loop, on_microtask, "microtask from request");
}

static int tree_main(int quiet) {
  app.quiet = quiet;
  int r = hl_loop_init(&app.loop);
  if (r) {
    fprintf(stderr, "hl_loop_init: %s\n", hl_strerror(r));
    return 1;
  }
  hl_hook_callbacks_t cb = {.init = on_init, .destroy = on_destroy};
  hl_hook_t *hook;
  if ((r = hl_hook_create(&app.loop, &cb, NULL, &hook)) || (r = hl_hook_enable(hook)) ||
      (r = hl_als_init(&app.loop, &app.request, NULL))) {
    fprintf(stderr, "setup: %s\n", hl_strerror(r));
    return 1;
  }

  /* Two "requests", each with its own store, and a shared interval. */
  hl_als_run(&app.request, "request-A", request, NULL);
  hl_als_run(&app.request, "request-B", request, NULL);
  hl_set_interval(&app.loop, on_interval, NULL, 2, &app.interval);

  hl_run(&app.loop, HL_RUN_DEFAULT);
  hl_hook_disable(hook);

  printf("%sasync resource tree (type, id), rooted at the top level (id 1):\nroot (id 1)\n",
         app.quiet ? "" : "\n");
  print_tree(1, 0);
  hl_hook_destroy(hook);
  r = hl_loop_close(&app.loop);
  if (r) {
    fprintf(stderr, "hl_loop_close: %s\n", hl_strerror(r));
    return 1;
  }
  return 0;
}

/* ---- the HTTP server (default mode) ------------------------------------------------ */

static struct {
  hl_loop_t loop;
  hl_app_t *app;
  uv_signal_t sigint;
  hl_hook_t *types;
  int trace_lines;
} srv;

static void print_type(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                       void *arg) {
  (void)id;
  (void)trigger;
  (void)res;
  (void)arg;
  printf("%s\n", type);
  fflush(stdout);
}

/* The http-hooks README example: X-Duration = preWriteHead - start (ms). */
static void on_pre_write_head(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)ev;
  (void)arg;
  const hl_http_times_t *t = hl_http_res_times(res);
  char v[32];
  snprintf(v, sizeof v, "%.3f",
           hl_http_time_epoch_ms(t->pre_write_head) - hl_http_time_epoch_ms(t->start));
  hl_http_res_set_header(res, "X-Duration", v);
}

static void on_http_request_event(const hl_http_hook_event_t *ev, void *arg) {
  (void)arg;
  hl_http_res_on(ev->res, HL_HTTP_RES_PRE_WRITE_HEAD, on_pre_write_head, NULL);
}

/* ---- routes ---- */
static hl_value_t hello(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("Hello, World!");
}

static hl_value_t user(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *id = hl_ctx_param(ctx, "id");
  json_t *j = json_object();
  json_object_set_new(j, "id", json_string(id));
  json_object_set_new(j, "name", json_string(hl_ctx_printf(ctx, "user %s", id)));
  return hl_json(j);
}

/* /slow: an asynchronous beforeHandle (a promise resolved by a 100 ms timer,
 * or ?ms=N), then the handler. */
static void wake(void *arg) {
  hl_promise_resolve(arg, NULL, NULL);
}
static hl_value_t wait_fn(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *q = hl_ctx_query(ctx, "ms");
  long ms = q ? strtol(q, NULL, 10) : 100;
  if (ms < 0 || ms > 10000)
    return hl_fail(HL_EVALIDATION, "ms must be 0..10000");
  hl_promise_t *p;
  int r = hl_promise_new(&srv.loop, &p);
  if (r == 0 && (r = hl_set_timeout(&srv.loop, wake, p, (uint64_t)ms, NULL)) != 0)
    hl_promise_resolve(p, NULL, NULL);
  return r ? hl_fail(r, NULL) : hl_async(p);
}
static hl_value_t slow(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("slow, but here\n");
}

/* ---- trace: X-Elapsed (Elysia's trace example) and, with --trace, one line
 * per request on stdout with every stage that ran and its time ---- */
typedef struct {
  hl_ctx_t *ctx;
  uint64_t start;
  char method[8], path[64];
  char line[512];
  size_t len;
} tline_t;

static hl_promise_t *set_x_elapsed(const hl_trace_end_t *e, void *arg) {
  char v[32];
  snprintf(v, sizeof v, "%.3f", (double)e->elapsed / 1e6);
  hl_ctx_set_header(arg, "X-Elapsed", v);
  return NULL;
}
static void on_before_handle(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_stop(st, set_x_elapsed, arg);
}

typedef struct {
  tline_t *t;
  const char *name;
  uint64_t begin;
  int last;
} tstage_t;

static hl_promise_t *stage_stopped(const hl_trace_end_t *e, void *arg) {
  tstage_t *s = arg;
  tline_t *t = s->t;
  if (t->len < sizeof t->line)
    t->len += (size_t)snprintf(t->line + t->len, sizeof t->line - t->len, " %s=%.3f%s", s->name,
                               (double)e->elapsed / 1e6, e->error ? "!" : "");
  if (s->last) {
    printf("#%llu %s %s %d%s total=%.3fms\n", (unsigned long long)hl_ctx_id(t->ctx), t->method,
           t->path, hl_ctx_status(t->ctx), t->line, (double)(e->end - t->start) / 1e6);
    fflush(stdout);
  }
  return NULL;
}
static void stage_started(hl_trace_stage_t *st, void *arg) {
  tline_t *t = arg;
  tstage_t *s = hl_ctx_alloc(t->ctx, sizeof *s);
  if (s == NULL)
    return;
  if (st->stage == HL_STAGE_REQUEST) { /* the request is still there: keep its line */
    const char *m = hl_ctx_method(t->ctx), *p = hl_ctx_path(t->ctx);
    snprintf(t->method, sizeof t->method, "%s", m ? m : "?");
    snprintf(t->path, sizeof t->path, "%s", p ? p : "?");
  }
  s->t = t;
  s->name = st->name;
  s->last = st->stage == HL_STAGE_AFTER_RESPONSE;
  hl_trace_stage_on_stop(st, stage_stopped, s);
}

static void trace_fn(hl_trace_t *tp, void *arg) {
  (void)arg;
  hl_trace_on(tp, HL_STAGE_BEFORE_HANDLE, on_before_handle, tp->ctx);
  if (!srv.trace_lines)
    return;
  tline_t *t = hl_ctx_alloc(tp->ctx, sizeof *t);
  if (t == NULL)
    return;
  t->ctx = tp->ctx;
  t->start = tp->time;
  t->len = 0;
  t->line[0] = '\0';
  strcpy(t->method, "?");
  strcpy(t->path, "?");
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(tp, (hl_stage_t)s, stage_started, t);
}

static int app_setup(void) {
  hl_route_t *r;
  int e;
  if ((e = hl_app_new(&srv.loop, &srv.app)) ||
      (e = hl_app_route(srv.app, HL_GET, "/", "hello", hello, NULL, NULL)) ||
      (e = hl_app_route(srv.app, HL_GET, "/users/:id", "user", user, NULL, NULL)) ||
      (e = hl_app_route(srv.app, HL_GET, "/slow", "slow", slow, NULL, &r)) ||
      (e = hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "wait", wait_fn, NULL)) ||
      (e = hl_app_trace(srv.app, trace_fn, NULL)) ||
      (e = hl_app_server_timing(srv.app, HL_SERVER_TIMING_FUNCTIONS)))
    return e;
  return 0;
}

static void on_app_closed(hl_app_t *a) {
  (void)a;
  uv_close((uv_handle_t *)&srv.sigint, NULL);
}

static void on_sigint(uv_signal_t *h, int signum) {
  (void)signum;
  uv_signal_stop(h);
  fprintf(stderr, "hookloop-demo: SIGINT, closing\n");
  hl_app_close(srv.app, on_app_closed);
}

static int server_main(int port, int print_types, int trace_lines) {
  srv.trace_lines = trace_lines;
  int r = hl_loop_init(&srv.loop);
  if (r) {
    fprintf(stderr, "hl_loop_init: %s\n", hl_strerror(r));
    return 1;
  }
  if (print_types) {
    hl_hook_callbacks_t cb = {.init = print_type};
    if ((r = hl_hook_create(&srv.loop, &cb, NULL, &srv.types)) || (r = hl_hook_enable(srv.types))) {
      fprintf(stderr, "hook: %s\n", hl_strerror(r));
      return 1;
    }
  }
  hl_http_hooks_on(&srv.loop, HL_HTTP_HOOK_REQUEST, on_http_request_event, NULL);
  if ((r = app_setup()) || (r = hl_app_listen(srv.app, "127.0.0.1", port, 511))) {
    fprintf(stderr, "hookloop-demo: cannot listen on 127.0.0.1:%d: %s\n", port, hl_strerror(r));
    hl_run(&srv.loop, HL_RUN_DEFAULT);
    if (srv.app)
      hl_app_free(srv.app);
    hl_http_hooks_off(&srv.loop, on_http_request_event, NULL);
    if (srv.types)
      hl_hook_destroy(srv.types);
    hl_loop_close(&srv.loop);
    return 1;
  }
  uv_signal_init(hl_loop_uv(&srv.loop), &srv.sigint);
  uv_signal_start(&srv.sigint, on_sigint, SIGINT);
  fprintf(stderr, "hookloop-demo: listening on http://127.0.0.1:%d/ (Ctrl-C stops)\n",
          hl_app_port(srv.app));
  hl_run(&srv.loop, HL_RUN_DEFAULT);
  r = hl_app_free(srv.app);
  if (r)
    fprintf(stderr, "hl_app_free: %s\n", hl_strerror(r));
  hl_http_hooks_off(&srv.loop, on_http_request_event, NULL);
  if (srv.types) {
    hl_hook_disable(srv.types);
    hl_hook_destroy(srv.types);
  }
  int rc = hl_loop_close(&srv.loop);
  if (rc) {
    fprintf(stderr, "hl_loop_close: %s\n", hl_strerror(rc));
    return 1;
  }
  return r ? 1 : 0;
}

int main(int argc, char **argv) {
  int tree = 0, quiet = 0, print_types = 0, trace_lines = 0, port = 8079;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tree"))
      tree = 1;
    else if (!strcmp(argv[i], "--quiet"))
      quiet = 1;
    else if (!strcmp(argv[i], "--print-types"))
      print_types = 1;
    else if (!strcmp(argv[i], "--trace"))
      trace_lines = 1;
    else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      char *end;
      long p = strtol(argv[++i], &end, 10);
      if (*end || p < 0 || p > 65535) {
        fprintf(stderr, "hookloop-demo: bad port %s\n", argv[i]);
        return 2;
      }
      port = (int)p;
    } else {
      fprintf(stderr,
              "usage: hookloop-demo [--port N] [--print-types] [--trace] | --tree [--quiet]\n");
      return 2;
    }
  }
  return tree ? tree_main(quiet) : server_main(port, print_types, trace_lines);
}
