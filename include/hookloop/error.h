/* hookloop/error.h - error codes, raising errors from callbacks, the allocator.
 *
 * Every public function returns 0 or a negative code. libuv's UV_E* codes pass
 * through unchanged (HL_EINVAL == UV_EINVAL ...); hookloop's own codes live in
 * one X-macro table below, numbered far from libuv's range. Codes are never
 * renumbered.
 */
#ifndef HOOKLOOP_ERROR_H
#define HOOKLOOP_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libuv codes hookloop uses by name. */
#define HL_EINVAL    UV_EINVAL
#define HL_ENOMEM    UV_ENOMEM
#define HL_EBUSY     UV_EBUSY
#define HL_ENOENT    UV_ENOENT
#define HL_ENOTSUP   UV_ENOTSUP
#define HL_ECANCELED UV_ECANCELED
#define HL_EALREADY  UV_EALREADY

/* hookloop's own codes: name, value, message. Append only; never renumber. */
#define HL_ERRNO_MAP(XX)                                                                           \
  XX(ESTATE, -32001, "operation not valid in the object's current state")                          \
  XX(ESTACK, -32002, "async hook stack has become corrupted")                                      \
  XX(ERAISED, -32003, "error raised by a callback")                                                \
  XX(EREJECTED, -32004, "unhandled promise rejection")                                             \
  XX(EAGGREGATE, -32005, "all promises were rejected")                                             \
  XX(EASYNCTYPE, -32006, "invalid async resource type")                                            \
  XX(EASYNCID, -32007, "invalid async id")                                                         \
  XX(EMODULENOTFOUND, -32010, "module not found")                                                  \
  XX(ELOADERCHAININCOMPLETE, -32011, "loader hook chain incomplete")                               \
  XX(EINVALIDRETURN, -32012, "invalid return value from a loader hook")                            \
  XX(EABIVERSION, -32013, "plugin built for another hookloop ABI")                                 \
  XX(EUNKNOWNFORMAT, -32014, "unknown module format")                                              \
  XX(EBADMODULE, -32015, "not a loadable module")                                                  \
  XX(ECLOSED, -32020, "handle is closing or closed")                                               \
  XX(EHTTPLISTENERS, -32040, "too many http-hooks listeners")                                      \
  XX(EHTTPCLOSED, -32041, "the HTTP connection of this response has closed")                       \
  XX(ENOTFOUND, -32050, "no route for this path")                                                  \
  XX(EPARSE, -32051, "request body could not be parsed")                                           \
  XX(EVALIDATION, -32052, "request failed validation")                                             \
  XX(EINTERNAL, -32053, "internal server error")                                                   \
  XX(EMETHOD, -32054, "method not allowed for this path")                                          \
  XX(ECLIENTGONE, -32055, "the client went away")

enum {
#define HL__ERR_ENUM(name, val, msg) HL_##name = (val),
  HL_ERRNO_MAP(HL__ERR_ENUM)
#undef HL__ERR_ENUM
};

/* Message for `err`: hookloop's table, else libuv's message. Never NULL; the
 * string is static or thread-local (valid until the next call on this thread). */
const char *hl_strerror(int err);

/* Symbolic name of `err` ("EINVAL", "ESTACK"). Never NULL; same lifetime rule. */
const char *hl_err_name(int err);

/* An error value: what hl_raise() creates and what a rejected promise carries
 * when it was rejected by a raise. `message` is NUL-terminated. `detail` is
 * optional extra data freed with `detail_free` (hl_promise_any() puts the
 * hl_promise_values_t of all reasons there). */
typedef struct hl_error_s {
  int code;
  void *detail;
  void (*detail_free)(void *detail);
  char message[];
} hl_error_t;

/* Allocate an error (through the library allocator). Returns NULL on OOM.
 * Free it with hl_error_free(). */
hl_error_t *hl_error_new(int code, const char *fmt, ...);
hl_error_t *hl_error_newv(int code, const char *fmt, va_list ap);
void hl_error_free(void *err); /* void * so it serves as a value destructor */

struct hl_loop_s;

/* The C analog of `throw`. Called inside a hookloop callback, it marks that
 * callback as failed; the callback must then return. After it returns, the
 * error is routed: in a promise reaction it rejects the chained promise; elsewhere
 * it is an uncaught error (the process module adds handlers). With no handler,
 * hookloop prints "Error: <message>" as the first stderr line, runs the exit
 * listeners and exits with code 1. Inside a hook callback (init, before, ...)
 * it is always fatal that way, at once. At top level (no callback running) the
 * error is uncaught at once. A second raise in the same callback is ignored
 * (the first error wins). `code` is a negative code (HL_ERAISED if 0 or
 * positive). Safe to call with loop == NULL only at top level (fatal). */
void hl_raise(struct hl_loop_s *loop, int code, const char *fmt, ...);

/* Replace the allocator every allocation of the library goes through (as
 * uv_replace_allocator). Call before any other hookloop function, or with no
 * loop alive. All four must be non-NULL: HL_EINVAL otherwise. libuv's own
 * allocations are not affected. */
typedef void *(*hl_malloc_fn)(size_t size);
typedef void *(*hl_realloc_fn)(void *ptr, size_t size);
typedef void *(*hl_calloc_fn)(size_t count, size_t size);
typedef void (*hl_free_fn)(void *ptr);
int hl_replace_allocator(hl_malloc_fn malloc_fn, hl_realloc_fn realloc_fn, hl_calloc_fn calloc_fn,
                         hl_free_fn free_fn);

#ifdef __cplusplus
}
#endif
#endif
