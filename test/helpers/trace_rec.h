/* test/helpers/trace_rec.h - a trace recorder for the app tests: subscribes to
 * every stage and every event of a request and writes them into one string,
 * "stage(total) ev:name /ev[ERR] / ...", counting what began and has not
 * stopped yet (a trace must never leave a listener waiting).
 *
 *   static trace_rec_t rec;
 *   hl_app_trace(app, trace_rec_all, &rec);
 *   ... cr_assert_str_eq(rec.buf, "request(0) / ..."); open_* == 0
 */
#ifndef HL_TEST_TRACE_REC_H
#define HL_TEST_TRACE_REC_H

#include <hookloop.h>

typedef struct {
  char buf[2048];
  int open_stages, open_events;
  int after_response; /* afterResponse stages begun */
} trace_rec_t;

/* hl_app_trace() function: arg is a trace_rec_t. */
void trace_rec_all(hl_trace_t *t, void *arg);
/* The listeners it installs, for tests that subscribe to some stages only. */
void trace_rec_stage(hl_trace_stage_t *st, void *arg);
void trace_rec_event(hl_trace_event_t *ev, void *arg);
hl_promise_t *trace_rec_stop(const hl_trace_end_t *e, void *arg);    /* a stage's */
hl_promise_t *trace_rec_ev_stop(const hl_trace_end_t *e, void *arg); /* an event's */

#endif
