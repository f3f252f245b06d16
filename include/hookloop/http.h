/* hookloop/http.h - an HTTP/1.1 server (parsing by llhttp) with the lifecycle
 * events of the npm package http-hooks and per-request async resources.
 *
 * Async resources (async hooks see them like Node's):
 *   TCPSERVERWRAP (PIPESERVERWRAP on a unix socket)  the listening server,
 *                  created by hl_http_server_listen*();
 *   TCPWRAP (PIPEWRAP)  each accepted connection, triggered by the server;
 *                  its reads, writes and timers run in its context;
 *   HTTPINCOMINGMESSAGE  each request, triggered by its connection. The
 *                  request callback, the body callbacks, the close and finish
 *                  callbacks run in the request's execution context. A store
 *                  set with hl_als_enter_with() inside one of those callbacks
 *                  stays the request's store for its later callbacks, and is
 *                  never seen by another request (pipelined or not).
 *
 * Objects: hl_http_server_t is caller-allocated. hl_http_req_t / hl_http_res_t
 * (one pair per request) and hl_http_conn_t are owned by the server: valid from
 * the request callback until the request's close callback has returned (or,
 * without one, until the response is finished and the body fully read). All
 * functions must be called on the loop's thread.
 *
 * Strings returned by request accessors are NUL-terminated and valid as long as
 * the request.
 */
#ifndef HOOKLOOP_HTTP_H
#define HOOKLOOP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_http_server_s hl_http_server_t;
typedef struct hl_http_conn_s hl_http_conn_t;
typedef struct hl_http_req_s hl_http_req_t;
typedef struct hl_http_res_s hl_http_res_t;

/* ---- limits ------------------------------------------------------------------ */

typedef struct hl_http_limits_s {
  uint32_t max_header_bytes;      /* request line + headers; above: 431. 16384 */
  uint32_t max_headers;           /* header lines; above: 431. 100 */
  uint64_t max_body_bytes;        /* above: 413 and close. 8 MiB; UINT64_MAX: none */
  uint32_t headers_timeout_ms;    /* first byte to end of headers; 408 and close. 60000 */
  uint32_t request_timeout_ms;    /* first byte to end of body; 408 and close. 300000 */
  uint32_t keep_alive_timeout_ms; /* idle connection closed after it. 5000 */
  uint32_t max_connections;       /* at this count accepting pauses. 10000 */
  uint32_t max_pipelined;         /* requests parsed ahead of their responses. 64 */
} hl_http_limits_t;

/* Fill `limits` with the defaults above. HL_EINVAL for NULL. A zero timeout
 * means "no timeout"; zero for any other field means its default. */
int hl_http_limits_default(hl_http_limits_t *limits);

/* ---- server ------------------------------------------------------------------ */

typedef void (*hl_http_request_cb)(hl_http_server_t *server, hl_http_req_t *req,
                                   hl_http_res_t *res);
typedef void (*hl_http_server_close_cb)(hl_http_server_t *server);

struct hl_http_server_s {
  void *data; /* for the application */
  /* private */
  struct hl__http_server_s *impl;
};

/* Initialize a server on `loop` calling `on_request` for every request (in the
 * request's context, after the http-hooks REQUEST listeners). `limits` is
 * copied (NULL: defaults). Emits the http-hooks SERVER event. Returns 0,
 * HL_EINVAL, HL_ENOMEM. Close it with hl_http_server_close() (also when it
 * never listened). Like Node, sets SIGPIPE to ignored if it was at its default
 * (a client that goes away must not end the process). */
int hl_http_server_init(hl_loop_t *loop, hl_http_server_t *server, hl_http_request_cb on_request,
                        const hl_http_limits_t *limits);

/* Listen on TCP `host` (IPv4 or IPv6 literal) and `port` (0: the kernel picks
 * one, see hl_http_server_port()), with `backlog` (<= 0: 511). Creates the
 * TCPSERVERWRAP resource. Returns 0, HL_EINVAL, HL_ESTATE (already listening
 * or closing), or a libuv error (UV_EADDRINUSE ...). */
int hl_http_server_listen(hl_http_server_t *server, const char *host, int port, int backlog);

/* Listen on a unix socket at `path` (PIPESERVERWRAP). Same returns. */
int hl_http_server_listen_unix(hl_http_server_t *server, const char *path, int backlog);

