/* hookloop/fs.h - asynchronous file-system requests over libuv's uv_fs_*, each
 * an async resource of Node's type "FSREQCALLBACK".
 *
 * Every call queues one request on libuv's thread pool and returns at once;
 * its callback runs later on the loop thread, inside the request's execution
 * context: hl_execution_async_id() is the request's id, before/after hooks
 * bracket the callback, and the async-local storage active when the request
 * was made is the one the callback sees. A request is triggered by the
 * execution id (or default-trigger scope) of its caller, so a request made in
 * another request's callback is triggered by that request. Each request sees
 * exactly one before/after pair; its destroy follows the callback.
 *
 * Requests are owned by the library and pooled per loop (no allocation per
 * request once warm; libuv copies the path with its own allocator). While a
 * request is in flight the loop is busy: hl_loop_close() returns UV_EBUSY.
 *
 * Results follow libuv: a callback's `result` is >= 0 on success (a file
 * descriptor for open, a byte count for read/write, 0 otherwise) or a negative
 * UV_E* code (UV_ENOENT ...). Errors the library can see before queueing
 * (NULL loop/path/callback, bad flags, mode or descriptor) are returned at
 * once as HL_EINVAL, and then no callback runs; HL_ENOMEM likewise. Whenever a
 * call returns 0, its callback runs exactly once.
 *
 * No synchronous variants: for blocking calls use libuv's uv_fs_* with a NULL
 * callback on hl_loop_uv(loop) (they are not async resources in Node either).
 *
 * All functions must be called on the loop's thread (never from a work
 * callback on a pool thread, see work.h).
 */
#ifndef HOOKLOOP_FS_H
#define HOOKLOOP_FS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A file descriptor as libuv's uv_fs_open returns it. */
typedef uv_file hl_file_t;

/* File status: libuv's own struct (Node's fs.Stats is built from the same
 * fields): st_mode, st_size, st_mtim ... */
typedef uv_stat_t hl_stat_t;

/* A directory entry: `name` (valid until the next hl_fs_dir_next() or the end
 * of the readdir callback) and `type` (UV_DIRENT_FILE, UV_DIRENT_DIR, ...). */
typedef uv_dirent_t hl_dirent_t;

/* The entries a readdir callback gets (see hl_fs_dir_next()). */
typedef struct hl_fs_dir_s hl_fs_dir_t;

/* Callback of most requests: `result` as described above. */
typedef void (*hl_fs_cb)(int64_t result, void *arg);

/* stat/fstat/lstat: status 0 and `st` (valid during the callback only), or a
 * negative code and st == NULL. */
typedef void (*hl_fs_stat_cb)(int status, const hl_stat_t *st, void *arg);

/* readdir: `status` is the number of entries (>= 0) and `dir` iterates them
 * during the callback only; or a negative code and dir == NULL. */
typedef void (*hl_fs_readdir_cb)(int status, hl_fs_dir_t *dir, void *arg);

/* hl_fs_read_file: status 0, the whole file in `data` (`len` bytes, followed
 * by a NUL byte not counted in len) or a negative code with data == NULL and
 * len == 0. The callback owns `data` and frees it with hl_fs_free(). */
typedef void (*hl_fs_read_file_cb)(int status, char *data, size_t len, void *arg);

/* hl_fs_write_file: 0 or a negative code. */
typedef void (*hl_fs_write_file_cb)(int status, void *arg);

/* Open `path` (copied) with `flags`, a combination of libuv's UV_FS_O_*
 * constants (UV_FS_O_RDONLY, UV_FS_O_WRONLY | UV_FS_O_CREAT ...), and `mode`
 * (0..07777, used when creating). cb gets the descriptor or an error.
 * HL_EINVAL for NULL loop/path/cb, an unknown flag bit, an access mode that
 * is none of RDONLY/WRONLY/RDWR, or a mode outside 0..07777. */
int hl_fs_open(hl_loop_t *loop, const char *path, int flags, int mode, hl_fs_cb cb, void *arg);

/* Close `file` (>= 0, else HL_EINVAL). cb gets 0 or an error. */
int hl_fs_close(hl_loop_t *loop, hl_file_t file, hl_fs_cb cb, void *arg);

