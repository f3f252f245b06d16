/* test/io/test_stream_oom.c - out-of-memory torture for streams and DNS (as
 * test/core/test_oom.c for the core): a scenario that opens a TCP server,
 * connects to it by name (lookup, connect), echoes over a socket pair with
 * pool reads and kept buffers, runs a getaddrinfo and a getnameinfo, with a
 * recording hook on, is run with the n-th allocation hookloop makes failing,
 * for every n the scenario reaches, each run in a child process. Every call
 * must succeed or return HL_ENOMEM (a pool read that gets no block reports
 * UV_ENOBUFS), nothing may crash, and after hl_loop_close nothing may be left
 * allocated. libuv's own allocations are not hookloop's and are not failed.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "child.h"

static long live, attempts, fail_at, injected;

static int fail_now(void) {
  attempts++;
  if (fail_at > 0 && attempts == fail_at) {
    injected++;
    return 1;
  }
  return 0;
}
static void *c_malloc(size_t n) {
  void *p = fail_now() ? NULL : malloc(n);
  live += p != NULL;
  return p;
}
static void *c_calloc(size_t c, size_t n) {
  void *p = fail_now() ? NULL : calloc(c, n);
  live += p != NULL;
  return p;
}
static void *c_realloc(void *o, size_t n) {
  void *p = fail_now() ? NULL : realloc(o, n);
  live += p != NULL && o == NULL;
  return p;
}
static void c_free(void *p) {
  live -= p != NULL;
  free(p);
}

#define OK(expr)                                                                                   \
  do {                                                                                             \
    int r_ = (expr);                                                                               \
    if (r_ != 0 && r_ != HL_ENOMEM) {                                                              \
      printf("FAIL %s = %s at line %d\n", #expr, hl_err_name(r_), __LINE__);                       \
      exit(3);                                                                                     \
    }                                                                                              \
    last = r_;                                                                                     \
  } while (0)

static int last;
static hl_loop_t loop;
static hl_tcp_t server, client, accepted;
static hl_pipe_t pa, pb;
static int inits, destroys;

static void h_init(hl_async_id_t id, const char *t, hl_async_id_t tr, void *r, void *a) {
  (void)id, (void)t, (void)tr, (void)r, (void)a;
  inits++;
}
static void h_destroy(hl_async_id_t id, void *a) {
  (void)id, (void)a;
  destroys++;
}

static void closed(hl_stream_t *s) {
  (void)s;
}
static void close_if_open(hl_stream_t *s) {
  if (s->magic && !hl_stream_is_closing(s))
    hl_close(s, closed);
}

static void released(hl_stream_t *s, int status, void *base) {
  (void)s;
  (void)status;
  if (hl_buf_release(&loop, base))
    exit(4);
}
static void b_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0) { /* EOF, or UV_ENOBUFS when no block could be had */
    hl_close(s, closed);
    return;
  }
  OK(hl_buf_keep(s, buf));
  if (last) {
    hl_close(s, closed);
    return;
  }
  uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
  OK(hl_write(s, &b, 1, released, buf->base));
  if (last)
    hl_buf_release(&loop, buf->base);
  hl_close(s, closed);
}
static void a_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)nread;
  (void)buf;
  hl_close(s, closed);
}

static void on_connection(hl_stream_t *srv, int status) {
  if (status)
    return;
  OK(hl_tcp_init(&loop, &accepted));
  if (!last)
    OK(hl_accept(srv, HL_STREAM(&accepted)));
  close_if_open(HL_STREAM(&accepted));
  hl_close(srv, closed);
}
static void on_connect(hl_stream_t *s, int status) {
  (void)status;
  hl_close(s, closed);
  close_if_open(HL_STREAM(&server));
}
static void on_ai(int status, const struct addrinfo *res, void *arg) {
  (void)status, (void)res, (void)arg;
}
static void on_ni(int status, const char *h, const char *s, void *arg) {
  (void)status, (void)h, (void)s, (void)arg;
}

