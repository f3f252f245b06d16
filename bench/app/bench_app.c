/* bench/app/bench_app.c - the app layer's micro benchmarks (no sockets):
 *
 *   router:    ns per lookup of the same 10 paths (static, one and two
 *              parameters, a wildcard) in an app with 10 routes and in one
 *              with 1,000 routes (a superset): a radix tree's cost follows the
 *              path, not the route count;
 *   lifecycle: ns per request through the whole lifecycle with an in-memory
 *              transport (the same adapter interface the HTTP glue
 *              implements), one route with two beforeHandle functions, with no
 *              trace, and with a trace listening to every stage and every
 *              event plus Server-Timing.
 *
 * Output: "result bench=... variant=... ns_op=... median_ns_op=..." lines that
 * bench/app/run turns into a table. The wrk part (over HTTP) comes with the
 * HTTP server.
 */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "app/io.h"

static hl_value_t h(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_text("Hello, World!");
}
static hl_value_t nop(hl_ctx_t *ctx, void *arg) {
  (void)ctx;
  (void)arg;
  return hl_none();
}

static void die(const char *what, int rc) {
  fprintf(stderr, "hl-bench-app: %s: %s\n", what, hl_strerror(rc));
  exit(1);
}

static void add_routes(hl_app_t *app, int n) {
  char p[96];
  int rc;
  for (int i = 0; i < n; i++) {
    switch (i % 4) {
    case 0:
      snprintf(p, sizeof p, "/static/page%d", i);
      break;
    case 1:
      snprintf(p, sizeof p, "/api/v%d/users%d/:id", i % 5, i);
      break;
    case 2:
      snprintf(p, sizeof p, "/api/v%d/posts%d/:post/comments/:c", i % 5, i);
      break;
    default:
      snprintf(p, sizeof p, "/files%d/*", i);
      break;
    }
    if ((rc = hl_app_route(app, HL_GET, p, "h", h, NULL, NULL)) != 0)
      die(p, rc);
  }
}

static const char *paths[10] = {
    "/static/page0", "/api/v1/users1/42",     "/api/v2/posts2/7/comments/9", "/files3/a/b/c.txt",
    "/static/page4", "/api/v0/users5/abc",    "/api/v1/posts6/x/comments/y", "/files7/img.png",
    "/static/page8", "/api/v4/users9/1234567"};

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *bench, const char *variant, double *s, int n, long ops) {
  qsort(s, (size_t)n, sizeof *s, cmp);
  printf("result bench=%s variant=%s ns_op=%.2f median_ns_op=%.2f ops=%ld samples=%d\n", bench,
         variant, s[0], s[n / 2], ops, n);
}

static volatile size_t sink;

static void bench_router(int nroutes, int samples, long iters) {
  hl_loop_t loop;
  hl_app_t *app;
  int rc;
  if ((rc = hl_loop_init(&loop)) || (rc = hl_app_new(&loop, &app)))
    die("init", rc);
  add_routes(app, nroutes);
  size_t lens[10];
  for (int i = 0; i < 10; i++)
    lens[i] = strlen(paths[i]);
  hl_route_match_t m;
  for (int i = 0; i < 10; i++) { /* every path must match in both apps */
    hl_app_match(app, "GET", paths[i], lens[i], &m);
    if (m.status != 200) {
      fprintf(stderr, "hl-bench-app: %s not found\n", paths[i]);
      exit(1);
    }
  }
  double s[64];
  for (int k = 0; k < samples; k++) {
    uint64_t t0 = uv_hrtime();
    for (long i = 0; i < iters; i++) {
      hl_app_match(app, "GET", paths[i % 10], lens[i % 10], &m);
      sink += m.n_params;
    }
    s[k] = (double)(uv_hrtime() - t0) / (double)iters;
  }
  char v[32];
  snprintf(v, sizeof v, "%d_routes", nroutes);
  report("router", v, s, samples, iters);
  hl_app_free(app);
  hl_loop_close(&loop);
}