/* Read up to `len` bytes of `file` into `buf` at `offset` (>= 0), or at and
 * advancing the file position when offset is -1. `buf` (non-NULL) is the
 * caller's and must stay valid until cb has run. cb gets the number of bytes
 * read (0 at end of file) or an error. HL_EINVAL for file < 0, offset < -1,
 * NULL buf, or len > INT32_MAX. */
int hl_fs_read(hl_loop_t *loop, hl_file_t file, void *buf, size_t len, int64_t offset, hl_fs_cb cb,
               void *arg);

/* Write `len` bytes of `buf` to `file`; same rules as hl_fs_read(). cb gets
 * the number of bytes written (which may be short) or an error. */
int hl_fs_write(hl_loop_t *loop, hl_file_t file, const void *buf, size_t len, int64_t offset,
                hl_fs_cb cb, void *arg);

/* Status of `path` (stat follows symlinks, lstat does not) or of `file`. */
int hl_fs_stat(hl_loop_t *loop, const char *path, hl_fs_stat_cb cb, void *arg);
int hl_fs_lstat(hl_loop_t *loop, const char *path, hl_fs_stat_cb cb, void *arg);
int hl_fs_fstat(hl_loop_t *loop, hl_file_t file, hl_fs_stat_cb cb, void *arg);

/* rename(2), unlink(2), mkdir(2) (mode 0..07777), rmdir(2), fsync(2): cb gets
 * 0 or an error. Paths are copied. */
int hl_fs_rename(hl_loop_t *loop, const char *from, const char *to, hl_fs_cb cb, void *arg);
int hl_fs_unlink(hl_loop_t *loop, const char *path, hl_fs_cb cb, void *arg);
int hl_fs_mkdir(hl_loop_t *loop, const char *path, int mode, hl_fs_cb cb, void *arg);
int hl_fs_rmdir(hl_loop_t *loop, const char *path, hl_fs_cb cb, void *arg);
int hl_fs_fsync(hl_loop_t *loop, hl_file_t file, hl_fs_cb cb, void *arg);

/* List the directory `path`: one request (libuv's uv_fs_scandir, as Node's
 * fs.readdir), entries sorted by name, without "." and "..". */
int hl_fs_readdir(hl_loop_t *loop, const char *path, hl_fs_readdir_cb cb, void *arg);

/* Inside a readdir callback: the next entry into *ent. Returns 0, UV_EOF after
 * the last one, HL_EINVAL for NULL arguments, HL_ESTATE once the callback has
 * returned. */
int hl_fs_dir_next(hl_fs_dir_t *dir, hl_dirent_t *ent);

/* Read the whole file `path`, as Node's fs.readFile: a chain of requests, open
 * -> fstat -> read (one per 512 KiB, or until end of file when the size is
 * unknown) -> close, each triggered by the one before it and the first by the
 * caller's execution id. cb runs inside the last request's callback (the
 * close, or the open when opening failed), and gets the data (owned by the
 * callback: hl_fs_free() it) or the first error (a read or fstat error still
 * closes the file first). Files larger than 2 GiB - 1 fail with UV_EFBIG.
 * Returns 0, HL_EINVAL (NULL loop/path/cb) or HL_ENOMEM at once. */
int hl_fs_read_file(hl_loop_t *loop, const char *path, hl_fs_read_file_cb cb, void *arg);

/* Free a buffer hl_fs_read_file() gave (library allocator). NULL is ignored. */
void hl_fs_free(void *data);

/* Write `len` bytes of `data` to `path`, as Node's fs.writeFile: open with
 * `flags` and `mode` -> write (repeated until all is written) -> close, a chain
 * as hl_fs_read_file(). `flags` as hl_fs_open() and must ask for write access
 * (typically UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC; add
 * UV_FS_O_APPEND to append). `data` is not copied: it must stay valid until cb
 * runs. cb gets 0 or the first error (a write error still closes the file).
 * HL_EINVAL for NULL loop/path/cb, NULL data with len > 0, bad flags/mode. */
int hl_fs_write_file(hl_loop_t *loop, const char *path, const void *data, size_t len, int flags,
                     int mode, hl_fs_write_file_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif
