/* hookloop/module.h - a module loader for C programs: native plugins (shared
 * objects) and data modules (json, text, binary) loaded by specifier, with
 * Node's module customization hooks (resolve and load chains, next,
 * short_circuit, register/initialize on a hooks thread, in-thread hooks with
 * deregister) and Lua's clarity about where a missing module was looked for.
 *
 * Modules
 *   A module is identified by its resolved URL plus its attributes (an opaque
 *   string such as "type=json", NULL for none). The loop keeps one cache: the
 *   same (url, attributes) gives the same hl_module_t until the loop closes.
 *   Nothing is cached from a failed resolve, load or initialization, so a later
 *   require can succeed.
 *
 *   Formats (strings, as Node's): "native" (an ELF shared object, see
 *   HL_MODULE_ABI below), "json" (the JSON text, kept as text: hookloop does not
 *   parse it; hl_module_source() gives it NUL-terminated), "text" and "binary"
 *   (bytes and length). Any other format is refused with HL_EUNKNOWNFORMAT.
 *
 * Default resolver (the bottom of every resolve chain)
 *   "./x" and "../x" against the directory of parent_url (the current working
 *   directory when parent_url is NULL); "/abs/path"; "file:" URLs; other
 *   "scheme:..." URLs are returned unchanged (a load hook must serve them);
 *   bare names ("name", "dir/name") are looked up in each directory of the
 *   environment variable HL_MODULE_PATH (colon-separated, read at each
 *   resolve), then in the directories added with hl_module_add_path(), in
 *   order. Each candidate path is tried as is, then with ".so" appended; the
 *   first regular file wins and becomes a "file://" URL. When none exists the
 *   result is HL_EMODULENOTFOUND with a message listing every file tried, in
 *   order (see hl_module_last_error()):
 *
 *     Cannot find module 'name' imported from file:///app/main
 *       no file '/opt/mods/name'
 *       no file '/opt/mods/name.so'
 *
 * Default loader (the bottom of every load chain)
 *   Only "file:" URLs (HL_ENOTSUP otherwise). The format is the context's
 *   format hint when there is one, else from the extension: ".so" (or ".so.N")
 *   native, ".json" json, ".txt" text, anything else binary. Native modules are
 *   not read (source NULL: dlopen opens the file); others are read whole.
 *
 * Hooks
 *   Two registration styles, as Node:
 *   - hl_module_register_hooks(): function pointers that run synchronously in
 *     the thread that loads the module (the loop thread), Node's
 *     module.registerHooks(); removable with hl_module_hooks_deregister().
 *   - hl_module_register(): a shared object exporting any of
 *     hl_hooks_initialize, hl_hooks_resolve, hl_hooks_load (exact names),
 *     Node's module.register(). Its hooks run on the loop's dedicated hooks
 *     thread (one per loop, started by the first register). The loop thread
 *     waits for the hooks thread during hl_require() and during the in-thread
 *     hooks' next() that reaches the off-thread chain; hl_import() is called
 *     back through the loop (uv_async) when the hooks thread is done.
 *   Chains run last registered first. In-thread hooks all run before the
 *   off-thread ones (the last in-thread hook's next() enters the off-thread
 *   chain), as Node runs synchronous hooks before asynchronous ones; the
 *   default resolver and loader end every chain. A chain that is empty of
 *   hooks runs the defaults in the calling thread.
 *
 *   Once a hooks object is registered, hookloop also allocates on the hooks
 *   thread (requests, results), at the same time as on the loop thread during
 *   imports: an allocator given to hl_replace_allocator must then be
 *   thread-safe.
 *
 *   The hooks thread may be stopped at any time at exit: hl_loop_close() stops
 *   and joins it when it is idle (it always is once no import is in flight),
 *   but at process exit (exit(), hl_process_exit(), a fatal error) it is never
 *   waited for, so a hook must not rely on work it started (output, files)
 *   completing.
 *
 * Hooks must not call hl_require, hl_import or hl_module_register (off-thread
 * hooks run on another thread; in-thread ones run inside a request); they
 * reach the rest of the chain through next only.
 *
 * Memory rule for hooks: strings and bytes a hook puts in its result must stay
 * valid until the whole resolve or load request finishes; hl_module_chain_alloc()
 * and hl_module_chain_strdup() give memory that lives exactly that long.
 */
