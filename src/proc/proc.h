/* src/proc/proc.h - what the process module's files share: the per-loop
 * process state (L->proc), listener lists that tolerate removal while they
 * are being emitted, and the entry points between proc.c, signal.c and
 * listener.c. */
#ifndef HL_PROC_H
#define HL_PROC_H

#include "../core/internal.h"

/* A listener list: removal during an emit marks the entry dead; the list is
 * swept when the outermost emit returns. */
typedef struct hl__lsn_s {
  struct hl__lsn_s *next;
  void (*fn)(void);
  void *arg;
  uint8_t dead;
} hl__lsn_t;

typedef struct hl__lsnlist_s {
  hl__lsn_t *head;
  uint32_t emitting;
  uint32_t live;
  uint8_t dirty;
} hl__lsnlist_t;

int hl__lsn_add(hl__lsnlist_t *list, void (*fn)(void), void *arg);
int hl__lsn_remove(hl__lsnlist_t *list, void (*fn)(void), void *arg);
void hl__lsn_end_emit(hl__lsnlist_t *list); /* emitting--, sweep when done */
void hl__lsn_free(hl__lsnlist_t *list);

struct hl__sigwrap_s;
struct hl__al_s;

typedef struct hl__proc_s {
  hl__lsnlist_t before_exit, uncaught, monitor, unhandled, handled;
  hl_rejections_mode_t mode;
  uint8_t main;       /* hl_process_init made this the process's loop */
  uint8_t in_handler; /* an uncaught-error listener is running */
  struct hl_promise_s **tla;
  uint32_t n_tla, cap_tla;
  struct hl__sigwrap_s *sigs;
  struct hl__al_s *al;
} hl__proc_t;

hl__proc_t *hl__proc_get(hl__loop_t *L); /* created on first use; NULL on OOM */

/* Raised inside a handler of an uncaught error (listener, AsyncListener
 * error): "Error: <message>", exit 7. */
void hl__proc_handler_failed(hl__loop_t *L) __attribute__((noreturn));

void hl__sig_close_all(hl__loop_t *L);
void hl__sig_install_defaults(hl__loop_t *L);
void hl__al_close(hl__loop_t *L);
int hl__al_in_error(hl__loop_t *L);
extern int hl__exit_code_set;

#endif
