/* demo/main.c - hookloop's main job.
 *
 * Default: an HTTP server on 127.0.0.1:8079 answering GET / with
 * "Hello, World!" and an X-Duration header set in pre-writeHead from the
 * request's start (the http-hooks README example). --print-types prints the
 * type of every async resource created, one per line (the async_hooks seed).
 * Stops on SIGINT (Ctrl-C) with exit code 0.
 *
 * --tree: schedule timers, an interval, immediates, next-ticks, microtasks
 * and a promise chain, watch them all with one async hook, and print the
 * async resource tree it saw (id, type, trigger) as an indented tree. Each
 * callback also prints where it runs and the async-local store it sees, to
 * show the context following causality.
 *
 * Usage: hookloop-demo [--port N] [--print-types]
 *        hookloop-demo --tree [--quiet]   (--quiet prints only the tree)
 */
#include <hookloop.h>
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
  hl_http_server_t server;
  uv_signal_t sigint;
  hl_hook_t *types;
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

static void on_request(hl_http_server_t *server, hl_http_req_t *req, hl_http_res_t *res) {
  (void)server;
  static const char hello[] = "Hello, World!";
  if (!strcmp(hl_http_req_path(req), "/") &&
      (!strcmp(hl_http_req_method(req), "GET") || !strcmp(hl_http_req_method(req), "HEAD"))) {
    hl_http_res_set_header(res, "Content-Type", "text/plain");
    hl_http_res_end(res, hello, sizeof hello - 1);
  } else {
    hl_http_res_status(res, 404, NULL);
    hl_http_res_end(res, "Not Found\n", 10);
  }
}

static void on_server_closed(hl_http_server_t *server) {
  (void)server;
  uv_close((uv_handle_t *)&srv.sigint, NULL);
}

static void on_sigint(uv_signal_t *h, int signum) {
  (void)signum;
  uv_signal_stop(h);
  fprintf(stderr, "hookloop-demo: SIGINT, closing\n");
  hl_http_server_close(&srv.server, on_server_closed);
}

static int server_main(int port, int print_types) {
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
  if ((r = hl_http_server_init(&srv.loop, &srv.server, on_request, NULL)) ||
      (r = hl_http_server_listen(&srv.server, "127.0.0.1", port, 511))) {
    fprintf(stderr, "hookloop-demo: cannot listen on 127.0.0.1:%d: %s\n", port, hl_strerror(r));
    if (srv.server.impl)
      hl_http_server_close(&srv.server, NULL);
    hl_run(&srv.loop, HL_RUN_DEFAULT);
    hl_http_hooks_off(&srv.loop, on_http_request_event, NULL);
    if (srv.types)
      hl_hook_destroy(srv.types);
    hl_loop_close(&srv.loop);
    return 1;
  }
  uv_signal_init(hl_loop_uv(&srv.loop), &srv.sigint);
  uv_signal_start(&srv.sigint, on_sigint, SIGINT);
  fprintf(stderr, "hookloop-demo: listening on http://127.0.0.1:%d/ (Ctrl-C stops)\n",
          hl_http_server_port(&srv.server));
  hl_run(&srv.loop, HL_RUN_DEFAULT);
  hl_http_hooks_off(&srv.loop, on_http_request_event, NULL);
  if (srv.types) {
    hl_hook_disable(srv.types);
    hl_hook_destroy(srv.types);
  }
  r = hl_loop_close(&srv.loop);
  if (r) {
    fprintf(stderr, "hl_loop_close: %s\n", hl_strerror(r));
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int tree = 0, quiet = 0, print_types = 0, port = 8079;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tree"))
      tree = 1;
    else if (!strcmp(argv[i], "--quiet"))
      quiet = 1;
    else if (!strcmp(argv[i], "--print-types"))
      print_types = 1;
    else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
      char *end;
      long p = strtol(argv[++i], &end, 10);
      if (*end || p < 0 || p > 65535) {
        fprintf(stderr, "hookloop-demo: bad port %s\n", argv[i]);
        return 2;
      }
      port = (int)p;
    } else {
      fprintf(stderr, "usage: hookloop-demo [--port N] [--print-types] | --tree [--quiet]\n");
      return 2;
    }
  }
  return tree ? tree_main(quiet) : server_main(port, print_types);
}
