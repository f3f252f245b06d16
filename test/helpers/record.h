/* test/helpers/record.h - a hook that records every event it sees, as
 * Node's test/async-hooks/init-hooks.js does, for assertions on order,
 * ids, types and triggers. */
#ifndef HL_TEST_RECORD_H
#define HL_TEST_RECORD_H

#include <hookloop.h>

typedef enum { EV_INIT, EV_BEFORE, EV_AFTER, EV_DESTROY, EV_RESOLVE } hl_ev_kind_t;

typedef struct hl_ev_s {
  hl_ev_kind_t kind;
  hl_async_id_t id;
  hl_async_id_t trigger; /* init only */
  char type[32];         /* init only */
  void *resource;        /* init only */
  int tag;               /* which recorder (for multi-hook order tests) */
} hl_ev_t;

typedef struct hl_rec_s {
  hl_hook_t *hook;
  int tag;
  /* events are appended to a shared log when one is set, else to this one */
  struct hl_log_s *log;
} hl_rec_t;

typedef struct hl_log_s {
  hl_ev_t ev[8192];
  int n;
} hl_log_t;

/* Create (not enable) a recording hook with all five callbacks. */
int hl_rec_create(hl_loop_t *loop, hl_rec_t *rec, hl_log_t *log, int tag);

/* Empty `log`, initialize `loop` and enable a recording hook on it. 0 or the
 * first error. */
int hl_rec_start(hl_loop_t *loop, hl_rec_t *rec, hl_log_t *log, int tag);

/* Helpers over a log. Return -1 / NULL when not found. */
int hl_log_count(const hl_log_t *log, hl_ev_kind_t kind, hl_async_id_t id);
const hl_ev_t *hl_log_init_of(const hl_log_t *log, hl_async_id_t id);
int hl_log_count_type(const hl_log_t *log, const char *type);
int hl_log_index(const hl_log_t *log, hl_ev_kind_t kind, hl_async_id_t id, int tag);

#endif
