/* bench/app/bench_app_http.c - the hookloop side of bench/app's wrk part:
 *
 *   hl-bench-app-http PORT           the app (hl_app_listen), one route `/`
 *                                    with two beforeHandle functions (`setup`,
 *                                    `check`) answering "Hello, World!"
 *   hl-bench-app-http PORT --trace   the same with a trace listening to every
 *                                    stage and every event (each event's and
 *                                    each stage's on_stop) and Server-Timing
 *                                    with one metric per stage and function
 *
 * The bare-server rows of the table are bench/http's hl-bench-http, with
 * --content-type (the same bytes as this app's answer: the target row) and
 * without (bench/http's own, for reference). The peer is
 * bench/app/elysia/server.mjs. SIGINT/SIGTERM close the app gracefully.
 */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hl_loop_t loop;
static hl_app_t *app;
static uv_signal_t sig_int, sig_term;
static unsigned long stops;

static hl_value_t hello(hl_ctx_t *ctx, void *arg) {
  (void)ctx, (void)arg;
  return hl_text("Hello, World!");
}
static hl_value_t setup(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  hl_ctx_set_data(ctx, &stops); /* something per request, as Elysia's store.n++ */
  return hl_none();
}
static hl_value_t check(hl_ctx_t *ctx, void *arg) {
  (void)arg;
  const char *m = hl_ctx_method(ctx);
  return m && m[0] == 'G' ? hl_none() : hl_text("no");
}

static hl_promise_t *on_stop(const hl_trace_end_t *e, void *arg) {
  (void)e, (void)arg;
  stops++;
  return NULL;
}
static void on_event(hl_trace_event_t *ev, void *arg) {
  hl_trace_event_on_stop(ev, on_stop, arg);
}
static void on_stage(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_event(st, on_event, arg);
  hl_trace_stage_on_stop(st, on_stop, arg);
}
static void trace_all(hl_trace_t *t, void *arg) {
#pragma GCC unroll 16 /* nine calls with constant arguments, no loop around them */
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, on_stage, arg);
}

static void closed_cb(hl_app_t *a) {
  (void)a;
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
}
static void on_signal(uv_signal_t *h, int signum) {
  (void)h, (void)signum;
  uv_signal_stop(&sig_int);
  uv_signal_stop(&sig_term);
  hl_app_close(app, closed_cb);
}

static void check_rc(const char *what, int rc) {
  if (rc) {
    fprintf(stderr, "hl-bench-app-http: %s: %s\n", what, hl_strerror(rc));
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: hl-bench-app-http PORT [--trace]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  int traced = argc > 2 && strcmp(argv[2], "--trace") == 0;
  check_rc("loop", hl_loop_init(&loop));
  check_rc("app", hl_app_new(&loop, &app));
  hl_route_t *r;
  check_rc("route", hl_app_route(app, HL_GET, "/", "hello", hello, NULL, &r));
  check_rc("setup", hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "setup", setup, NULL));
  check_rc("check", hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "check", check, NULL));
  if (traced) {
    check_rc("trace", hl_app_trace(app, trace_all, NULL));
    check_rc("server-timing", hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS));
  }
  check_rc("listen", hl_app_listen(app, "127.0.0.1", port, 1024));
  uv_signal_init(hl_loop_uv(&loop), &sig_int);
  uv_signal_init(hl_loop_uv(&loop), &sig_term);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  fprintf(stderr, "listening %d%s\n", hl_app_port(app), traced ? " (trace)" : "");
  hl_run(&loop, HL_RUN_DEFAULT);
  check_rc("free", hl_app_free(app));
  check_rc("loop close", hl_loop_close(&loop));
  return 0;
}
