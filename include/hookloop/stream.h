/* hookloop/stream.h - TCP and pipe (unix domain socket) streams as async
 * resources, over libuv's uv_tcp_t / uv_pipe_t.
 *
 * hl_tcp_t and hl_pipe_t are caller-allocated, `void *data` first, and share
 * one layout with hl_stream_t: cast either to (hl_stream_t *) (HL_STREAM()) for
 * the functions common to both (listen, accept, read, write, shutdown, close).
 * The memory stays the caller's; it must not be freed or reused before the
 * close callback has run.
 *
 * Async resources, as Node's:
 *   TCPSERVERWRAP / PIPESERVERWRAP  a handle that listens (type decided at
 *                                   hl_listen);
 *   TCPWRAP / PIPEWRAP              a socket (decided at connect, accept or
 *                                   hl_pipe_open); an accepted socket is
 *                                   triggered by its server;
 *   TCPCONNECTWRAP / PIPECONNECTWRAP the connect request, triggered by its socket;
 *   GETADDRINFOREQWRAP              the name lookup of hl_tcp_connect() with a
 *                                   host name, triggered by its socket;
 *   WRITEWRAP / SHUTDOWNWRAP        write and shutdown requests, triggered by
 *                                   their stream.
 * A stream's init is emitted when its type is decided, and the stream captures
 * the async-local storage current at that moment (so a store entered in a
 * connection callback before hl_accept() is the accepted socket's store). A
 * request captures the storage current when it is made. Callbacks run in
 * their resource's context: the connection callback in the server's, read and
 * close callbacks in the socket's, a write/shutdown/connect callback in its
 * request's. A handle never given a type (init then close) is no resource: its
 * close callback runs at top level and hooks see nothing.
 *
 * Every open handle counts as a live resource: hl_loop_close() returns
 * UV_EBUSY until its close callback has run. Requests (write, shutdown,
 * connect, lookup) come from per-loop pools: no allocation per write once warm.
 * Read buffers come from the caller's alloc callback or from the loop's buffer
 * pool (64 KiB blocks, no allocation per read).
 *
 * Everything here may be called from inside any callback of the same loop.
 */
#ifndef HOOKLOOP_STREAM_H
#define HOOKLOOP_STREAM_H

#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr; /* for applications built without POSIX feature macros */

typedef struct hl_stream_s hl_stream_t;
typedef struct hl_tcp_s hl_tcp_t;
typedef struct hl_pipe_s hl_pipe_t;

/* Fill *buf with memory to read into (buf->base NULL or len 0: the read callback
 * gets UV_ENOBUFS). Called by libuv just before each read callback, outside any
 * execution-context switch: it must not schedule async work. */
typedef void (*hl_alloc_cb)(hl_stream_t *stream, size_t suggested, uv_buf_t *buf);
/* nread > 0: bytes read into buf->base; < 0: UV_EOF or an error (stop reading
 * or close). nread == 0 (nothing to read) reaches the callback only when an
 * alloc callback was given, so that it can release the buffer. */