#ifndef HOOKLOOP_MODULE_H
#define HOOKLOOP_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "loop.h"
#include "promise.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_module_s hl_module_t;

/* ---- native plugins -----------------------------------------------------------
 * A plugin is a shared object that
 *   - states the module ABI it was built for with HL_MODULE_ABI_DECLARE (at
 *     file scope, once); a plugin without it, or built for another ABI, is
 *     refused with HL_EABIVERSION;
 *   - exports   int hl_module_init(hl_module_t *m)   which publishes named
 *     pointers with hl_module_export() and returns 0, or a negative code that
 *     fails the load (the module is then not cached and the object closed).
 * Plugins call hookloop functions (hl_module_export...) that the host resolves:
 * link the host against libhookloop.so, or with -rdynamic (CMake
 * ENABLE_EXPORTS) when it links libhookloop.a. Build plugins with
 * `cc -shared -fPIC`. */
#define HL_MODULE_ABI_VERSION 1u
#define HL_MODULE_ABI_DECLARE                                                                      \
  __attribute__((visibility("default"))) const uint32_t hl_module_abi = HL_MODULE_ABI_VERSION
typedef int (*hl_module_init_fn)(hl_module_t *m);

/* Publish `ptr` under `name` (copied). Re-exporting a name replaces it. Call
 * from hl_module_init (or later, on the loop thread). 0, HL_EINVAL (NULL m or
 * name), HL_ENOMEM. */
int hl_module_export(hl_module_t *m, const char *name, void *ptr);

/* The pointer exported under `name`, or NULL (NULL m/name, or not exported). */
void *hl_module_get(const hl_module_t *m, const char *name);

/* ---- inspection ---------------------------------------------------------------- */
const char *hl_module_url(const hl_module_t *m);        /* resolved URL; NULL for NULL */
const char *hl_module_format(const hl_module_t *m);     /* "native", "json"...; NULL for NULL */
const char *hl_module_attributes(const hl_module_t *m); /* as cached; may be NULL */
/* The source bytes of a json/text/binary module (NUL-terminated one past
 * *length for convenience); NULL for native modules. `length` may be NULL. */
const void *hl_module_source(const hl_module_t *m, size_t *length);
hl_loop_t *hl_module_loop(const hl_module_t *m);

/* ---- loading ------------------------------------------------------------------ */

/* Resolve, load and (for native) initialize `specifier` synchronously, on the
 * loop thread, outside any hookloop callback or inside one. `parent_url` is the
 * importing module's URL (NULL: the current directory). On success *out is the
 * cached module (owned by the loop, valid until hl_loop_close). A cycle (a
 * plugin's init requiring itself, directly or not) returns the module being
 * initialized, as CommonJS does (if that initialization then fails, the
 * module is removed and the pointer handed out becomes invalid). Returns 0; HL_EINVAL (NULL loop,
 * specifier or out; *out is set to NULL on every failure); HL_EMODULENOTFOUND;
 * HL_ELOADERCHAININCOMPLETE; HL_EINVALIDRETURN; HL_EUNKNOWNFORMAT;
 * HL_EABIVERSION; HL_EBADMODULE; HL_ENOTSUP; HL_ENOMEM; an error a hook or a
 * plugin's init returned. The message for the last failure is
 * hl_module_last_error(). */
int hl_require(hl_loop_t *loop, const char *specifier, const char *parent_url, hl_module_t **out);

/* Same with import attributes (part of the cache key; passed to hooks). */
int hl_require_with(hl_loop_t *loop, const char *specifier, const char *parent_url,
                    const char *attributes, hl_module_t **out);

/* The message of the last failed hl_require / hl_module_register on this loop
 * ("" if none failed yet); valid until the next require or register on the
 * loop. NULL for a NULL loop. */
