/* demo/main.c - hookloop's main job, for now: schedule timers, an interval,
 * immediates, next-ticks, microtasks and a promise chain, watch them all with
 * one async hook, and print the async resource tree it saw (id, type,
 * trigger) as an indented tree. Each callback also prints where it runs and
 * the async-local store it sees, to show the context following causality.
 *
 * Usage: hookloop-demo [--quiet]   (--quiet prints only the tree)
 */
#include <hookloop.h>
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

int main(int argc, char **argv) {
  app.quiet = argc > 1 && !strcmp(argv[1], "--quiet");
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
