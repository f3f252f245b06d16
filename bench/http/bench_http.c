/* bench/http/bench_http.c - the hookloop side of bench/http.
 *
 *   hl-bench-http PORT            "Hello, World!" server, nothing enabled
 *   hl-bench-http PORT --hooks    the same with one async hook (init, before,
 *                                 after, destroy) and every http-hooks event
 *                                 subscribed (server, connection, request,
 *                                 and per response the five events)
 *   hl-bench-http PORT --content-type   nothing enabled, each answer with
 *                                 `Content-Type: text/plain; charset=utf-8`
 *                                 set: the same bytes as bench/app's app
 *                                 answers (its text value's type), so that
 *                                 bench/app compares the two on one response
 *   hl-bench-http --mem N         memory per idle keep-alive connection: a
 *                                 child process opens N connections, each
 *                                 makes one request and stays open; the
 *                                 server's RSS before and after is printed
 * SIGINT/SIGTERM close the server gracefully.
 */
#include <hookloop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void hl__http_struct_sizes(size_t *conn, size_t *req);

static hl_loop_t loop;
static hl_http_server_t server;
static uv_signal_t sig_int, sig_term;
static long hook_calls, events, finished;

static void on_request(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  hl_http_res_end(res, "Hello, World!", 13);
}

static void on_request_ct(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  hl_http_res_set_header(res, "Content-Type", "text/plain; charset=utf-8");
  hl_http_res_end(res, "Hello, World!", 13);
}

static void h_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *r, void *a) {
  (void)id, (void)type, (void)trig, (void)r, (void)a;
  hook_calls++;
}
static void h_id(hl_async_id_t id, void *a) {
  (void)id, (void)a;
  hook_calls++;
}
static void on_res_event(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res, (void)ev, (void)arg;
  events++;
}
static void on_http_hook(const hl_http_hook_event_t *ev, void *arg) {
  (void)arg;
  events++;
  if (ev->kind == HL_HTTP_HOOK_REQUEST)
    hl_http_res_on(ev->res, 31, on_res_event, NULL);
}
static void on_finish(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res, (void)ev, (void)arg;
  finished++;
}
static void mem_hook(const hl_http_hook_event_t *ev, void *arg) {
  (void)arg;
  hl_http_res_on(ev->res, HL_HTTP_RES_FINISH, on_finish, NULL);
}

static void closed_cb(hl_http_server_t *s) {
  (void)s;
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
}
static void on_signal(uv_signal_t *h, int signum) {
  (void)h, (void)signum;
  uv_signal_stop(&sig_int);
  uv_signal_stop(&sig_term);
  hl_http_server_close(&server, closed_cb);
}

static long rss_bytes(void) {
  long pages = 0, res = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &res) != 2)
      res = 0;
    fclose(f);
  }
  return res * sysconf(_SC_PAGESIZE);
}

/* ---- the memory probe's client (a child process) ------------------------------------- */

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t cr;
  uv_write_t w;
  int got;
} cli_t;

static cli_t *clis;
static int ncli, next_cli, done_cli, cport;
static char cbuf[4096];
static void cli_start(uv_loop_t *l);

static void c_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)h, (void)hint;
  *b = uv_buf_init(cbuf, sizeof cbuf);
}
static void c_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  cli_t *c = (cli_t *)s;
  if (n > 0 && !c->got && memmem(b->base, (size_t)n, "Hello, World!", 13)) {
    c->got = 1;
    done_cli++;
    cli_start(s->loop); /* the next connection of this chain */
  }
  if (n < 0)
    uv_read_stop(s);
}
static void c_written(uv_write_t *w, int st) {
  (void)w, (void)st;
}
static void c_connected(uv_connect_t *cr, int st) {
  cli_t *c = cr->data;
  if (st < 0) {
    fprintf(stderr, "connect: %s\n", uv_strerror(st));
    exit(1);
  }
  static char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  uv_buf_t b = uv_buf_init(req, sizeof req - 1);
  uv_write(&c->w, (uv_stream_t *)&c->tcp, &b, 1, c_written);
  uv_read_start((uv_stream_t *)&c->tcp, c_alloc, c_read);
}
static void cli_start(uv_loop_t *l) {
  if (next_cli >= ncli)
    return;
  cli_t *c = &clis[next_cli++];
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", cport, &a);
  uv_tcp_init(l, &c->tcp);
  c->cr.data = c;
  uv_tcp_connect(&c->cr, &c->tcp, (struct sockaddr *)&a, c_connected);
}