const char *hl_module_last_error(const hl_loop_t *loop);

/* Import callback: status 0 and the module, or a negative code, NULL and an
 * error whose message says what failed (borrowed for the call). It runs in the
 * execution context of a "MODULEREQ" async resource created by hl_import
 * (triggered by the caller's execution id, carrying its async-local storage),
 * never synchronously inside hl_import. */
typedef void (*hl_import_cb)(int status, hl_module_t *m, const hl_error_t *err, void *arg);

/* Import asynchronously. When neither chain has off-thread hooks, the work
 * runs on the loop thread before hl_import returns and only the callback is
 * deferred; with off-thread hooks (and no in-thread hooks in that chain) the
 * resolve and load steps run on the hooks thread. Concurrent imports of one
 * (url, attributes) load it once and all get the same module. The pending
 * import keeps the loop alive. Returns 0 (cb will be called exactly once),
 * HL_EINVAL (NULL loop, specifier or cb), HL_ENOMEM (cb will not be called). */
int hl_import(hl_loop_t *loop, const char *specifier, const char *parent_url, hl_import_cb cb,
              void *arg);
int hl_import_with(hl_loop_t *loop, const char *specifier, const char *parent_url,
                   const char *attributes, hl_import_cb cb, void *arg);

/* Import as a promise: fulfilled with the hl_module_t * (no destructor: the
 * loop owns the module), or rejected with an hl_error_t (hl_promise_error()
 * gives code and message). The promise follows promise.h's lifetime rules.
 * 0, HL_EINVAL, HL_ENOMEM. */
int hl_import_promise(hl_loop_t *loop, const char *specifier, const char *parent_url,
                      hl_promise_t **out);

/* Add a directory searched for bare specifiers after HL_MODULE_PATH (in the
 * order added). 0, HL_EINVAL (NULL or empty dir), HL_ENOMEM. */
int hl_module_add_path(hl_loop_t *loop, const char *dir);

/* Number of modules in the loop's cache; negative error for a bad loop. */
int hl_module_cache_size(const hl_loop_t *loop);

/* ---- hooks -------------------------------------------------------------------- */

/* What resolve hooks see. Fields may be NULL. `conditions` is a NULL-ended
 * list ({"hookloop", "require"} or {"hookloop", "import"} by default). */
typedef struct hl_module_resolve_context_s {
  const char *const *conditions;
  const char *parent_url;
  const char *attributes;
} hl_module_resolve_context_t;

/* What a resolve hook returns: url (required, "scheme:..."), an optional format
 * hint and attributes, and short_circuit to end the chain without next(). */
typedef struct hl_module_resolve_result_s {
  const char *url;
  const char *format;
  const char *attributes;
  int short_circuit;
} hl_module_resolve_result_t;

/* What load hooks see: `format` is the resolve step's hint (may be NULL). */
typedef struct hl_module_load_context_s {
  const char *const *conditions;
  const char *format;
  const char *attributes;
} hl_module_load_context_t;

/* What a load hook returns: format (required) and source bytes with length.
 * source may be NULL only for "native" with a file: URL (then the file is
 * dlopen()ed); native bytes are loaded from memory (memfd_create + dlopen of
 * the descriptor) without touching the file system. */
typedef struct hl_module_load_result_s {
  const char *format;
  const void *source;
  size_t length;
  int short_circuit;
} hl_module_load_result_t;

/* The rest of the chain, handed to each hook. */
typedef struct hl_module_chain_s hl_module_chain_t;

/* A hook returns 0 with *out filled, or a negative code (use
 * hl_module_chain_fail() to give it a message; an error returned by next is
 * passed on with its message). *out is zeroed before the call. A hook must
 * either call next or set short_circuit (else HL_ELOADERCHAININCOMPLETE). */
typedef int (*hl_module_resolve_fn)(const char *specifier, const hl_module_resolve_context_t *ctx,
                                    hl_module_chain_t *next, void *arg,
                                    hl_module_resolve_result_t *out);