/* ---- an in-memory transport ---- */
typedef struct {
  int done;
  size_t bytes;
} req_t;
static const char *b_method(void *io) {
  (void)io;
  return "GET";
}
static const char *b_path(void *io) {
  (void)io;
  return "/bench/42";
}
static const char *b_query(void *io) {
  (void)io;
  return NULL;
}
static const char *b_header(void *io, const char *n) {
  (void)io;
  (void)n;
  return NULL;
}
static int b_header_at(void *io, size_t i, const char **n, const char **v) {
  (void)io;
  (void)i;
  (void)n;
  (void)v;
  return HL_ENOENT;
}
static int b_read_body(void *io, hl__req_t *r, hl__app_body_cb cb) {
  (void)io;
  cb(r, 0, "", 0);
  return 0;
}
static int b_respond(void *io, int st, const hl_header_t *hd, size_t n, const void *b, size_t l) {
  (void)st;
  (void)b;
  req_t *q = io;
  q->bytes = l;
  for (size_t i = 0; i < n; i++)
    q->bytes += strlen(hd[i].value);
  return 0;
}
static int b_file(void *io, int st, const hl_header_t *hd, size_t n, const char *p) {
  (void)io;
  (void)st;
  (void)hd;
  (void)n;
  (void)p;
  return HL_ENOTSUP;
}
static int b_sstart(void *io, int st, const hl_header_t *hd, size_t n) {
  (void)io;
  (void)st;
  (void)hd;
  (void)n;
  return HL_ENOTSUP;
}
static int b_swrite(void *io, const void *d, size_t n) {
  (void)io;
  (void)d;
  (void)n;
  return HL_ENOTSUP;
}
static int b_send(void *io) {
  (void)io;
  return HL_ENOTSUP;
}
static void b_release(void *io) {
  ((req_t *)io)->done = 1;
}
static const hl__app_io_t vt = {b_method,    b_path,    b_query,   b_header, b_header_at,
                                b_read_body, b_respond, b_file,    b_sstart, b_swrite,
                                b_send,      NULL,      b_release, NULL};

static hl_promise_t *stop_nop(const hl_trace_end_t *e, void *arg) {
  (void)e;
  (void)arg;
  return NULL;
}
static void ev_all(hl_trace_event_t *ev, void *arg) {
  hl_trace_event_on_stop(ev, stop_nop, arg);
}
static void stage_all(hl_trace_stage_t *st, void *arg) {
  hl_trace_stage_on_event(st, ev_all, arg);
  hl_trace_stage_on_stop(st, stop_nop, arg);
}
static void trace_all(hl_trace_t *t, void *arg) {
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, stage_all, arg);
}

static void bench_lifecycle(int traced, int samples, long iters) {
  hl_loop_t loop;
  hl_app_t *app;
  hl_route_t *r;
  int rc;
  if ((rc = hl_loop_init(&loop)) || (rc = hl_app_new(&loop, &app)))
    die("init", rc);
  if ((rc = hl_app_route(app, HL_GET, "/bench/:id", "handler", h, NULL, &r)) ||
      (rc = hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "one", nop, NULL)) ||
      (rc = hl_route_on(r, HL_STAGE_BEFORE_HANDLE, "two", nop, NULL)))
    die("route", rc);
  if (traced && ((rc = hl_app_trace(app, trace_all, NULL)) ||
                 (rc = hl_app_server_timing(app, HL_SERVER_TIMING_FUNCTIONS))))
    die("trace", rc);
  double s[64];
  for (int k = 0; k < samples; k++) {
    uint64_t t0 = uv_hrtime();
    for (long i = 0; i < iters; i++) {
      req_t q = {0, 0};
      hl__req_t *hr;
      if ((rc = hl__app_dispatch(app, &vt, &q, &hr)) != 0)
        die("dispatch", rc);
      hl__app_io_closed(hr, 0);
      if (!q.done)
        die("request not done", HL_ESTATE);
      sink += q.bytes;
    }
    s[k] = (double)(uv_hrtime() - t0) / (double)iters;
    hl_run(&loop, HL_RUN_NOWAIT); /* let the batched destroys go */
  }
  report("lifecycle", traced ? "trace_all" : "no_trace", s, samples, iters);
  hl_app_free(app);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  int samples = quick ? 3 : 21;
  long iters = quick ? 20000 : 1000000;
  bench_router(10, samples, iters);
  bench_router(1000, samples, iters);
  bench_lifecycle(0, samples, iters / 10);
  bench_lifecycle(1, samples, iters / 10);
  return 0;
}
