/* test/http/test_events.c - http-hooks events and async resources.
 *
 * The http-hooks order (explicit write_head: pre-writeHead, post-writeHead,
 * pre-end, post-end; end alone: pre-end, pre-writeHead, post-writeHead,
 * post-end; then finish), pre-writeHead changing headers, the timestamps in
 * order, the loop-level SERVER/CONNECTION/REQUEST events, the README example
 * (X-Duration from pre_write_head - start), the async resources
 * (TCPSERVERWRAP -> TCPWRAP -> HTTPINCOMINGMESSAGE with their triggers, the
 * request callback in the request's context, destroys), and 1,000 pipelined
 * requests over 10 connections each seeing only its own async-local store;
 * a FINISH-only listener leaves end() on the quiet path (one shared clock
 * reading for its four points), any head/end listener takes it off. */
#include "common.h"
#include "http/http_internal.h"
#include "record.h"

static int order[16], norder;

static void rec_event(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  if (norder < 16)
    order[norder++] = ev->kind;
  if (ev->kind == HL_HTTP_RES_PRE_WRITE_HEAD) {
    cr_assert_eq(ev->status, 202);
    cr_assert_str_eq(ev->reason, "Accepted");
    cr_assert_eq(hl_http_res_set_header(res, "X-Pre", "set in pre"), 0);
  }
  if (ev->kind == HL_HTTP_RES_POST_WRITE_HEAD)
    cr_assert_eq(hl_http_res_set_header(res, "X-Post", "too late"), HL_ESTATE);
  if (ev->kind == HL_HTTP_RES_PRE_END || ev->kind == HL_HTTP_RES_POST_END) {
    cr_assert_eq(ev->len, 4);
    cr_assert(!memcmp(ev->chunk, "body", 4));
  }
  if (ev->kind == HL_HTTP_RES_FINISH) {
    const hl_http_times_t *t = hl_http_res_times(res);
    cr_assert(t->start && t->start <= t->headers && t->headers <= t->pre_end &&
              t->pre_write_head <= t->post_write_head && t->post_end <= t->finish);
    cr_assert_eq(hl_http_req_times(hl_http_res_req(res)), t);
  }
}

static void events_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  cr_assert_eq(hl_http_res_on(res, 31, rec_event, NULL), 0);
  cr_assert_eq(hl_http_res_on(res, 64, rec_event, NULL), HL_EINVAL);
  hl_http_res_status(res, 202, NULL);
  if (!strcmp(hl_http_req_path(req), "/explicit"))
    cr_assert_eq(hl_http_res_write_head(res, 0, NULL), 0);
  cr_assert_eq(hl_http_res_end(res, "body", 4), 0);
}

static void run_order(const char *path, const int *want) {
  norder = 0;
  srv_start(events_handler, NULL);
  char req[128];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  hl_tc_raw_t c;
  raw_exchange(&c, req);
  cr_assert(strstr(c.in, "X-Pre: set in pre\r\n"), "%s", c.in);
  cr_assert_null(strstr(c.in, "X-Post"));
  cr_assert_eq(norder, 5);
  for (int i = 0; i < 5; i++)
    cr_assert_eq(order[i], want[i], "event %d: %d, want %d", i, order[i], want[i]);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_events, order_with_explicit_write_head) {
  run_order("/explicit", (int[]){HL_HTTP_RES_PRE_WRITE_HEAD, HL_HTTP_RES_POST_WRITE_HEAD,
                                 HL_HTTP_RES_PRE_END, HL_HTTP_RES_POST_END, HL_HTTP_RES_FINISH});
}

Test(http_events, order_with_implicit_head) {
  run_order("/implicit",
            (int[]){HL_HTTP_RES_PRE_END, HL_HTTP_RES_PRE_WRITE_HEAD, HL_HTTP_RES_POST_WRITE_HEAD,
                    HL_HTTP_RES_POST_END, HL_HTTP_RES_FINISH});
}

/* ---- the README example and the loop-level events ------------------------------------ */

static int n_server, n_conn, n_req;
static char duration[32];

static void on_pre_write_head(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)ev;
  (void)arg;
  const hl_http_times_t *t = hl_http_res_times(res);
  snprintf(duration, sizeof duration, "%.3f",
           hl_http_time_epoch_ms(t->pre_write_head) - hl_http_time_epoch_ms(t->start));
  hl_http_res_set_header(res, "X-Duration", duration);
}

