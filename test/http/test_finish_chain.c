/* test/http/test_finish_chain.c - FINISH listeners of pipelined requests that
 * change what the server's FINISH chain (one request released, the next one's
 * FINISH fired, without leaving to the connection's context) relies on, in
 * the middle of the chain: a close callback registered on the listener's own
 * request (the chain stops: it runs, in its request's context, before the
 * next FINISH), a destroy hook enabled (every request released from then on,
 * inside the chain or not, is destroyed once; none before), a listener added
 * to the next response (called for its FINISH, after its own) and to the
 * listener's own (never called: FINISH fires once), and the next response's
 * only listener removed (no FINISH for it; the chain goes on after it). The
 * before/after pairs stay properly nested throughout. Also what FINISH
 * carries: status and reason as the head was written, with a FINISH-only
 * listener and with one that saw the head while the header strings the custom
 * reason lives in moved after the head was sent (trailers; under ASan a stale
 * reason would be reported). */
#include "common.h"
#include "http/http_internal.h"

#define NREQ 12

static hl_http_res_t *resp[NREQ];
static hl_async_id_t req_ids[NREQ];
static char trail[1024];
static int ctx_bad, nest_bad, depth, destroyed[NREQ], destroyed_other;
static hl_async_id_t stack[64];
static hl_hook_t *nest_hook, *destroy_hook;

static void note(const char *what, int k) {
  size_t n = strlen(trail);
  snprintf(trail + n, sizeof trail - n, "%s%d ", what, k);
}

static int index_of(hl_http_req_t *req) {
  int k = atoi(hl_http_req_path(req) + 1);
  cr_assert(k >= 0 && k < NREQ);
  return k;
}

static void in_own_context(int k) {
  if (hl_execution_async_id() != req_ids[k])
    ctx_bad++;
}

static void h_before(hl_async_id_t id, void *arg) {
  (void)arg;
  if (depth < 64)
    stack[depth] = id;
  depth++;
}
static void h_after(hl_async_id_t id, void *arg) {
  (void)arg;
  if (depth == 0 || (depth <= 64 && stack[depth - 1] != id))
    nest_bad++;
  else
    depth--;
}
static void h_destroy(hl_async_id_t id, void *arg) {
  (void)arg;
  for (int k = 0; k < NREQ; k++)
    if (req_ids[k] == id) {
      destroyed[k]++;
      return;
    }
  destroyed_other++;
}

static void on_close(hl_http_req_t *req, int aborted, void *arg) {
  (void)arg;
  int k = index_of(req);
  cr_assert_eq(aborted, 0);
  in_own_context(k);
  note("C", k);
}

static void extra_fin(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  cr_assert_eq(ev->kind, HL_HTTP_RES_FINISH);
  int k = index_of(hl_http_res_req(res));
  in_own_context(k);
  note("X", k);
}

static void fin(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  cr_assert_eq(ev->kind, HL_HTTP_RES_FINISH);
  cr_assert_eq(ev->status, 200);
  cr_assert_str_eq(ev->reason, "OK");
  int k = index_of(hl_http_res_req(res));
  in_own_context(k);
  note("F", k);
  switch (k) {
  case 2: /* a close callback now: this request's release is not quiet */
    cr_assert_eq(hl_http_req_on_close(hl_http_res_req(res), on_close, NULL), 0);
    break;
  case 4: /* destroys from here on */
    cr_assert_eq(hl_hook_enable(destroy_hook), 0);
    break;
  case 6: /* added during this FINISH: not called for it; the next one's: called */
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, extra_fin, NULL), 0);
    cr_assert_eq(hl_http_res_on(resp[7], HL_HTTP_RES_FINISH, extra_fin, NULL), 0);
    break;
  case 8: /* the next one loses its only listener */
    cr_assert_eq(hl__http_res_off(resp[9], fin, NULL), 0);
    break;
  default:
    break;
  }
}

static void handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  int k = index_of(req);
  req_ids[k] = hl_http_req_async_id(req);
  resp[k] = res;
  cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, fin, NULL), 0);
  cr_assert_eq(hl_http_res_end(res, "ok", 2), 0);
}