typedef int (*hl_module_load_fn)(const char *url, const hl_module_load_context_t *ctx,
                                 hl_module_chain_t *next, void *arg, hl_module_load_result_t *out);

/* Call the next hook (or the default). `specifier` / `url` is required (the
 * hook may change it: aliases); `ctx` may be NULL (the original), and its
 * non-NULL fields are merged over the original context. Returns 0 with *out
 * filled (strings valid until the request ends) or the error of the rest of
 * the chain; HL_EINVAL naming the argument for a NULL specifier/url, a url
 * that is not a URL string, a NULL out, or a resolve chain's next used for a
 * load (and conversely). */
int hl_module_next_resolve(hl_module_chain_t *next, const char *specifier,
                           const hl_module_resolve_context_t *ctx, hl_module_resolve_result_t *out);
int hl_module_next_load(hl_module_chain_t *next, const char *url,
                        const hl_module_load_context_t *ctx, hl_module_load_result_t *out);

/* Memory that lives until the request ends (NULL on OOM or NULL chain). */
void *hl_module_chain_alloc(hl_module_chain_t *next, size_t size);
char *hl_module_chain_strdup(hl_module_chain_t *next, const char *s);

/* Fail with a message: records "code + message" for the request and returns
 * `code` (HL_EINVAL if code >= 0), so a hook can `return hl_module_chain_fail(...)`. */
int hl_module_chain_fail(hl_module_chain_t *next, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* In-thread hooks (Node's registerHooks). `name` identifies them in error
 * messages (NULL: "hooks#<n>"). Either function may be NULL. */
typedef struct hl_module_hooks_s {
  const char *name;
  hl_module_resolve_fn resolve;
  hl_module_load_fn load;
} hl_module_hooks_t;

typedef struct hl_module_hooks_handle_s hl_module_hooks_handle_t;

/* Add hooks (copied) at the head of the in-thread chains; `arg` is passed to
 * them. *handle (may be NULL if never deregistered) removes them. Requests
 * already running keep the chain they started with. 0, HL_EINVAL (NULL loop or
 * hooks, or both functions NULL), HL_ENOMEM. Call on the loop thread. */
int hl_module_register_hooks(hl_loop_t *loop, const hl_module_hooks_t *hooks, void *arg,
                             hl_module_hooks_handle_t **handle);

/* Remove the hooks from the chains (requests already running keep them).
 * 0, HL_EINVAL (NULL or already removed). The handle's memory is released by
 * hl_loop_close, deregistered or not. */
int hl_module_hooks_deregister(hl_module_hooks_handle_t *handle);

/* Off-thread hooks (Node's module.register). `hooks_specifier` is resolved and
 * loaded through the hooks registered so far (so a hook may serve the hooks
 * object from memory), as format "native"; the object's exports (exact names)
 *
 *   int hl_hooks_initialize(const void *data, size_t len);
 *   int hl_hooks_resolve(const char *specifier, const hl_module_resolve_context_t *ctx,
 *                        hl_module_chain_t *next, void *arg, hl_module_resolve_result_t *out);
 *   int hl_hooks_load(const char *url, const hl_module_load_context_t *ctx,
 *                     hl_module_chain_t *next, void *arg, hl_module_load_result_t *out);
 *
 * are added at the head of the off-thread chains (arg is NULL), after
 * hl_hooks_initialize has run on the hooks thread with a copy of `data`
 * (len bytes; data may be NULL when len is 0). The object must declare
 * HL_MODULE_ABI_DECLARE. Blocks until initialize returns; its non-zero return
 * fails the registration (nothing added). Registering one object twice adds
 * its hooks twice (one loaded copy). Returns 0, HL_EINVAL, the resolve/load
 * errors of hl_require, HL_EABIVERSION, HL_EBADMODULE, HL_ENOMEM, or
 * initialize's code; hl_module_last_error() has the message. */
int hl_module_register(hl_loop_t *loop, const char *hooks_specifier, const char *parent_url,
                       const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