static void on_hook(const hl_http_hook_event_t *ev, void *arg) {
  cr_assert_eq(arg, &n_server);
  switch (ev->kind) {
  case HL_HTTP_HOOK_SERVER:
    n_server++;
    cr_assert_eq(ev->server, &server);
    break;
  case HL_HTTP_HOOK_CONNECTION:
    n_conn++;
    cr_assert_not_null(ev->conn);
    cr_assert_eq(hl_http_conn_server(ev->conn), &server);
    break;
  case HL_HTTP_HOOK_REQUEST:
    n_req++;
    cr_assert_eq(hl_http_res_req(ev->res), ev->req);
    cr_assert_eq(hl_execution_async_id(), hl_http_req_async_id(ev->req));
    hl_http_res_on(ev->res, HL_HTTP_RES_PRE_WRITE_HEAD, on_pre_write_head, NULL);
    break;
  }
}

static void hello(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  (void)req;
  hl_http_res_end(res, "Hello, World!", 13);
}

Test(http_events, readme_example_x_duration) {
  n_server = n_conn = n_req = 0;
  cr_assert_str_eq(hl_http_hooks_version(), "0.1.1");
  cr_assert_str_eq(hl_http_llhttp_version(), HL_TEST_LLHTTP_VERSION);
  server_closed = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  cr_assert_eq(hl_http_hooks_on(&loop, 0, on_hook, &n_server), HL_EINVAL);
  cr_assert_eq(hl_http_hooks_on(&loop, 7, on_hook, &n_server), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, hello, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&server, "127.0.0.1", 0, 16), 0);
  port = hl_http_server_port(&server);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: "
                   "close\r\n\r\n");
  cr_assert_eq(n_server, 1);
  cr_assert_eq(n_conn, 1);
  cr_assert_eq(n_req, 2);
  cr_assert_eq(hl_tc_count(c.in, "X-Duration: "), 2, "%s", c.in);
  char want[64];
  snprintf(want, sizeof want, "X-Duration: %s\r\n", duration); /* the last one */
  cr_assert(strstr(c.in, want), "%s", c.in);
  cr_assert_geq(atof(duration), 0.0);
  hl_tc_raw_free(&c);
  cr_assert_eq(hl_http_hooks_off(&loop, on_hook, &n_server), 0);
  cr_assert_eq(hl_http_hooks_off(&loop, on_hook, &n_server), HL_ENOENT);
  srv_stop();
}

/* ---- async resources ------------------------------------------------------------------ */

static hl_log_t LOG;
static hl_rec_t REC;
static hl_async_id_t req_exec, req_trigger, req_id, conn_id;

static void ctx_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  req_exec = hl_execution_async_id();
  req_trigger = hl_trigger_async_id();
  req_id = hl_http_req_async_id(req);
  conn_id = hl_http_conn_async_id(hl_http_req_conn(req));
  hl_http_res_end(res, "x", 1);
}

static hl_async_id_t find_type(const char *type) {
  for (int i = 0; i < LOG.n; i++)
    if (LOG.ev[i].kind == EV_INIT && !strcmp(LOG.ev[i].type, type))
      return LOG.ev[i].id;
  return -1;
}

Test(http_events, async_resources_and_triggers) {
  server_closed = 0;
  cr_assert_eq(hl_rec_start(&loop, &REC, &LOG, 1), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, ctx_handler, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&server, "127.0.0.1", 0, 16), 0);
  port = hl_http_server_port(&server);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  hl_async_id_t sid = find_type("TCPSERVERWRAP"), cid = find_type("TCPWRAP"),
                rid = find_type("HTTPINCOMINGMESSAGE");
  cr_assert(sid > 0 && cid > 0 && rid > 0);
  cr_assert_eq(hl_log_init_of(&LOG, cid)->trigger, sid);
  cr_assert_eq(hl_log_init_of(&LOG, rid)->trigger, cid);
  cr_assert_eq(cid, conn_id);
  cr_assert_eq(rid, req_id);
  cr_assert_eq(req_exec, rid, "the request callback runs in the request's context");
  cr_assert_eq(req_trigger, cid);
  cr_assert_geq(hl_log_count(&LOG, EV_BEFORE, cid), 1);
  hl_tc_raw_free(&c);
  cr_assert_eq(hl_http_server_close(&server, on_server_closed), 0);
  hl_tc_wait(&loop, &server_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, rid), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, cid), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, sid), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, rid), hl_log_count(&LOG, EV_AFTER, rid));
  hl_hook_disable(REC.hook);
  hl_hook_destroy(REC.hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- async-local storage: 1,000 pipelined requests on 10 connections ------------------ */

#define NCONN 10
#define NPER  100

static hl_als_t als;
static int mismatches, ended_ok, finished_ok;
static long ids[NCONN * NPER + 1];

static void als_finish(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)ev;
  if (hl_als_get_store(&als) != arg)
    mismatches++;
  else
    finished_ok++;
  (void)res;
}

static void als_reply(void *arg) {
  hl_http_res_t *res = arg;
  long *mine = hl_als_get_store(&als); /* a timer scheduled by the request */
  char body[32];
  int n = snprintf(body, sizeof body, "<%ld>", mine ? *mine : -1L);
  hl_http_res_end(res, body, (size_t)n);
}

