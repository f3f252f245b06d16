/* test/http/test_finish.c - FINISH events of pipelined requests finished by
 * one write: each listener runs in its own request's context (execution and
 * trigger ids, async-local store, a store a listener enters does not reach
 * the next request), the hooks see properly nested before/after pairs (after
 * of one request, then before of the next), close callbacks between them run
 * in their request's context, and when the stack empties between two FINISH
 * events (responses ended outside any callback) ticks queued by the first
 * run before the second, as when leaving any outermost callback. */
#include "common.h"
#include "record.h"

#define NREQ 24

static hl_log_t LOG;
static hl_rec_t REC;
static hl_als_t als;
static long stores[NREQ], other;
static hl_async_id_t req_ids[NREQ], conn_id;
static int fin_order[NREQ], nfin, ctx_ok, closes_ok, dispatched;

static int req_index(hl_http_req_t *req) {
  int k = atoi(hl_http_req_path(req) + 1);
  cr_assert(k >= 0 && k < NREQ);
  return k;
}

static void fin_listener(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)ev;
  int k = (int)(intptr_t)arg;
  cr_assert_eq(req_index(hl_http_res_req(res)), k);
  if (nfin < NREQ)
    fin_order[nfin++] = k;
  if (hl_execution_async_id() == req_ids[k] && hl_trigger_async_id() == conn_id &&
      hl_als_get_store(&als) == &stores[k])
    ctx_ok++;
  if (k % 4 == 1) /* must not be seen by the next request's listener */
    cr_assert_eq(hl_als_enter_with(&als, &other), 0);
}

static void fin_close(hl_http_req_t *req, int aborted, void *arg) {
  (void)arg;
  int k = req_index(req);
  cr_assert_eq(aborted, 0);
  /* a store the FINISH listener entered was adopted by the request */
  void *want = k % 4 == 1 ? (void *)&other : (void *)&stores[k];
  if (hl_execution_async_id() == req_ids[k] && hl_als_get_store(&als) == want)
    closes_ok++;
}

static void fin_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  int k = req_index(req);
  req_ids[k] = hl_http_req_async_id(req);
  conn_id = hl_http_conn_async_id(hl_http_req_conn(req));
  cr_assert_eq(hl_als_enter_with(&als, &stores[k]), 0); /* adopted by the request */
  if (k != 7) /* 7: a request without a FINISH listener between two with one */
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, fin_listener, (void *)(intptr_t)k), 0);
  if (k % 5 == 0) /* a close callback between two FINISH events */
    cr_assert_eq(hl_http_req_on_close(req, fin_close, NULL), 0);
  cr_assert_eq(hl_http_res_end(res, "ok", 2), 0);
  dispatched++;
}

/* The number of before/after pairs of request `id`. */
static int pairs_of(hl_async_id_t id) {
  int b = hl_log_count(&LOG, EV_BEFORE, id), a = hl_log_count(&LOG, EV_AFTER, id);
  cr_assert_eq(a, b, "request %ld: %d before, %d after", (long)id, b, a);
  return b;
}

static int is_request(hl_async_id_t id) {
  for (int k = 0; k < NREQ; k++)
    if (req_ids[k] == id)
      return 1;
  return 0;
}

/* Before/after pairs properly nested in the whole log, and every callback of
 * a request entered from the connection's context (never inside another
 * request's, or its own). */
static void check_nesting(void) {
  hl_async_id_t stack[64];
  int depth = 0;
  for (int i = 0; i < LOG.n; i++) {
    const hl_ev_t *e = &LOG.ev[i];
    if (e->kind == EV_BEFORE) {
      cr_assert_lt(depth, 64);
      if (is_request(e->id))
        cr_assert(depth > 0 && stack[depth - 1] == conn_id, "event %d: before(%ld) inside %ld", i,
                  (long)e->id, depth ? (long)stack[depth - 1] : -1L);
      stack[depth++] = e->id;
    } else if (e->kind == EV_AFTER) {
      cr_assert_gt(depth, 0, "event %d: after(%ld) with nothing entered", i, (long)e->id);
      cr_assert_eq(stack[depth - 1], e->id, "event %d: after(%ld), innermost is %ld", i,
                   (long)e->id, (long)stack[depth - 1]);
      depth--;
    }
  }
}