static void client_main(int port, int n) {
  uv_loop_t l;
  uv_loop_init(&l);
  clis = calloc((size_t)n, sizeof *clis);
  ncli = n;
  cport = port;
  for (int i = 0; i < 64; i++)
    cli_start(&l);
  uv_run(&l, UV_RUN_DEFAULT); /* until killed */
  exit(0);
}

static int mem_main(int n) {
  int pfd[2];
  if (pipe(pfd))
    return 1;
  pid_t pid = fork();
  if (pid == 0) {
    int port;
    close(pfd[1]);
    if (read(pfd[0], &port, sizeof port) != sizeof port)
      exit(1);
    client_main(port, n);
  }
  close(pfd[0]);
  hl_loop_init(&loop);
  hl_http_hooks_on(&loop, HL_HTTP_HOOK_REQUEST, mem_hook, NULL);
  hl_http_limits_t lim;
  hl_http_limits_default(&lim);
  lim.keep_alive_timeout_ms = 600000;
  lim.headers_timeout_ms = 600000;
  hl_http_server_init(&loop, &server, on_request, &lim);
  hl_http_server_listen(&server, "127.0.0.1", 0, 511);
  int port = hl_http_server_port(&server);
  long before = rss_bytes();
  if (write(pfd[1], &port, sizeof port) != sizeof port)
    return 1;
  while (finished < n)
    hl_run(&loop, HL_RUN_ONCE);
  /* let the last writes complete and buffers go back */
  hl_run(&loop, HL_RUN_NOWAIT);
  long after = rss_bytes();
  int conns = hl_http_server_connections(&server);
  size_t sc, sr;
  hl__http_struct_sizes(&sc, &sr);
  printf("result mem conns=%d rss_before=%ld rss_after=%ld per_conn=%ld sizeof_conn=%zu "
         "sizeof_req=%zu\n",
         conns, before, after, conns ? (after - before) / conns : 0, sc, sr);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 2 && !strcmp(argv[1], "--mem"))
    return mem_main(atoi(argv[2]));
  int port = argc > 1 ? atoi(argv[1]) : 8080;
  int hooks = argc > 2 && !strcmp(argv[2], "--hooks");
  int ctype = argc > 2 && !strcmp(argv[2], "--content-type");
  hl_loop_init(&loop);
  hl_hook_t *hook = NULL;
  if (hooks) {
    hl_hook_callbacks_t cb = {.init = h_init, .before = h_id, .after = h_id, .destroy = h_id};
    hl_hook_create(&loop, &cb, NULL, &hook);
    hl_hook_enable(hook);
    hl_http_hooks_on(&loop, 7, on_http_hook, NULL);
  }
  int r;
  if ((r = hl_http_server_init(&loop, &server, ctype ? on_request_ct : on_request, NULL)) ||
      (r = hl_http_server_listen(&server, "127.0.0.1", port, 511))) {
    fprintf(stderr, "hl-bench-http: %s\n", hl_strerror(r));
    return 1;
  }
  uv_signal_init(hl_loop_uv(&loop), &sig_int);
  uv_signal_init(hl_loop_uv(&loop), &sig_term);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  fprintf(stderr, "listening %d\n", port);
  hl_run(&loop, HL_RUN_DEFAULT);
  if (hooks) {
    fprintf(stderr, "hook calls %ld, http-hooks events %ld\n", hook_calls, events);
    hl_http_hooks_off(&loop, on_http_hook, NULL);
    hl_hook_disable(hook);
    hl_hook_destroy(hook);
  }
  return hl_loop_close(&loop) ? 1 : 0;
}