static void als_end(hl_http_req_t *req, void *arg) {
  long *mine = hl_http_req_get_data(req);
  if (hl_als_get_store(&als) != mine)
    mismatches++;
  else
    ended_ok++;
  /* answer later, every third one, so responses interleave across requests */
  if (*mine % 3 == 0)
    cr_assert_eq(hl_set_timeout(&loop, als_reply, arg, 1, NULL), 0);
  else
    als_reply(arg);
}

static void als_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  if (hl_als_get_store(&als) != NULL) /* nothing leaks from an earlier request */
    mismatches++;
  long id = atol(hl_http_req_path(req) + 1);
  cr_assert(id > 0 && id <= NCONN * NPER);
  ids[id] = id;
  cr_assert_eq(hl_als_enter_with(&als, &ids[id]), 0);
  hl_http_req_set_data(req, &ids[id]);
  hl_http_res_on(res, HL_HTTP_RES_FINISH, als_finish, &ids[id]);
  hl_http_req_on_body(req, NULL, als_end, res);
}

Test(http_events, als_isolated_across_1000_pipelined_requests) {
  mismatches = ended_ok = finished_ok = 0;
  srv_start(als_handler, NULL);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  static hl_tc_raw_t c[NCONN];
  static char buf[NPER * 80];
  for (int k = 0; k < NCONN; k++) {
    size_t len = 0;
    for (int i = 0; i < NPER; i++) {
      int id = k * NPER + i + 1;
      len += (size_t)snprintf(buf + len, sizeof buf - len, "GET /%d HTTP/1.1\r\nHost: x\r\n%s\r\n",
                              id, i == NPER - 1 ? "Connection: close\r\n" : "");
    }
    cr_assert_eq(hl_tc_raw_start(&loop, &c[k], port, NULL, buf, len), 0);
  }
  for (int k = 0; k < NCONN; k++)
    hl_tc_wait(&loop, &c[k].closed);
  for (int k = 0; k < NCONN; k++) {
    cr_assert_eq(hl_tc_count(c[k].in, "HTTP/1.1 200 OK"), NPER, "connection %d", k);
    /* each response carries its own request's store, in request order */
    const char *p = c[k].in;
    for (int i = 0; i < NPER; i++) {
      char want[32];
      snprintf(want, sizeof want, "<%d>", k * NPER + i + 1);
      const char *q = strstr(p, want);
      cr_assert_not_null(q, "connection %d: response %d missing or out of order", k, i);
      p = q + strlen(want);
    }
    hl_tc_raw_free(&c[k]);
  }
  cr_assert_eq(mismatches, 0);
  cr_assert_eq(ended_ok, NCONN * NPER);
  cr_assert_eq(finished_ok, NCONN * NPER);
  srv_stop();
}

/* Subscriptions end with their loop: one left on a closed loop neither fires
 * for nor counts against a later loop. */
static void never(const hl_http_hook_event_t *ev, void *arg) {
  (void)ev, (void)arg;
  cr_assert_fail("a closed loop's subscription fired");
}
Test(http_events, loop_close_drops_subscriptions) {
  hl_loop_t a;
  cr_assert_eq(hl_loop_init(&a), 0);
  int before = hl__http_hooks_any();
  cr_assert_eq(hl_http_hooks_on(&a, HL_HTTP_HOOK_SERVER, never, NULL), 0);
  cr_assert_eq(hl__http_hooks_any(), before + 1);
  cr_assert_eq(hl_loop_close(&a), 0);
  cr_assert_eq(hl__http_hooks_any(), before);
  hl_loop_t b;
  cr_assert_eq(hl_loop_init(&b), 0);
  cr_assert_eq(hl_http_hooks_off(&b, never, NULL), HL_ENOENT);
  cr_assert_eq(hl_loop_close(&b), 0);
}

/* ---- which listeners take end() off the quiet path ---------------------- */
static int finish_seen, shared_reading;
static void on_finish_only(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)ev;
  (void)arg;
  const hl_http_times_t *t = hl_http_res_times(res);
  finish_seen++;
  shared_reading = t->pre_end == t->pre_write_head && t->pre_write_head == t->post_write_head &&
                   t->post_write_head == t->post_end && t->post_end <= t->finish;
}
static void on_nothing(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res;
  (void)ev;
  (void)arg;
}
static void finish_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, on_finish_only, NULL), 0);
  if (!strcmp(hl_http_req_path(req), "/pre-end"))
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_PRE_END, on_nothing, NULL), 0);
  cr_assert_eq(hl_http_res_end(res, "ok", 2), 0);
}

