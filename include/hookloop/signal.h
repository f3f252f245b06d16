/* hookloop/signal.h - signal events (Node's process.on('SIGINT', ...)) and
 * sending signals.
 *
 * A listener is called on the loop thread, inside the callback of a SIGNALWRAP
 * async resource (one per signal per loop: init when its first listener is
 * added, destroy when its last is removed), so hooks, async listeners and
 * storage see it like any other callback. As in Node, signal handles do not
 * keep the loop alive (they are unref'd): keep something else running while
 * you wait for a signal.
 *
 * Defaults (installed by hl_process_init): SIGINT, SIGTERM and SIGHUP end the
 * process with exit code 128 + n (an async-signal-safe handler calling _exit:
 * buffered stdio is not flushed, exit listeners do not run, as Node's 'exit'
 * is not emitted on a signal); the first listener for one of them removes that
 * default and removing the last restores it. SIGPIPE is ignored by default
 * (restored to ignored when its last listener goes). Others keep the system's
 * default.
 */
#ifndef HOOKLOOP_SIGNAL_H
#define HOOKLOOP_SIGNAL_H

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*hl_signal_cb)(int signum, void *arg);

/* Listen to `signum` on `loop`: cb(signum, arg) runs once per delivery (libuv
 * may coalesce deliveries that arrive together). Several listeners per signal
 * run in the order added. Returns 0; HL_EINVAL (NULL, signum out of range,
 * SIGKILL or SIGSTOP, which cannot be caught); HL_ENOMEM; libuv's errors. */
int hl_process_on_signal(hl_loop_t *loop, int signum, hl_signal_cb cb, void *arg);

/* Remove the first listener with the same cb and arg (also from inside a
 * listener). 0, HL_EINVAL, HL_ENOENT. */
int hl_process_off_signal(hl_loop_t *loop, int signum, hl_signal_cb cb, void *arg);

/* Number of listeners for signum on loop (0 when none or bad arguments). */
int hl_process_signal_listeners(hl_loop_t *loop, int signum);

/* Send `signum` to process `pid` (uv_kill). signum 0 only checks that the
 * process exists (and that we may signal it). 0 or a negative system error
 * (UV_ESRCH, UV_EPERM, UV_EINVAL). */
int hl_process_kill(int pid, int signum);

#ifdef __cplusplus
}
#endif
#endif
