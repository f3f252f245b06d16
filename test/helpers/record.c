/* test/helpers/record.c - see record.h. */
#include "record.h"
#include <string.h>

static hl_ev_t *push(hl_rec_t *r, hl_ev_kind_t k, hl_async_id_t id) {
  hl_log_t *log = r->log;
  if (log->n >= (int)(sizeof log->ev / sizeof log->ev[0]))
    return NULL;
  hl_ev_t *e = &log->ev[log->n++];
  memset(e, 0, sizeof *e);
  e->kind = k;
  e->id = id;
  e->tag = r->tag;
  return e;
}

static void on_init(hl_async_id_t id, const char *type, hl_async_id_t trig, void *res, void *arg) {
  hl_ev_t *e = push(arg, EV_INIT, id);
  if (e) {
    e->trigger = trig;
    e->resource = res;
    strncpy(e->type, type, sizeof e->type - 1);
  }
}
static void on_before(hl_async_id_t id, void *arg) {
  push(arg, EV_BEFORE, id);
}
static void on_after(hl_async_id_t id, void *arg) {
  push(arg, EV_AFTER, id);
}
static void on_destroy(hl_async_id_t id, void *arg) {
  push(arg, EV_DESTROY, id);
}
static void on_resolve(hl_async_id_t id, void *arg) {
  push(arg, EV_RESOLVE, id);
}

int hl_rec_create(hl_loop_t *loop, hl_rec_t *rec, hl_log_t *log, int tag) {
  hl_hook_callbacks_t cb = {on_init, on_before, on_after, on_destroy, on_resolve};
  rec->tag = tag;
  rec->log = log;
  return hl_hook_create(loop, &cb, rec, &rec->hook);
}

int hl_rec_start(hl_loop_t *loop, hl_rec_t *rec, hl_log_t *log, int tag) {
  int r;
  log->n = 0;
  if ((r = hl_loop_init(loop)) || (r = hl_rec_create(loop, rec, log, tag)))
    return r;
  return hl_hook_enable(rec->hook);
}

int hl_log_count(const hl_log_t *log, hl_ev_kind_t kind, hl_async_id_t id) {
  int c = 0;
  for (int i = 0; i < log->n; i++)
    if (log->ev[i].kind == kind && log->ev[i].id == id)
      c++;
  return c;
}

const hl_ev_t *hl_log_init_of(const hl_log_t *log, hl_async_id_t id) {
  for (int i = 0; i < log->n; i++)
    if (log->ev[i].kind == EV_INIT && log->ev[i].id == id)
      return &log->ev[i];
  return NULL;
}

int hl_log_count_type(const hl_log_t *log, const char *type) {
  int c = 0;
  for (int i = 0; i < log->n; i++)
    if (log->ev[i].kind == EV_INIT && !strcmp(log->ev[i].type, type))
      c++;
  return c;
}

int hl_log_index(const hl_log_t *log, hl_ev_kind_t kind, hl_async_id_t id, int tag) {
  for (int i = 0; i < log->n; i++)
    if (log->ev[i].kind == kind && log->ev[i].id == id && (tag < 0 || log->ev[i].tag == tag))
      return i;
  return -1;
}
