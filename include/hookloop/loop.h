/* hookloop/loop.h - the event loop: a libuv loop plus hookloop's execution
 * context (async ids, hooks, next-tick and microtask queues).
 *
 * One hl_loop_t runs on one thread. Several loops on several threads each keep
 * their own ids, hooks and context. The hl_loop_t itself is caller-allocated;
 * what hookloop needs beyond it is allocated in hl_loop_init() and freed by
 * hl_loop_close().
 */
#ifndef HOOKLOOP_LOOP_H
#define HOOKLOOP_LOOP_H

#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Async ids: unique per loop, never reused. 1 is the loop's root (top level),
 * 0 means "no trigger", -1 asks for the default trigger. */
typedef int64_t hl_async_id_t;

typedef struct hl_loop_s {
  void *data;              /* for the application */
  struct hl__loop_s *impl; /* private */
} hl_loop_t;

typedef enum {
  HL_RUN_DEFAULT = UV_RUN_DEFAULT,
  HL_RUN_ONCE = UV_RUN_ONCE,
  HL_RUN_NOWAIT = UV_RUN_NOWAIT
} hl_run_mode;

/* Initialize `loop` with a uv_loop_t of its own. Returns 0, HL_EINVAL (NULL),
 * HL_ENOMEM, or a libuv error. The loop becomes the thread's current loop. */
int hl_loop_init(hl_loop_t *loop);

/* Initialize `loop` over an application's existing uv loop `uv` (not owned:
 * hl_loop_close() leaves it open). Same returns as hl_loop_init(). */
int hl_loop_init_uv(hl_loop_t *loop, uv_loop_t *uv);

/* The underlying uv loop, or NULL for a NULL or closed loop. */
uv_loop_t *hl_loop_uv(const hl_loop_t *loop);

/* Drain the next-tick and microtask queues (work queued at top level), then run
 * the uv loop in `mode`. Returns as uv_run() (non-zero when work remains), or
 * HL_EINVAL (NULL loop, bad mode) or HL_ESTATE (called from inside a callback of
 * this loop). */
int hl_run(hl_loop_t *loop, hl_run_mode mode);

/* Number of live resources hookloop tracks on this loop: pending timers,
 * immediates, ticks and microtasks, user resources that require manual
 * destroy, open streams and HTTP connections, fs/DNS/work requests and module
 * imports in flight, app requests. Negative error for a bad loop. */
int hl_loop_alive_resources(const hl_loop_t *loop);

/* Close the loop: emits pending destroys (also those of resources its own
 * closes end), frees hookloop's memory and closes an owned uv loop. Returns 0;
 * HL_EINVAL for NULL/uninitialized; UV_EBUSY while resources live (anything
 * hl_loop_alive_resources() counts, or libuv handles of an owned loop).
 * On a joined loop, hookloop's internal handles are closed and one
 * non-blocking pass of the uv loop lets their close callbacks run. */
int hl_loop_close(hl_loop_t *loop);

/* The thread's current loop: the one running a callback, else the last loop
 * initialized or run on this thread; NULL if none. */
hl_loop_t *hl_loop_current(void);

/* Library version. */
#define HL_VERSION_MAJOR  0
#define HL_VERSION_MINOR  1
#define HL_VERSION_PATCH  0
#define HL_VERSION_STRING "0.1.0"
const char *hl_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
