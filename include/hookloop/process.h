/* hookloop/process.h - the process: exit listeners and exiting.
 *
 * The core uses these when an uncaught error ends the process: it prints
 * "Error: <message>" as the first line on stderr, runs the exit listeners
 * (in the order added) and exits with code 1.
 */
#ifndef HOOKLOOP_PROCESS_H
#define HOOKLOOP_PROCESS_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes with Node's meanings. */
enum {
  HL_EXIT_OK = 0,
  HL_EXIT_UNCAUGHT = 1,         /* uncaught fatal error */
  HL_EXIT_HANDLER_FAILED = 7,   /* an uncaught-error handler itself failed */
  HL_EXIT_INVALID_ARGUMENT = 9, /* bad command-line option */
  HL_EXIT_UNSETTLED_AWAIT = 13, /* top-level await never settled */
  HL_EXIT_SIGNAL_BASE = 128     /* + signal number */
};

typedef void (*hl_exit_cb)(int code, void *arg);

/* Add an exit listener: cb(code, arg) runs when the process exits through
 * hookloop (hl_process_exit, a fatal error). Only synchronous work is possible
 * there. Several per loop, run in the order added. 0, HL_EINVAL, HL_ENOMEM. */
int hl_process_on_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg);

/* Remove the first listener added with the same cb and arg. 0, or HL_ENOENT. */
int hl_process_off_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg);

/* Run the exit listeners of the current thread's loop with `code` and exit the
 * process with it. Does not return. */
void hl_process_exit(int code);

#ifdef __cplusplus
}
#endif
#endif
