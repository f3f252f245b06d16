/* test/http/test_times.c - the request/response timestamps: each point is
 * set when reached (0 before: checked from inside every event), and they are
 * ordered as the points are passed, in both event orders:
 *   write_head, then end: start <= headers <= pre_write_head <=
 *     post_write_head <= pre_end <= post_end <= finish
 *   end alone: start <= headers <= pre_end <= pre_write_head <=
 *     post_write_head <= post_end <= finish
 * with listeners on every event, with a FINISH listener only and with none;
 * and across pipelined requests answered by one write (finish shared, never
 * going back from one request to the next). */
#include "common.h"

#define NREQ 12

typedef struct {
  hl_http_times_t at_close;
  int events, closed;
} rec_t;

static rec_t recs[NREQ];

static int req_index(hl_http_req_t *req) {
  int k = atoi(hl_http_req_path(req) + 1);
  cr_assert(k >= 0 && k < NREQ);
  return k;
}

/* kinds 1..16 (0 for close): the points reached once the event fires */
static void check_reached(const hl_http_times_t *t, int explicit_head, int kind) {
  int head = kind == HL_HTTP_RES_PRE_WRITE_HEAD || kind == HL_HTTP_RES_POST_WRITE_HEAD;
  int done_head, done_end;
  cr_assert(t->start && t->headers);
  if (explicit_head) { /* head events, then end events */
    done_head = kind == HL_HTTP_RES_POST_WRITE_HEAD || !head;
    done_end = kind == HL_HTTP_RES_POST_END || kind == HL_HTTP_RES_FINISH || kind == 0;
    cr_assert_eq(!!t->pre_write_head, 1);
    cr_assert_eq(!!t->post_write_head, done_head);
    cr_assert_eq(!!t->pre_end, !head);
  } else { /* pre-end, head events, post-end */
    done_head = kind == HL_HTTP_RES_POST_WRITE_HEAD || kind == HL_HTTP_RES_POST_END ||
                kind == HL_HTTP_RES_FINISH || kind == 0;
    done_end = kind == HL_HTTP_RES_POST_END || kind == HL_HTTP_RES_FINISH || kind == 0;
    cr_assert_eq(!!t->pre_end, 1);
    cr_assert_eq(!!t->pre_write_head, kind != HL_HTTP_RES_PRE_END);
    cr_assert_eq(!!t->post_write_head, done_head);
  }
  cr_assert_eq(!!t->post_end, done_end);
  cr_assert_eq(!!t->finish, kind == HL_HTTP_RES_FINISH || kind == 0);
}

static void check_order(const hl_http_times_t *t, int explicit_head) {
  cr_assert(t->start <= t->headers);
  if (explicit_head)
    cr_assert(t->headers <= t->pre_write_head && t->pre_write_head <= t->post_write_head &&
                  t->post_write_head <= t->pre_end && t->pre_end <= t->post_end,
              "write_head then end: out of order");
  else
    cr_assert(t->headers <= t->pre_end && t->pre_end <= t->pre_write_head &&
                  t->pre_write_head <= t->post_write_head && t->post_write_head <= t->post_end,
              "end alone: out of order");
  cr_assert(t->post_end <= t->finish);
}

static int mode_explicit(int k) {
  return k % 2;
}

static void on_event(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  (void)arg;
  int k = req_index(hl_http_res_req(res));
  recs[k].events++;
  check_reached(hl_http_res_times(res), mode_explicit(k), ev->kind);
}

static void on_close(hl_http_req_t *req, int aborted, void *arg) {
  (void)arg;
  int k = req_index(req);
  cr_assert_eq(aborted, 0);
  recs[k].at_close = *hl_http_req_times(req);
  recs[k].closed = 1;
  check_reached(&recs[k].at_close, mode_explicit(k), 0);
  check_order(&recs[k].at_close, mode_explicit(k));
}

/* k % 2: write_head first; k / 2 % 3: listeners on every event, FINISH only, none */
static void handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s;
  int k = req_index(req);
  int which = k / 2 % 3;
  const hl_http_times_t *t = hl_http_req_times(req);
  cr_assert(t->start && t->headers && !t->pre_write_head && !t->pre_end && !t->finish);
  if (which == 0)
    cr_assert_eq(hl_http_res_on(res, 31, on_event, NULL), 0);
  else if (which == 1)
    cr_assert_eq(hl_http_res_on(res, HL_HTTP_RES_FINISH, on_event, NULL), 0);
  cr_assert_eq(hl_http_req_on_close(req, on_close, NULL), 0);
  if (mode_explicit(k))
    cr_assert_eq(hl_http_res_write_head(res, 200, NULL), 0);
  cr_assert_eq(hl_http_res_end(res, "t", 1), 0);
}

Test(http_times, points_set_when_reached_and_ordered_in_both_event_orders) {
  memset(recs, 0, sizeof recs);
  srv_start(handler, NULL);
  hl_tc_raw_t c;
  pipelined_gets(&c, NREQ);
  hl_tc_raw_free(&c);
  for (int k = 0; k < NREQ; k++) {
    int which = k / 2 % 3;
    cr_assert(recs[k].closed, "request %d", k);
    cr_assert_eq(recs[k].events, which == 0 ? 5 : which == 1 ? 1 : 0, "request %d", k);
    if (k > 0) { /* one connection, in order: never back from one request to the next */
      const hl_http_times_t *a = &recs[k - 1].at_close, *b = &recs[k].at_close;
      cr_assert(a->start <= b->start && a->headers <= b->headers && a->finish <= b->finish,
                "request %d before %d", k - 1, k);
    }
  }
  srv_stop();
}