/* The bound TCP port, or a negative error (HL_EINVAL, HL_ESTATE when not
 * listening on TCP). */
int hl_http_server_port(const hl_http_server_t *server);

/* Open connections, or HL_EINVAL. */
int hl_http_server_connections(const hl_http_server_t *server);

/* Close gracefully: stop accepting, close idle connections, let in-flight
 * requests finish (their responses carry Connection: close), then call
 * `on_close` (may be NULL) once everything is freed. Returns 0, HL_EINVAL,
 * HL_ESTATE (already closing). The server may be reinitialized after on_close.
 * A server that never listened calls on_close before this returns. */
int hl_http_server_close(hl_http_server_t *server, hl_http_server_close_cb on_close);

/* ---- connection ------------------------------------------------------------------ */

/* The connection's async id (its TCPWRAP), or a negative error. */
hl_async_id_t hl_http_conn_async_id(const hl_http_conn_t *conn);
/* The peer address (a unix socket has none: HL_ENOTSUP). 0 or a negative error. */
int hl_http_conn_remote(const hl_http_conn_t *conn, struct sockaddr_storage *addr);
hl_http_server_t *hl_http_conn_server(const hl_http_conn_t *conn);

/* ---- request ---------------------------------------------------------------------- */

const char *hl_http_req_method(const hl_http_req_t *req); /* "GET"; NULL for NULL */
const char *hl_http_req_url(const hl_http_req_t *req);    /* raw target "/a/b?x=1" */
const char *hl_http_req_path(const hl_http_req_t *req);   /* "/a/b" */
const char *hl_http_req_query(const hl_http_req_t *req);  /* "x=1"; "" when none */
/* HTTP version: 0, HL_EINVAL. */
int hl_http_req_version(const hl_http_req_t *req, int *major, int *minor);
/* Headers in the order received, repeats kept, names as sent. The strings
 * stay valid until the request is released. Trailers of a chunked request
 * body count against the header limits and are not kept. */
size_t hl_http_req_header_count(const hl_http_req_t *req);
/* 0, or HL_EINVAL (NULL, index out of range). */
int hl_http_req_header_at(const hl_http_req_t *req, size_t i, const char **name,
                          const char **value);
/* First value of `name` (case-insensitive), NULL when absent. */
const char *hl_http_req_header(const hl_http_req_t *req, const char *name);
/* The next header named `name` at an index >= *pos (start with *pos = 0);
 * sets *pos past it. NULL when there is no more. */
const char *hl_http_req_header_next(const hl_http_req_t *req, const char *name, size_t *pos);
hl_http_conn_t *hl_http_req_conn(const hl_http_req_t *req);
/* The request's async id (its HTTPINCOMINGMESSAGE). */
hl_async_id_t hl_http_req_async_id(const hl_http_req_t *req);
/* 1 when the request carried Expect: 100-continue (HTTP/1.1). */
int hl_http_req_expects_continue(const hl_http_req_t *req);
void hl_http_req_set_data(hl_http_req_t *req, void *data);
void *hl_http_req_get_data(const hl_http_req_t *req);

/* Body callbacks, set at the latest in the request callback (body bytes that
 * arrive with no data callback are dropped). on_data gets each piece as it is
 * parsed (valid during the call only; chunked framing removed); on_end once,
 * after the last piece (also for an empty body). Either may be NULL. 0 or
 * HL_EINVAL. */
typedef void (*hl_http_data_cb)(hl_http_req_t *req, const char *data, size_t len, void *arg);
typedef void (*hl_http_end_cb)(hl_http_req_t *req, void *arg);
int hl_http_req_on_body(hl_http_req_t *req, hl_http_data_cb on_data, hl_http_end_cb on_end,
                        void *arg);

/* Back-pressure: stop parsing and reading the connection until resumed. Data
 * already read stays buffered. resume may run data callbacks before returning
 * (when called outside one). 0, HL_EINVAL. */
int hl_http_req_pause(hl_http_req_t *req);
int hl_http_req_resume(hl_http_req_t *req);

/* Called once when the request ends: `aborted` 0 when the response was
 * finished and the body read, 1 when the connection closed (client gone, a
 * timeout, a parse error) before. The request and response are freed after
 * it returns. 0, HL_EINVAL. */
