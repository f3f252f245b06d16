/* hookloop/process.h - the process (the C analog of Node's `process`): exit
 * codes, lifecycle events, uncaught errors and rejections, and process facts.
 *
 * Lifecycle (Node's order):
 * - hl_process_init() once at start makes `loop` the process's main loop and
 *   takes hookloop's own command-line options out of argv.
 * - When hl_run(loop, HL_RUN_DEFAULT) finds the loop empty it emits
 *   `beforeExit(code)` (any loop with listeners); a listener may schedule work
 *   and the loop goes on (beforeExit comes again when it empties again). Not
 *   emitted for an explicit exit or an uncaught error.
 * - On the main loop, when it stays empty, `exit(code)` is emitted once and
 *   hl_run returns; the application then returns hl_process_get_exit_code()
 *   from main. hl_process_exit() emits `exit` and ends the process at once.
 *   Only synchronous work is possible in an exit listener: anything it queues
 *   never runs (hl_loop_close may then return UV_EBUSY; just exit).
 * - An uncaught error with no listener prints "Error: <message>" as the first
 *   line on stderr, runs the exit listeners with code 1 and exits 1.
 * Listeners (each with a `void *arg`) run in the order added; several per
 * event; the same cb/arg pair may be added twice (it then runs twice). They
 * may be removed at any time, also from inside a listener.
 */
#ifndef HOOKLOOP_PROCESS_H
#define HOOKLOOP_PROCESS_H

#include <stdint.h>
#include <sys/types.h>
#include "error.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit codes with Node's meanings. */
enum {
  HL_EXIT_OK = 0,
  HL_EXIT_UNCAUGHT = 1,         /* uncaught fatal error */
  HL_EXIT_HANDLER_FAILED = 7,   /* an uncaught-error handler itself failed */
  HL_EXIT_INVALID_ARGUMENT = 9, /* bad command-line option (hookloop's own) */
  HL_EXIT_UNSETTLED_AWAIT = 13, /* top-level await never settled */
  HL_EXIT_SIGNAL_BASE = 128     /* + signal number */
};

/* ---- lifecycle -------------------------------------------------------------- */

/* Start the process module on `loop` (its main loop). Call once, first thing
 * in main, with main's argc/argv: it calls libuv's uv_setup_args (needed for
 * hl_process_set_title) and after that the caller's argv memory may be
 * overwritten by a title: use hl_process_argv(). hookloop's own options are
 * `--hl-<name>=<value>` anywhere before a `--`; they are removed from argv and
 * listed by hl_process_exec_argv(). Known options:
 *   --hl-unhandled-rejections=throw|strict|warn|warn-with-error-code|none
 *   --hl-title=<title>
 * An unknown `--hl-` option or a bad value prints
 * "<argv0>: bad option: <option>" on stderr and exits with 9.
 * Also: SIGINT, SIGTERM and SIGHUP get their default handler (exit 128 + n),
 * SIGPIPE is ignored (see signal.h). Returns 0; HL_EINVAL (NULL loop, argc < 1,
 * NULL argv); HL_ESTATE (called twice); HL_ENOMEM. */
int hl_process_init(hl_loop_t *loop, int argc, char **argv);

typedef void (*hl_exit_cb)(int code, void *arg);

/* `exit`: cb(code, arg) runs when the process exits through hookloop
 * (hl_process_exit, a fatal error, the main loop emptying). Only synchronous
 * work is possible there. 0, HL_EINVAL, HL_ENOMEM. */
int hl_process_on_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg);
/* Remove the first listener added with the same cb and arg. 0, or HL_ENOENT. */
int hl_process_off_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg);

/* `beforeExit`: cb(code, arg) when hl_run finds the loop empty (code: the
 * current exit code). Runs at top level; may schedule work. 0, HL_EINVAL,
 * HL_ENOMEM; off: 0 or HL_ENOENT. */
int hl_process_on_before_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg);
int hl_process_off_before_exit(hl_loop_t *loop, hl_exit_cb cb, void *arg);

#define HL_EXIT_CODE_CURRENT (-1)

/* Run the exit listeners of the current thread's loop and exit the process.
 * `code` >= 0 wins over the exit code set before (and becomes it);
 * HL_EXIT_CODE_CURRENT uses hl_process_get_exit_code(). An exit listener may
 * still change the code with hl_process_set_exit_code. Does not return. */