static int finish_run(const char *path) {
  finish_seen = shared_reading = 0;
  srv_start(finish_handler, NULL);
  char req[128];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  hl_tc_raw_t c;
  raw_exchange(&c, req);
  cr_assert(strstr(c.in, "\r\n\r\nok"), "%s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
  cr_assert_eq(finish_seen, 1);
  return shared_reading;
}

Test(http_events, finish_only_listener_keeps_end_quiet) {
  cr_assert(finish_run("/"), "a FINISH-only listener took end() off the quiet path");
  cr_assert_not(finish_run("/pre-end"), "a pre-end listener ran between shared readings");
}

/* ---- several listeners: masks, order, reasons, changes during an event ---------------- */

static char trail[256];

static void ls_rec(hl_http_res_t *res, const hl_http_res_event_t *ev, char who);
static void ls_a(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  ls_rec(res, ev, 'A');
}
static void ls_d(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  ls_rec(res, ev, 'D');
}
static void ls_b(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  ls_rec(res, ev, 'B');
  /* added during pre-end: not called for this pre-end, called from the next event on */
  if (ev->kind == HL_HTTP_RES_PRE_END)
    cr_assert_eq(hl_http_res_on(res, 31, ls_d, NULL), 0);
}

static void ls_rec(hl_http_res_t *res, const hl_http_res_event_t *ev, char who) {
  (void)res;
  /* 404 without a reason: the standard phrase; 299 with one: that one */
  cr_assert_str_eq(ev->reason, ev->status == 404 ? "Not Found" : "Fine");
  size_t n = strlen(trail);
  snprintf(trail + n, sizeof trail - n, "%c%d ", who, ev->kind);
}

static void ls_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  if (!strcmp(hl_http_req_path(req), "/single")) {
    cr_assert_eq(hl_http_res_on(res, 31, ls_b, NULL), 0);
    hl_http_res_status(res, 299, "Fine");
  } else {
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_PRE_WRITE_HEAD | HL_HTTP_RES_POST_END, ls_a, NULL),
                 0);
    cr_assert_eq(hl_http_res_on(res, 31, ls_b, NULL), 0);
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, ls_a, NULL), 0);
    hl_http_res_status(res, 404, NULL);
  }
  cr_assert_eq(hl_http_res_end(res, "x", 1), 0);
}

static void ls_run(const char *path, const char *want) {
  trail[0] = 0;
  srv_start(ls_handler, NULL);
  char req[128];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  hl_tc_raw_t c;
  raw_exchange(&c, req);
  hl_tc_raw_free(&c);
  srv_stop();
  cr_assert_str_eq(trail, want, "%s", path);
}

Test(http_events, listeners_by_mask_in_order_and_changes_apply_from_the_next_event) {
  /* kinds: 1 pre-writeHead, 2 post-writeHead, 4 pre-end, 8 post-end, 16 finish */
  ls_run("/many", "B4 A1 B1 D1 B2 D2 A8 B8 D8 B16 A16 D16 ");
  ls_run("/single", "B4 B1 D1 B2 D2 B8 D8 B16 D16 ");
}

/* ---- an idle keep-alive connection holds no buffer ------------------------------------ */

static hl_http_conn_t *idle_conn;
static int idle_released, idle_finish;

static void idle_on_finish(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res, (void)ev, (void)arg;
  idle_finish++;
}
static void idle_on_close(hl_http_req_t *req, int aborted, void *arg) {
  (void)req, (void)arg;
  cr_assert_eq(aborted, 0);
  idle_released++;
}
static void idle_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  idle_conn = hl_http_req_conn(req);
  hl_http_req_on_close(req, idle_on_close, NULL);
  if (!strcmp(hl_http_req_path(req), "/finish"))
    hl_http_res_on(res, HL_HTTP_RES_FINISH, idle_on_finish, NULL);
  hl_http_res_end(res, "Hello, World!", 13);
}

/* The bench's memory probe: a FINISH listener used to leave the output buffer
 * (4 KiB) with every idle connection. */
static void idle_run(const char *path) {
  idle_released = idle_finish = 0;
  srv_start(idle_handler, NULL);
  char req[128];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); /* keep-alive */
  hl_tc_raw_t c;
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, req, strlen(req)), 0);
  hl_tc_wait(&loop, &idle_released); /* answered, finished and released */
  cr_assert_eq(idle_finish, !strcmp(path, "/finish"));
  cr_assert_eq(hl__http_conn_buffered(idle_conn), 0, "%s: %zu bytes held", path,
               hl__http_conn_buffered(idle_conn));
  hl_tc_raw_close(&c);
  hl_tc_wait(&loop, &c.closed);
  hl_tc_raw_free(&c);
  srv_stop();
}

Test(http_events, idle_keep_alive_connection_holds_no_buffer) {
  idle_run("/");
  idle_run("/finish");
}