Test(http_finish_chain, listeners_change_the_chain_midway) {
  trail[0] = 0;
  ctx_bad = nest_bad = depth = destroyed_other = 0;
  memset(destroyed, 0, sizeof destroyed);
  srv_start(handler, NULL);
  hl_hook_callbacks_t nb = {.before = h_before, .after = h_after};
  hl_hook_callbacks_t db = {.destroy = h_destroy};
  cr_assert_eq(hl_hook_create(&loop, &nb, NULL, &nest_hook), 0);
  cr_assert_eq(hl_hook_enable(nest_hook), 0);
  cr_assert_eq(hl_hook_create(&loop, &db, NULL, &destroy_hook), 0);
  hl_tc_raw_t c;
  pipelined_gets(&c, NREQ);
  hl_tc_raw_free(&c);
  cr_assert_str_eq(trail, "F0 F1 F2 C2 F3 F4 F5 F6 F7 X7 F8 F10 F11 ");
  cr_assert_eq(ctx_bad, 0, "%d callbacks outside their request's context", ctx_bad);
  cr_assert_eq(hl_http_server_close(&server, on_server_closed), 0);
  hl_tc_wait(&loop, &server_closed);
  hl_run(&loop, HL_RUN_DEFAULT);
  cr_assert_eq(nest_bad, 0);
  cr_assert_eq(depth, 0);
  for (int k = 0; k < NREQ; k++)
    cr_assert_eq(destroyed[k], k >= 4, "request %d destroyed %d times", k, destroyed[k]);
  hl_hook_destroy(nest_hook);
  hl_hook_destroy(destroy_hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
}

/* ---- what FINISH carries ---------------------------------------------------------- */

static int fields_mode, fin_seen;

static void fields_fin(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)res, (void)arg;
  if (ev->kind != HL_HTTP_RES_FINISH)
    return; /* (mode 1 also takes pre-writeHead) */
  cr_assert_eq(ev->status, 299);
  cr_assert_str_eq(ev->reason, "Custom reason");
  cr_assert_null(ev->chunk);
  cr_assert_eq(ev->len, 0);
  fin_seen++;
}

static void fields_handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s, (void)req;
  char name[16], value[128];
  memset(value, 'v', sizeof value - 1);
  value[sizeof value - 1] = 0;
  if (fields_mode == 0) { /* FINISH only; the strings move before the head */
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, fields_fin, NULL), 0);
    cr_assert_eq(hl_http_res_status(res, 299, "Custom reason"), 0);
    for (int i = 0; i < 64; i++) {
      snprintf(name, sizeof name, "X-H%d", i);
      cr_assert_eq(hl_http_res_add_header(res, name, value), 0);
    }
    cr_assert_eq(hl_http_res_end(res, "body", 4), 0);
  } else { /* a head event, then the strings move (trailers) before end */
    cr_assert_eq(
        hl_http_res_on(res, HL_HTTP_RES_PRE_WRITE_HEAD | HL_HTTP_RES_FINISH, fields_fin, NULL), 0);
    cr_assert_eq(hl_http_res_write_head(res, 299, "Custom reason"), 0);
    cr_assert_eq(hl_http_res_write(res, "body", 4), 0);
    for (int i = 0; i < 64; i++) {
      snprintf(name, sizeof name, "X-T%d", i);
      cr_assert_eq(hl_http_res_add_trailer(res, name, value), 0);
    }
    cr_assert_eq(hl_http_res_end(res, NULL, 0), 0);
  }
}

static void fields_run(int mode) {
  fields_mode = mode;
  fin_seen = 0;
  srv_start(fields_handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(!strncmp(c.in, "HTTP/1.1 299 Custom reason\r\n", 28), "%.60s", c.in);
  cr_assert(strstr(c.in, mode ? "X-T63: vvv" : "X-H63: vvv"));
  hl_tc_raw_free(&c);
  srv_stop();
  cr_assert_eq(fin_seen, 1);
}

Test(http_finish_chain, finish_fields_with_a_finish_only_listener) {
  fields_run(0);
}

Test(http_finish_chain, finish_fields_after_the_strings_moved_past_the_head) {
  fields_run(1);
}