void hl_process_exit(int code) __attribute__((noreturn));

/* process.exitCode: the code the process exits with when nothing overrides
 * it (0 at start). set: 0, or HL_EINVAL when code is outside 0..255. */
int hl_process_get_exit_code(void);
int hl_process_set_exit_code(int code);

struct hl_promise_s;

/* Top-level await: if the main loop ends while `promise` is still pending, the
 * process prints "Warning: Detected unsettled top-level await" on stderr and
 * its exit code becomes 13 (unless an exit code was set), as Node. The promise
 * is retained until then. A rejection follows the unhandled-rejection rules.
 * 0, HL_EINVAL (NULL, other loop), HL_ENOMEM. */
int hl_await_top_level(hl_loop_t *loop, struct hl_promise_s *promise);

/* ---- uncaught errors and rejections --------------------------------------- */

typedef enum {
  HL_ORIGIN_UNCAUGHT_EXCEPTION = 0, /* a callback raised (hl_raise) */
  HL_ORIGIN_UNHANDLED_REJECTION = 1 /* a promise rejected with no handler */
} hl_origin_t;

/* "uncaughtException" / "unhandledRejection" */
const char *hl_origin_name(hl_origin_t origin);

/* `uncaughtExceptionMonitor` and `uncaughtException`: cb(err, origin, arg).
 * On an uncaught error (one an AsyncListener error callback did not handle),
 * every monitor runs, then every uncaughtException listener. With at least one
 * uncaughtException listener the error counts as handled: the loop goes on and
 * the process exits 0 unless a listener sets the exit code. A listener that
 * raises ends the process with 7 ("Error: <its message>" on stderr) without
 * running the listeners again. Listeners run in the async context and storage
 * of the callback that failed. `err` is valid during the call only. */
typedef void (*hl_uncaught_cb)(const hl_error_t *err, hl_origin_t origin, void *arg);
int hl_process_on_uncaught_exception(hl_loop_t *loop, hl_uncaught_cb cb, void *arg);
int hl_process_off_uncaught_exception(hl_loop_t *loop, hl_uncaught_cb cb, void *arg);
int hl_process_on_uncaught_exception_monitor(hl_loop_t *loop, hl_uncaught_cb cb, void *arg);
int hl_process_off_uncaught_exception_monitor(hl_loop_t *loop, hl_uncaught_cb cb, void *arg);

/* `unhandledRejection`: cb(reason, promise, arg) where `reason` is the
 * rejection as an error (its message describes a non-error reason; the raw
 * value is hl_promise_value(promise)). `rejectionHandled`: cb(promise, arg)
 * when a handler is attached to a promise already reported, on a later tick.
 * Both valid during the call only (retain the promise to keep it). */
typedef void (*hl_rejection_cb)(const hl_error_t *reason, struct hl_promise_s *promise, void *arg);
typedef void (*hl_rejection_handled_cb)(struct hl_promise_s *promise, void *arg);
int hl_process_on_unhandled_rejection(hl_loop_t *loop, hl_rejection_cb cb, void *arg);
int hl_process_off_unhandled_rejection(hl_loop_t *loop, hl_rejection_cb cb, void *arg);
int hl_process_on_rejection_handled(hl_loop_t *loop, hl_rejection_handled_cb cb, void *arg);
int hl_process_off_rejection_handled(hl_loop_t *loop, hl_rejection_handled_cb cb, void *arg);

/* Node's --unhandled-rejections modes:
 * THROW (default): emit unhandledRejection; with no listener, the rejection is
 *   an uncaught exception (monitor, uncaughtException with origin
 *   unhandledRejection; fatal with none).
 * STRICT: the rejection is an uncaught exception first; if an uncaughtException
 *   listener handled it, unhandledRejection is emitted (with no listener for
 *   it, the warning below is printed).
 * WARN: emit unhandledRejection, and always print
 *   "(hookloop:<pid>) UnhandledPromiseRejectionWarning: <message>" on stderr.
 * WARN_WITH_ERROR_CODE: emit unhandledRejection; with no listener, print the
 *   warning and set the exit code to 1.
 * NONE: emit unhandledRejection; nothing else. */
