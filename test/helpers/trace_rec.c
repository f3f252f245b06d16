/* test/helpers/trace_rec.c - the trace recorder of trace_rec.h. */
#include "trace_rec.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void rec_add(trace_rec_t *r, const char *s) {
  cr_assert_lt(strlen(r->buf) + strlen(s), sizeof r->buf);
  strcat(r->buf, s);
}

hl_promise_t *trace_rec_ev_stop(const hl_trace_end_t *e, void *arg) {
  trace_rec_t *r = arg;
  r->open_events--;
  char l[64];
  snprintf(l, sizeof l, "/ev%s ", e->error ? hl_err_name(e->error) : "");
  rec_add(r, l);
  return NULL;
}

void trace_rec_event(hl_trace_event_t *ev, void *arg) {
  trace_rec_t *r = arg;
  r->open_events++;
  char l[64];
  snprintf(l, sizeof l, "ev:%s ", ev->name);
  rec_add(r, l);
  hl_trace_event_on_stop(ev, trace_rec_ev_stop, r);
}

hl_promise_t *trace_rec_stop(const hl_trace_end_t *e, void *arg) {
  trace_rec_t *r = arg;
  r->open_stages--;
  char l[64];
  snprintf(l, sizeof l, "/%s ", e->error ? hl_err_name(e->error) : "");
  rec_add(r, l);
  return NULL;
}

void trace_rec_stage(hl_trace_stage_t *st, void *arg) {
  trace_rec_t *r = arg;
  r->open_stages++;
  if (st->stage == HL_STAGE_AFTER_RESPONSE)
    r->after_response++;
  char l[64];
  snprintf(l, sizeof l, "%s(%u) ", st->name, st->total);
  rec_add(r, l);
  hl_trace_stage_on_event(st, trace_rec_event, r);
  hl_trace_stage_on_stop(st, trace_rec_stop, r);
}

void trace_rec_all(hl_trace_t *t, void *arg) {
  for (int s = 0; s < HL_STAGE_COUNT; s++)
    hl_trace_on(t, (hl_stage_t)s, trace_rec_stage, arg);
}