typedef void (*hl_read_cb)(hl_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
/* status 0, or an error (UV_ECANCELED when the stream closed first). */
typedef void (*hl_write_cb)(hl_stream_t *stream, int status, void *arg);
typedef void (*hl_shutdown_cb)(hl_stream_t *stream, int status, void *arg);
typedef void (*hl_connect_cb)(hl_stream_t *stream, int status);
/* A connection is waiting: call hl_accept() (status 0); or an accept error.
 * Out of descriptors (EMFILE), libuv itself accepts and closes the pending
 * connections with a descriptor it keeps in reserve, and reports UV_EMFILE
 * only when it cannot; the server keeps listening and accepts again once
 * descriptors free up. Runs in the server's context. */
typedef void (*hl_connection_cb)(hl_stream_t *server, int status);
typedef void (*hl_close_cb)(hl_stream_t *stream);

/* Private fields, shared by the three types; read only `data`. */
#define HL__STREAM_FIELDS                                                                          \
  void *data; /* for the application */                                                            \
  struct hl__loop_s *loop;                                                                         \
  hl__async_t async;                                                                               \
  hl_alloc_cb alloc_cb;                                                                            \
  hl_read_cb read_cb;                                                                              \
  hl_connection_cb connection_cb;                                                                  \
  hl_connect_cb connect_cb;                                                                        \
  hl_close_cb close_cb;                                                                            \
  struct hl__lookup_s *lookup;                                                                     \
  uint32_t magic;                                                                                  \
  uint8_t kind, role, state, deferred_close;                                                       \
  union {                                                                                          \
    uv_handle_t handle;                                                                            \
    uv_stream_t stream;                                                                            \
    uv_tcp_t tcp;                                                                                  \
    uv_pipe_t pipe;                                                                                \
  } uv;

struct hl_stream_s {
  HL__STREAM_FIELDS
};
struct hl_tcp_s {
  HL__STREAM_FIELDS
};
struct hl_pipe_s {
  HL__STREAM_FIELDS
};

#define HL_STREAM(x) ((hl_stream_t *)(x))

/* ---- TCP ------------------------------------------------------------------ */

/* Initialize a TCP handle (no socket yet, no resource yet). Returns 0; HL_EINVAL
 * (NULL); HL_ENOMEM; a libuv error. */
int hl_tcp_init(hl_loop_t *loop, hl_tcp_t *tcp);

/* Bind to `addr` (sockaddr_in or sockaddr_in6; port 0: the kernel picks).
 * flags: UV_TCP_IPV6ONLY or 0. Returns 0, HL_EINVAL, HL_ECLOSED, a libuv
 * error (EADDRINUSE may only show at hl_listen, as in libuv). */
int hl_tcp_bind(hl_tcp_t *tcp, const struct sockaddr *addr, unsigned flags);

/* Connect to host:port. `host` is an IPv4/IPv6 literal (connects at once) or a
 * name: a GETADDRINFOREQWRAP lookup runs first (an IPv4 result is preferred,
 * as Node's ipv4first order), its callback runs in the lookup's context and
 * issues the connect; a failed lookup calls `cb` there with the (UV_EAI_*)
 * status. port 1..65535. The handle becomes a TCPWRAP. cb runs in the
 * TCPCONNECTWRAP's context. Returns 0; HL_EINVAL; HL_ECLOSED; HL_ENOMEM; a
 * libuv error (e.g. UV_EISCONN, UV_EALREADY). */
int hl_tcp_connect(hl_tcp_t *tcp, const char *host, int port, hl_connect_cb cb);

/* Connect to an address (sockaddr_in/_in6). Same returns. */
int hl_tcp_connect_addr(hl_tcp_t *tcp, const struct sockaddr *addr, hl_connect_cb cb);

/* TCP_NODELAY on/off; keep-alive on/off with the initial delay in seconds
 * (>= 1 when enabling). 0, HL_EINVAL, HL_ECLOSED, libuv errors. */
int hl_tcp_nodelay(hl_tcp_t *tcp, int enable);
int hl_tcp_keepalive(hl_tcp_t *tcp, int enable, unsigned delay);

/* Local / peer address into *addr (*len: its size in, the used size out).
 * 0, HL_EINVAL, HL_ECLOSED, libuv errors (UV_ENOTCONN...). */
int hl_tcp_sockname(const hl_tcp_t *tcp, struct sockaddr *addr, int *len);
int hl_tcp_peername(const hl_tcp_t *tcp, struct sockaddr *addr, int *len);

/* The local port of a bound TCP handle (handy after binding port 0), or a
 * negative error. */
int hl_tcp_port(const hl_tcp_t *tcp);

/* ---- pipes (unix domain sockets) ------------------------------------------ */

/* Initialize a pipe handle. Returns 0, HL_EINVAL, libuv errors. */
int hl_pipe_init(hl_loop_t *loop, hl_pipe_t *pipe);

/* Bind to a socket path (the file must not exist; it is not removed on
 * close). 0, HL_EINVAL (NULL/empty), UV_ENAMETOOLONG, HL_ECLOSED, libuv errors. */
int hl_pipe_bind(hl_pipe_t *pipe, const char *path);

/* Connect to a socket path: PIPEWRAP + PIPECONNECTWRAP; errors (UV_ENOENT,
 * UV_ECONNREFUSED) reach cb. Returns 0, HL_EINVAL, UV_ENAMETOOLONG,
 * HL_ECLOSED, HL_ENOMEM, UV_EALREADY. */
int hl_pipe_connect(hl_pipe_t *pipe, const char *path, hl_connect_cb cb);

/* Adopt an open descriptor (a pipe or a socket): the handle becomes a PIPEWRAP
 * at once. On success the fd belongs to the handle. 0, HL_EINVAL, HL_ECLOSED,
 * libuv errors. */
int hl_pipe_open(hl_pipe_t *pipe, int fd);

/* Local / peer path into buf (*len: size in, length out, not counting the NUL
 * written after it). 0, HL_EINVAL, HL_ECLOSED, UV_ENOBUFS, libuv errors. */
int hl_pipe_sockname(const hl_pipe_t *pipe, char *buf, size_t *len);
int hl_pipe_peername(const hl_pipe_t *pipe, char *buf, size_t *len);

/* ---- both ----------------------------------------------------------------- */

/* Listen; the handle becomes a TCPSERVERWRAP / PIPESERVERWRAP. backlog >= 1.
 * Returns 0, HL_EINVAL, HL_ECLOSED, HL_ESTATE (already a socket), libuv errors
 * (UV_EADDRINUSE). */
int hl_listen(hl_stream_t *server, int backlog, hl_connection_cb cb);

/* Accept a waiting connection into `client`, an initialized handle of the same
 * kind with no type yet; call it inside the connection callback. The client
 * becomes a TCPWRAP / PIPEWRAP triggered by the server. 0, HL_EINVAL (NULL,
 * kinds differ, other loop), HL_ECLOSED, HL_ESTATE (client already typed, or
 * server not listening), libuv errors (UV_EAGAIN: nothing waiting). */
int hl_accept(hl_stream_t *server, hl_stream_t *client);

/* Start reading. alloc_cb NULL: buffers from the loop's pool, valid until the
 * read callback returns unless kept with hl_buf_keep(). Returns 0, HL_EINVAL,
 * HL_ECLOSED, UV_ENOTCONN (not a connected socket), HL_ENOMEM. Calling it
 * again replaces the callbacks. */
int hl_read_start(hl_stream_t *stream, hl_alloc_cb alloc_cb, hl_read_cb read_cb);

/* Stop reading (no-op if not reading). 0, HL_EINVAL, HL_ECLOSED. */
int hl_read_stop(hl_stream_t *stream);

/* Inside a read callback of a pool-reading stream: keep the pool buffer `buf`
 * (e.g. to write it back without a copy); it stays valid until
 * hl_buf_release(). Buffers still kept at hl_loop_close() are freed there.
 * 0; HL_EINVAL (not the pool buffer of the running read). */
int hl_buf_keep(hl_stream_t *stream, const uv_buf_t *buf);
int hl_buf_release(hl_loop_t *loop, void *base); /* 0, HL_EINVAL */

/* Write nbufs buffers (1..1024) in order; they must stay valid until cb runs
 * (cb may be NULL: no callback, the request still is a WRITEWRAP). Returns 0
 * (cb will run exactly once), HL_EINVAL, HL_ECLOSED (closing or closed),
 * UV_ENOTCONN, HL_ENOMEM, libuv errors (UV_EPIPE...); on error cb never runs. */
int hl_write(hl_stream_t *stream, const uv_buf_t bufs[], unsigned nbufs, hl_write_cb cb, void *arg);

/* Write what can be written now, without queueing (Node's synchronous write
 * path): returns the bytes written (> 0), or UV_EAGAIN (nothing could be
 * written, or writes are queued), HL_EINVAL, HL_ECLOSED, UV_ENOTCONN, UV_EPIPE,
 * other libuv errors. Creates no resource. */
int hl_try_write(hl_stream_t *stream, const uv_buf_t bufs[], unsigned nbufs);

/* Half-close after queued writes: a SHUTDOWNWRAP whose cb runs once. 0,
 * HL_EINVAL, HL_ECLOSED, UV_ENOTCONN, HL_ENOMEM, libuv errors. */
int hl_shutdown(hl_stream_t *stream, hl_shutdown_cb cb, void *arg);

/* Close. Pending writes/shutdown/connect complete with UV_ECANCELED first,
 * then close_cb (may be NULL) runs in the stream's context; after it the
 * memory is the caller's again. Returns 0, HL_EINVAL, HL_ECLOSED (already
 * closing or closed: the first close stands, its callback runs once). */
int hl_close(hl_stream_t *stream, hl_close_cb close_cb);

/* Bytes queued for writing (back-pressure); 0 for a bad/closed stream. */
size_t hl_stream_write_queue_size(const hl_stream_t *stream);

/* The stream's async id; -1 when NULL or not yet typed. */
hl_async_id_t hl_stream_async_id(const hl_stream_t *stream);

/* 1 when closing or closed (or NULL/uninitialized), else 0. */
int hl_stream_is_closing(const hl_stream_t *stream);

#ifdef __cplusplus
}
#endif
#endif