typedef void (*hl_http_close_cb)(hl_http_req_t *req, int aborted, void *arg);
int hl_http_req_on_close(hl_http_req_t *req, hl_http_close_cb on_close, void *arg);

/* ---- timestamps ------------------------------------------------------------------ */

/* Monotonic nanoseconds on uv_hrtime()'s scale (read from the CPU's invariant
 * TSC where there is one, calibrated against CLOCK_MONOTONIC: within tens of
 * nanoseconds of uv_hrtime()); 0 while the point has not been reached.
 * start: when the read holding the request's first byte returned (pipelined
 * requests read together share it); headers: headers parsed; the others just
 * before/after write_head and end; finish: when the write holding the last
 * byte was handed to the kernel. Points with nothing but the server's own
 * code between them (no listener on the head and end events; a FINISH-only
 * listener does not count) may share one clock read:
 * end() without write_head reads it once for pre_write_head, post_write_head,
 * pre_end and post_end when the last chunk is under 4 KiB; with a head or end
 * listener each point is a reading of its own, taken around the listeners. */
typedef struct hl_http_times_s {
  uint64_t start, headers, pre_write_head, post_write_head, pre_end, post_end, finish;
} hl_http_times_t;
/* The timestamps of the request/response pair (the same struct from both). */
const hl_http_times_t *hl_http_req_times(const hl_http_req_t *req);
const hl_http_times_t *hl_http_res_times(const hl_http_res_t *res);
/* A monotonic timestamp as milliseconds since the Unix epoch (what http-hooks
 * reports), with the offset between the clocks measured once per process. */
double hl_http_time_epoch_ms(uint64_t mono_ns);

/* ---- response --------------------------------------------------------------------- */

hl_http_req_t *hl_http_res_req(const hl_http_res_t *res);

/* Status and reason phrase (NULL: the standard one), before the head is sent.
 * 0, HL_EINVAL (status outside 100..999, reason with CR/LF), HL_ESTATE (sent). */
int hl_http_res_status(hl_http_res_t *res, int status, const char *reason);
int hl_http_res_get_status(const hl_http_res_t *res);

/* Set a header, replacing all of that name (case-insensitive; setHeader).
 * add_header appends one more (repeats kept). The _n forms take lengths, so a
 * NUL inside is seen. Name: an HTTP token; value: no CR, LF or NUL. Returns 0,
 * HL_EINVAL (bad name or value: nothing is changed or sent), HL_ESTATE (head
 * already sent), HL_ENOMEM. Content-Length, Transfer-Encoding, Date and
 * Connection may be set; the server adds what is missing. */
int hl_http_res_set_header(hl_http_res_t *res, const char *name, const char *value);
int hl_http_res_set_header_n(hl_http_res_t *res, const char *name, size_t name_len,
                             const char *value, size_t value_len);
int hl_http_res_add_header(hl_http_res_t *res, const char *name, const char *value);
/* First value of `name`, NULL when absent. */
const char *hl_http_res_get_header(const hl_http_res_t *res, const char *name);
/* Remove every header `name`: 0, HL_ENOENT, HL_EINVAL, HL_ESTATE. */
int hl_http_res_remove_header(hl_http_res_t *res, const char *name);
size_t hl_http_res_header_count(const hl_http_res_t *res);
int hl_http_res_header_at(const hl_http_res_t *res, size_t i, const char **name,
                          const char **value);
/* 1 once the head has been written. */
int hl_http_res_headers_sent(const hl_http_res_t *res);

/* Write the status line and headers (writeHead). status 0 keeps the current
 * one. Fires pre-writeHead (whose listeners may still change headers) and
 * post-writeHead. 0, HL_EINVAL, HL_ESTATE (already sent), HL_EHTTPCLOSED. */
int hl_http_res_write_head(hl_http_res_t *res, int status, const char *reason);

/* Send `100 Continue` now (Expect: 100-continue). Without it, the server
 * sends it after the request callback returns if no head was written. */
int hl_http_res_write_continue(hl_http_res_t *res);

/* Append body bytes (copied), writing the head first if needed. Chunked
 * unless a Content-Length is set (HTTP/1.0: the connection closes at the end
 * instead). HEAD, 204 and 304 discard body bytes. 0, HL_EINVAL, HL_ESTATE
 * (ended), HL_EHTTPCLOSED (the connection is gone), HL_ENOMEM. */