static void scenario(void *arg) {
  fail_at = *(long *)arg;
  alarm(20); /* a run that never ends fails as SIGALRM rather than hanging */
  if (hl_replace_allocator(c_malloc, c_realloc, c_calloc, c_free))
    exit(5);
  OK(hl_loop_init(&loop));
  if (last) {
    printf("attempts %ld injected %ld live %ld\n", attempts, injected, live);
    exit(live ? 6 : 0);
  }
  hl_hook_t *hook = NULL;
  hl_hook_callbacks_t cb = {.init = h_init, .destroy = h_destroy};
  OK(hl_hook_create(&loop, &cb, NULL, &hook));
  if (!last)
    OK(hl_hook_enable(hook));
  /* a server, and a client connecting to it by name */
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  memset(&server, 0, sizeof server);
  memset(&client, 0, sizeof client);
  memset(&accepted, 0, sizeof accepted);
  OK(hl_tcp_init(&loop, &server));
  if (!last) {
    OK(hl_tcp_bind(&server, (struct sockaddr *)&a, 0));
    OK(hl_listen(HL_STREAM(&server), 8, on_connection));
    OK(hl_tcp_init(&loop, &client));
    if (!last) {
      OK(hl_tcp_connect(&client, "localhost", hl_tcp_port(&server), on_connect));
      if (last) {
        close_if_open(HL_STREAM(&client));
        close_if_open(HL_STREAM(&server));
      }
    } else {
      close_if_open(HL_STREAM(&server));
    }
  }
  /* an echo over a socket pair */
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    exit(7);
  memset(&pa, 0, sizeof pa);
  memset(&pb, 0, sizeof pb);
  OK(hl_pipe_init(&loop, &pa));
  if (!last)
    OK(hl_pipe_open(&pa, sv[0]));
  else
    close(sv[0]);
  OK(hl_pipe_init(&loop, &pb));
  if (!last)
    OK(hl_pipe_open(&pb, sv[1]));
  else
    close(sv[1]);
  if (!hl_stream_is_closing(HL_STREAM(&pa)) && hl_stream_async_id(HL_STREAM(&pa)) > 0 &&
      !hl_stream_is_closing(HL_STREAM(&pb)) && hl_stream_async_id(HL_STREAM(&pb)) > 0) {
    static uv_buf_t b;
    b = uv_buf_init("ping", 4);
    OK(hl_write(HL_STREAM(&pa), &b, 1, NULL, NULL));
    if (!last) {
      OK(hl_read_start(HL_STREAM(&pb), NULL, b_read));
      OK(hl_read_start(HL_STREAM(&pa), NULL, a_read));
    } else { /* nothing will come: end both */
      hl_close(HL_STREAM(&pa), closed);
      hl_close(HL_STREAM(&pb), closed);
    }
  } else {
    if (hl_stream_async_id(HL_STREAM(&pa)) < 0 && pa.magic && !hl_stream_is_closing(HL_STREAM(&pa)))
      close(sv[0]);
    if (hl_stream_async_id(HL_STREAM(&pb)) < 0 && pb.magic && !hl_stream_is_closing(HL_STREAM(&pb)))
      close(sv[1]);
  }
  if (last || hl_stream_async_id(HL_STREAM(&pa)) < 0 || hl_stream_async_id(HL_STREAM(&pb)) < 0) {
    close_if_open(HL_STREAM(&pa));
    close_if_open(HL_STREAM(&pb));
  }
  OK(hl_getaddrinfo(&loop, "localhost", NULL, NULL, on_ai, NULL));
  OK(hl_getnameinfo(&loop, (struct sockaddr *)&a, NI_NUMERICHOST, on_ni, NULL));
  if (hl_run(&loop, HL_RUN_DEFAULT) < 0)
    exit(8);
  int r = hl_loop_close(&loop);
  if (r) {
    printf("hl_loop_close %s alive %d\n", hl_err_name(r), hl_loop_alive_resources(&loop));
    exit(9);
  }
  printf("attempts %ld injected %ld live %ld inits %d destroys %d\n", attempts, injected, live,
         inits, destroys);
  exit(live || (hook && inits != destroys) ? 6 : 0);
}

Test(stream_oom, every_allocation_fails_in_turn) {
  hl_child_result_t *r = calloc(1, sizeof *r);
  long zero = 0;
  hl_child_run(scenario, &zero, r);
  cr_assert(r->exited && r->code == 0, "clean run: exit %d sig %d: %s %s", r->code, r->signal,
            r->out, r->err);
  long total = 0;
  cr_assert_eq(sscanf(r->out, "attempts %ld", &total), 1, "%s", r->out);
  cr_assert_gt(total, 5);
  cr_log_info("clean run: %s", r->out);
  for (long n = 1; n <= total + 2; n++) {
    hl_child_run(scenario, &n, r);
    cr_assert(r->exited, "fail_at %ld: killed by signal %d: %s", n, r->signal, r->err);
    cr_assert_eq(r->code, 0, "fail_at %ld: exit %d: %s %s", n, r->code, r->out, r->err);
  }
  free(r);
}