Test(http_finish, pipelined_finish_events_each_in_their_request_context) {
  nfin = ctx_ok = closes_ok = dispatched = 0;
  server_closed = 0;
  cr_assert_eq(hl_rec_start(&loop, &REC, &LOG, 1), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
  cr_assert_eq(hl_http_server_init(&loop, &server, fin_handler, NULL), 0);
  cr_assert_eq(hl_http_server_listen(&server, "127.0.0.1", 0, 16), 0);
  port = hl_http_server_port(&server);
  hl_tc_raw_t c;
  pipelined_gets(&c, NREQ);
  hl_tc_raw_free(&c);
  cr_assert_eq(dispatched, NREQ);
  cr_assert_eq(nfin, NREQ - 1); /* all but request 7 */
  for (int i = 0, k = 0; i < nfin; i++, k++) {
    if (k == 7)
      k++;
    cr_assert_eq(fin_order[i], k, "FINISH %d: request %d, want %d", i, fin_order[i], k);
  }
  cr_assert_eq(ctx_ok, NREQ - 1, "FINISH listeners in their request's context: %d", ctx_ok);
  cr_assert_eq(closes_ok, (NREQ + 4) / 5);
  check_nesting();
  for (int k = 0; k < NREQ; k++) /* request callback, FINISH (not 7), close callback */
    cr_assert_eq(pairs_of(req_ids[k]), 1 + (k != 7) + (k % 5 == 0), "request %d", k);
  cr_assert_eq(hl_http_server_close(&server, on_server_closed), 0);
  hl_tc_wait(&loop, &server_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  for (int k = 0; k < NREQ; k++)
    cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, req_ids[k]), 1);
  hl_hook_disable(REC.hook);
  hl_hook_destroy(REC.hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- ended outside any callback: the stack empties between FINISH events --------------- */

static hl_http_res_t *held[2];
static int held_n, ticked, tick_seen_by_second, top_fin;

static void top_tick(void *arg) {
  (void)arg;
  ticked++;
}

static void top_finish(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res, (void)ev;
  int k = (int)(intptr_t)arg;
  top_fin++;
  if (k == 0)
    cr_assert_eq(hl_next_tick(&loop, top_tick, NULL), 0);
  else
    tick_seen_by_second = ticked;
}

static void top_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s, (void)req;
  cr_assert_lt(held_n, 2);
  cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, top_finish, (void *)(intptr_t)held_n), 0);
  held[held_n++] = res;
}

Test(http_finish, ticks_drain_between_finish_events_when_the_stack_empties) {
  held_n = ticked = tick_seen_by_second = top_fin = 0;
  srv_start(top_handler, NULL);
  const char *two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  hl_tc_raw_t c;
  cr_assert_eq(hl_tc_raw_start(&loop, &c, port, NULL, two, strlen(two)), 0);
  while (held_n < 2)
    hl_run(&loop, HL_RUN_ONCE);
  /* outside any callback: the second waits for the first, whose end then
   * writes both; both finish in one step, each FINISH an outermost callback */
  cr_assert_eq(hl_http_res_end(held[1], "b", 1), 0);
  cr_assert_eq(top_fin, 0);
  cr_assert_eq(hl_http_res_end(held[0], "a", 1), 0);
  cr_assert_eq(top_fin, 2);
  cr_assert_eq(tick_seen_by_second, 1, "the tick queued by the first FINISH ran before the second");
  while (hl_tc_count(c.in ? c.in : "", "HTTP/1.1 200 OK") < 2)
    hl_run(&loop, HL_RUN_ONCE);
  hl_tc_raw_close(&c);
  hl_tc_wait(&loop, &c.closed);
  hl_tc_raw_free(&c);
  srv_stop();
}