int hl_http_res_write(hl_http_res_t *res, const void *data, size_t len);

/* Add a trailer (sent after the last chunk; only with chunked encoding, else
 * dropped). Same validation as headers. */
int hl_http_res_add_trailer(hl_http_res_t *res, const char *name, const char *value);

/* End the response, with an optional last chunk (NULL/0: none). Without a
 * head yet, Content-Length is set to `len`. Fires pre-end (then the implicit
 * write-head events) and post-end. Returns as hl_http_res_write(). Called
 * outside the request's own callbacks (from a timer, say), the response may be
 * written, finished and the request released (close callback run) before this
 * returns: do not touch req/res afterwards. */
int hl_http_res_end(hl_http_res_t *res, const void *data, size_t len);

/* ---- http-hooks events -------------------------------------------------------------- */

#define HL_HTTP_HOOKS_VERSION "0.1.1"
/* The http-hooks version these events follow (process.httpHooks.version). */
const char *hl_http_hooks_version(void);

enum {
  HL_HTTP_HOOK_SERVER = 1,     /* a server initialized (httpHooks:server) */
  HL_HTTP_HOOK_CONNECTION = 2, /* a connection accepted (httpHooks:connection) */
  HL_HTTP_HOOK_REQUEST = 4     /* a request, before the app's callback (httpHooks:request) */
};
typedef struct hl_http_hook_event_s {
  int kind;
  hl_http_server_t *server;
  hl_http_conn_t *conn; /* CONNECTION, REQUEST */
  hl_http_req_t *req;   /* REQUEST */
  hl_http_res_t *res;   /* REQUEST */
} hl_http_hook_event_t;
typedef void (*hl_http_hook_cb)(const hl_http_hook_event_t *ev, void *arg);

/* Subscribe cb(ev, arg) to the events in `mask` on every server of `loop`
 * (process-level in http-hooks; loop-level here). Up to 16 subscriptions per
 * thread. 0, HL_EINVAL, HL_EHTTPLISTENERS (full). hl_http_hooks_off() removes
 * one; hl_loop_close() drops those of its loop. */
int hl_http_hooks_on(hl_loop_t *loop, int mask, hl_http_hook_cb cb, void *arg);
/* Remove the subscription of (cb, arg): 0, HL_ENOENT, HL_EINVAL. */
int hl_http_hooks_off(hl_loop_t *loop, hl_http_hook_cb cb, void *arg);

enum {
  HL_HTTP_RES_PRE_WRITE_HEAD = 1,  /* httpHooks:pre:writeHead (headers may change) */
  HL_HTTP_RES_POST_WRITE_HEAD = 2, /* httpHooks:post:writeHead */
  HL_HTTP_RES_PRE_END = 4,         /* httpHooks:pre:end */
  HL_HTTP_RES_POST_END = 8,        /* httpHooks:post:end */
  HL_HTTP_RES_FINISH = 16          /* last byte handed to the kernel */
};
typedef struct hl_http_res_event_s {
  int kind;
  int status;         /* write-head events */
  const char *reason; /* write-head events */
  const void *chunk;  /* end events: the last chunk given to end() (may be NULL) */
  size_t len;
} hl_http_res_event_t;
typedef void (*hl_http_res_event_cb)(hl_http_res_t *res, const hl_http_res_event_t *ev, void *arg);

/* Subscribe to this response's events in `mask`, run synchronously inside
 * write_head/end (in the caller's context) and for FINISH in the request's
 * context. Order with an explicit write_head: pre-writeHead, post-writeHead,
 * pre-end, post-end; with end() alone: pre-end, pre-writeHead,
 * post-writeHead, post-end; then finish. Listeners run in the order they
 * were added; one added during an event is first called for the next event
 * (as Node's emit). Up to 8 per response. 0, HL_EINVAL, HL_EHTTPLISTENERS. */
int hl_http_res_on(hl_http_res_t *res, int mask, hl_http_res_event_cb cb, void *arg);

/* llhttp's version, compiled into the library ("8.1.0"). */
const char *hl_http_llhttp_version(void);

#ifdef __cplusplus
}
#endif
#endif
