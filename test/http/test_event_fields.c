/* test/http/test_event_fields.c - what a response event carries: the status
 * and reason current when the event fires (changed by a listener of an
 * earlier event; a custom reason whose header strings moved since: the
 * server keeps a single listener's event struct and refreshes them only on
 * change, under ASan a stale pointer would be reported), the last chunk for the end events and none
 * for the others, with one listener and with two, and with a second listener
 * added by the first during an event and removed again (the single
 * listener's event struct is then refreshed before it is used again). */
#include "common.h"
#include "http/http_internal.h"

static char trail[512];
static int nlisteners;

static void expect(const hl_http_res_event_t *ev, int status, const char *reason, int with_chunk) {
  cr_assert_eq(ev->status, status, "event %d: status %d, want %d", ev->kind, ev->status, status);
  cr_assert_str_eq(ev->reason, reason, "event %d", ev->kind);
  if (with_chunk) {
    cr_assert_eq(ev->len, 4);
    cr_assert(!memcmp(ev->chunk, "body", 4));
  } else {
    cr_assert_null(ev->chunk, "event %d", ev->kind);
    cr_assert_eq(ev->len, 0);
  }
}

/* The events after pre-writeHead, whose listener changed the status to 298
 * "Another reason" there: the same in both tests. */
static void expect_after_pre_head(const hl_http_res_event_t *ev) {
  switch (ev->kind) {
  case HL_HTTP_RES_POST_WRITE_HEAD:
  case HL_HTTP_RES_FINISH:
    expect(ev, 298, "Another reason", 0);
    break;
  case HL_HTTP_RES_POST_END:
    expect(ev, 298, "Another reason", 1);
    break;
  default:
    cr_assert_fail("kind %d", ev->kind);
  }
}

static void on_ev(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  int who = (int)(intptr_t)arg;
  size_t n = strlen(trail);
  snprintf(trail + n, sizeof trail - n, "%d:%d ", who, ev->kind);
  if (who != 0)
    return; /* the second listener only records */
  switch (ev->kind) {
  case HL_HTTP_RES_PRE_END:
    expect(ev, 299, "Custom reason", 1);
    /* enough headers to move the strings the custom reason lives in */
    for (int i = 0; i < 64; i++) {
      char name[16], value[128];
      snprintf(name, sizeof name, "X-H%d", i);
      memset(value, 'v', sizeof value - 1);
      value[sizeof value - 1] = 0;
      cr_assert_eq(hl_http_res_add_header(res, name, value), 0);
    }
    break;
  case HL_HTTP_RES_PRE_WRITE_HEAD:
    expect(ev, 299, "Custom reason", 0); /* read where the strings are now */
    cr_assert_eq(hl_http_res_status(res, 298, "Another reason"), 0); /* from the next event on */
    expect(ev, 299, "Custom reason", 0);                             /* not this one */
    break;
  default:
    expect_after_pre_head(ev);
  }
}

static void handler(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s, (void)req;
  for (int i = 0; i < nlisteners; i++)
    cr_assert_eq(hl_http_res_on(res, 31, on_ev, (void *)(intptr_t)i), 0);
  cr_assert_eq(hl_http_res_status(res, 299, "Custom reason"), 0);
  cr_assert_eq(hl_http_res_end(res, "body", 4), 0);
}

static void run(int listeners, const char *want) {
  nlisteners = listeners;
  trail[0] = 0;
  srv_start(handler, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(!strncmp(c.in, "HTTP/1.1 298 Another reason\r\n", 29), "%.60s", c.in);
  cr_assert(strstr(c.in, "X-H63: vvv"));
  hl_tc_raw_free(&c);
  srv_stop();
  cr_assert_str_eq(trail, want);
}

Test(http_event_fields, status_reason_and_chunk_as_current_one_listener) {
  run(1, "0:4 0:1 0:2 0:8 0:16 ");
}

Test(http_event_fields, status_reason_and_chunk_as_current_two_listeners) {
  run(2, "0:4 1:4 0:1 1:1 0:2 1:2 0:8 1:8 0:16 1:16 ");
}

/* Listener 0 alone (its event struct made current when it was added); in
 * pre-end it adds listener 1 (both from the next event, from a snapshot);
 * in pre-writeHead 0 changes the status and 1 removes itself, so 0 is alone
 * again from post-writeHead on, with the new status and reason. */
static void on_ev_add_remove(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg) {
  int who = (int)(intptr_t)arg;
  size_t n = strlen(trail);
  snprintf(trail + n, sizeof trail - n, "%d:%d ", who, ev->kind);
  if (who == 1) {
    cr_assert_eq(ev->kind, HL_HTTP_RES_PRE_WRITE_HEAD);
    expect(ev, 299, "Custom reason", 0); /* the event as it began */
    cr_assert_eq(hl__http_res_off(res, on_ev_add_remove, (void *)1), 0);
    return;
  }
  switch (ev->kind) {
  case HL_HTTP_RES_PRE_END:
    expect(ev, 299, "Custom reason", 1);
    cr_assert_eq(hl_http_res_on(res, 31, on_ev_add_remove, (void *)1), 0);
    break;
  case HL_HTTP_RES_PRE_WRITE_HEAD:
    expect(ev, 299, "Custom reason", 0);
    cr_assert_eq(hl_http_res_status(res, 298, "Another reason"), 0);
    break;
  default:
    expect_after_pre_head(ev);
  }
}

static void handler_add_remove(hl_http_server_t *s, hl_http_req_t *req, hl_http_res_t *res) {
  (void)s, (void)req;
  cr_assert_eq(hl_http_res_status(res, 299, "Custom reason"), 0);
  cr_assert_eq(hl_http_res_on(res, 31, on_ev_add_remove, (void *)0), 0);
  cr_assert_eq(hl_http_res_end(res, "body", 4), 0);
}

Test(http_event_fields, a_second_listener_added_and_removed_during_events) {
  trail[0] = 0;
  srv_start(handler_add_remove, NULL);
  hl_tc_raw_t c;
  raw_exchange(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  cr_assert(!strncmp(c.in, "HTTP/1.1 298 Another reason\r\n", 29), "%.60s", c.in);
  hl_tc_raw_free(&c);
  srv_stop();
  cr_assert_str_eq(trail, "0:4 0:1 1:1 0:2 0:8 0:16 ");
}