typedef enum {
  HL_REJECTIONS_THROW = 0,
  HL_REJECTIONS_STRICT,
  HL_REJECTIONS_WARN,
  HL_REJECTIONS_WARN_WITH_ERROR_CODE,
  HL_REJECTIONS_NONE
} hl_rejections_mode_t;
int hl_process_set_unhandled_rejections(hl_loop_t *loop, hl_rejections_mode_t mode); /* 0, EINVAL */
hl_rejections_mode_t hl_process_get_unhandled_rejections(hl_loop_t *loop);

/* ---- facts and controls ------------------------------------------------------ */

/* High-resolution monotonic time: out = [seconds, nanoseconds]; with `prev`
 * (an earlier result), the difference since then. 0, HL_EINVAL (NULL out). */
int hl_hrtime(const uint64_t prev[2], uint64_t out[2]);
/* The same clock in nanoseconds (process.hrtime.bigint()). */
uint64_t hl_hrtime_ns(void);

typedef struct hl_memory_usage_s {
  size_t rss;        /* resident set size, bytes */
  size_t heap_total; /* the C heap (glibc: mallinfo2 arena + mmapped), >= heap_used */
  size_t heap_used;  /* bytes held by hookloop's live allocations (malloc_usable_size);
                        0 while a replaced allocator is installed (sizes unknown) */
  size_t external;   /* 0: libuv's and the application's own memory are not split out */
} hl_memory_usage_t;
/* 0, HL_EINVAL, or a system error (rss). */
int hl_process_memory_usage(hl_memory_usage_t *out);

double hl_process_uptime(void); /* seconds since the library was loaded */
int hl_process_pid(void);
int hl_process_ppid(void);
const char *hl_process_platform(void); /* "linux", "darwin", "freebsd", ... */
const char *hl_process_arch(void);     /* Node's names: "x64", "arm64", "ia32", ... */

/* argv without hookloop's options, and those options (exec_argv); valid until
 * exit. Empty (n = 0) before hl_process_init. */
char *const *hl_process_argv(int *argc);
char *const *hl_process_exec_argv(int *argc);

/* Environment: get copies into buf (*size in: its size; out: the length, or
 * the size needed with UV_ENOBUFS); UV_ENOENT when unset. */
int hl_process_env_get(const char *name, char *buf, size_t *size);
int hl_process_env_set(const char *name, const char *value);
int hl_process_env_unset(const char *name);

int hl_process_cwd(char *buf, size_t *size); /* as env_get */
int hl_process_chdir(const char *dir);

/* umask: sets `mask` (0..0777) and stores the previous one in *old; mask < 0
 * only reads. 0 or HL_EINVAL. */
int hl_process_umask(int mask, unsigned *old);

/* Credentials: get return the id; set return 0 or a negative system error
 * (UV_EPERM...). groups: *n in: room in `out`; out: count (UV_ENOBUFS with
 * the count needed). initgroups(user, extra_group). */
unsigned hl_process_getuid(void);
unsigned hl_process_geteuid(void);
unsigned hl_process_getgid(void);
unsigned hl_process_getegid(void);
int hl_process_setuid(unsigned id);
int hl_process_seteuid(unsigned id);
int hl_process_setgid(unsigned id);
int hl_process_setegid(unsigned id);
int hl_process_getgroups(gid_t *out, size_t *n);
int hl_process_setgroups(const gid_t *groups, size_t n);
int hl_process_initgroups(const char *user, gid_t extra_group);

/* process.title: shown by `ps` (libuv's uv_set_process_title: the argv memory
 * and prctl(PR_SET_NAME)); needs hl_process_init first (else HL_ESTATE). A
 * title longer than the original command line is cut to fit. */
int hl_process_set_title(const char *title);
int hl_process_get_title(char *buf, size_t size);

void hl_process_abort(void) __attribute__((noreturn)); /* abort(): SIGABRT, core */

typedef struct hl_versions_s {
  const char *hookloop; /* "0.1.0" */
  const char *libuv;    /* uv_version_string() */
  const char *llhttp;   /* HL_LLHTTP_VERSION when the library was built with it, else "none" */
} hl_versions_t;
const char *hl_process_version(void); /* "v0.1.0" */
const hl_versions_t *hl_process_versions(void);
/* How the library was built: one line of key=value pairs (compiler,
 * optimize, sanitizers, assertions, threads, shared). Static string. */
const char *hl_process_config(void);

#ifdef __cplusplus
}
#endif
#endif
