/* hookloop/app.h - the application layer: a radix-tree router, an Elysia-style
 * request lifecycle whose stages hold lists of named functions, and trace.
 *
 * An hl_app_t holds routes and lifecycle functions; a transport (the HTTP
 * server, or a test's fake) hands it requests through an internal adapter
 * interface (src/app/io.h). Every request gets an hl_ctx_t and runs these
 * stages in order, each a list of named functions (app-level first, then the
 * route's own):
 *
 *   request        every request, before routing; a value answers at once
 *                  (it goes to mapResponse)
 *   parse          only when the request has a body; the first function that
 *                  returns a value sets the parsed body; the built-in parser
 *                  chosen by Content-Type (json, text, urlencoded, multipart)
 *                  runs last, as one more function
 *   transform      values are ignored
 *   beforeHandle   a value skips the handler (and the remaining functions)
 *                  and becomes the response
 *   handle         the route's handler (one function); its value is the
 *                  response
 *   afterHandle    a value replaces the response; the next function sees it
 *                  (the stage goes on, as Elysia's)
 *   mapResponse    custom mappers first; a value is what is sent; otherwise
 *                  the default mapping (text, JSON, bytes, file, stream,
 *                  status, ready response)
 *   error          on an error in any stage (or no route / wrong method):
 *                  functions read the code with hl_ctx_error(); a value is the
 *                  response; else the default: HL_ENOTFOUND 404, HL_EPARSE 400,
 *                  HL_EVALIDATION 400, HL_EMETHOD 405 (with Allow), other 500
 *   afterResponse  after the last byte was handed to the transport, or when
 *                  the client went away; values are ignored
 *
 * A function returns an hl_value_t (built with the inline constructors
 * below). hl_async(promise) makes the lifecycle wait for the promise: it is
 * fulfilled with an hl_value_t * (made with hl_ctx_value(), or NULL for
 * "no value") or rejected (code from hl_promise_error(), else HL_EINTERNAL).
 * hl_fail(code, msg) raises an error: the stage stops and the error stage runs.
 *
 * Threading: an app and its requests belong to one loop and one thread.
 */
#ifndef HOOKLOOP_APP_H
#define HOOKLOOP_APP_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"
#include "loop.h"
#include "promise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- methods and stages ---------------------------------------------------- */
enum {
  HL_GET = 1u << 0,
  HL_POST = 1u << 1,
  HL_PUT = 1u << 2,
  HL_PATCH = 1u << 3,
  HL_DELETE = 1u << 4,
  HL_HEAD = 1u << 5,
  HL_OPTIONS = 1u << 6,
  HL_OTHER = 1u << 7,   /* any method not listed above (PROPFIND, ...) */
  HL_ANY_METHOD = 0xffu /* every method */
};

typedef enum {
  HL_STAGE_REQUEST = 0,
  HL_STAGE_PARSE,
  HL_STAGE_TRANSFORM,
  HL_STAGE_BEFORE_HANDLE,
  HL_STAGE_HANDLE,
  HL_STAGE_AFTER_HANDLE,
  HL_STAGE_MAP_RESPONSE,
  HL_STAGE_ERROR,
  HL_STAGE_AFTER_RESPONSE,
  HL_STAGE_COUNT
} hl_stage_t;

/* Elysia's name of a stage ("request", "parse", "transform", "beforeHandle",
 * "handle", "afterHandle", "mapResponse", "error", "afterResponse"); NULL when
 * out of range. */
const char *hl_stage_name(hl_stage_t stage);

/* ---- values ---------------------------------------------------------------- */
typedef enum {
  HL_VALUE_NONE = 0, /* no value: the stage goes on */
  HL_VALUE_TEXT,     /* data/len: text/plain; charset=utf-8 */
  HL_VALUE_JSON,     /* ptr: a jansson json_t * (the value owns one reference) */
  HL_VALUE_BYTES,    /* data/len, ctype (NULL: application/octet-stream) */
  HL_VALUE_FILE,     /* data: a path, sent with sendfile by the transport */
  HL_VALUE_STREAM,   /* ptr: hl_stream_fn, aux: its argument */
  HL_VALUE_STATUS,   /* code: a status with an empty body */
  HL_VALUE_RESPONSE, /* ptr: a ready hl_response_t */
  HL_VALUE_PROMISE,  /* ptr: an hl_promise_t the lifecycle waits for */
  HL_VALUE_ERROR,    /* code: a negative error code, data: message or NULL */
  HL_VALUE_FORM,     /* ptr: an hl_form_t (what the form parsers produce) */
  HL_VALUE_PTR       /* ptr: anything (what custom parsers produce) */
} hl_value_kind_t;

/* A value returned by a lifecycle function. Pointed-to data is borrowed: it
 * must stay valid until the response was sent (static data, or memory from
 * the request's arena: hl_ctx_alloc(), hl_ctx_strdup(), hl_ctx_printf()). */
typedef struct hl_value_s {
  hl_value_kind_t kind;
  int code;          /* STATUS, RESPONSE: unused (see hl_response_t); ERROR: code */
  const void *data;  /* TEXT, BYTES: bytes; FILE: path; ERROR: message */
  size_t len;        /* TEXT, BYTES: length */
  void *ptr;         /* JSON, STREAM, RESPONSE, PROMISE, FORM, PTR */
  void *aux;         /* STREAM: argument */
  const char *ctype; /* BYTES, FILE: content type, or NULL for the default */
} hl_value_t;

typedef struct hl_header_s {
  const char *name;
  const char *value;
} hl_header_t;

/* A ready response: status, extra headers, and a body. Must outlive the send
 * (allocate it with hl_ctx_alloc()). The `set` headers of the context are
 * added; a header named here wins over one set there. */
typedef struct hl_response_s {
  int status;
  const char *ctype; /* NULL: no Content-Type */
  const void *body;
  size_t len;
  const hl_header_t *headers;
  size_t n_headers;
} hl_response_t;

/* Form fields (url-encoded or multipart): names and values decoded. For a
 * multipart file part, filename and ctype are set. Values are NUL-terminated
 * (len excludes the NUL). */
typedef struct hl_form_field_s {
  const char *name;
  const char *value;
  size_t len;
  const char *filename; /* NULL for a plain field */
  const char *ctype;    /* NULL if the part had no Content-Type */
} hl_form_field_t;
typedef struct hl_form_s {
  size_t n;
  hl_form_field_t *fields;
} hl_form_t;

typedef struct hl_ctx_s hl_ctx_t;
typedef struct hl_app_s hl_app_t;
typedef struct hl_route_s hl_route_t;

/* A stream body: called once after the head was written; it writes with
 * hl_ctx_stream_write() (now or later) and ends with hl_ctx_stream_end(). */
typedef void (*hl_stream_fn)(hl_ctx_t *ctx, void *arg);

static inline hl_value_t hl_none(void) {
  hl_value_t v = {HL_VALUE_NONE, 0, NULL, 0, NULL, NULL, NULL};
  return v;
}
static inline hl_value_t hl_textn(const char *s, size_t n) {
  hl_value_t v = {HL_VALUE_TEXT, 0, s, n, NULL, NULL, NULL};
  return v;
}
/* `s` NUL-terminated; NULL gives an empty text. */
static inline hl_value_t hl_text(const char *s) {
  size_t n = 0;
  if (s)
    while (s[n])
      n++;
  return hl_textn(s, n);
}
/* A jansson json_t * (declared here as struct json_t, which is jansson's
 * type); the value steals one reference, released after the request. */
struct json_t;
static inline hl_value_t hl_json(struct json_t *json) {
  hl_value_t v = {HL_VALUE_JSON, 0, NULL, 0, json, NULL, NULL};
  return v;
}
static inline hl_value_t hl_bytes(const void *p, size_t n, const char *ctype) {
  hl_value_t v = {HL_VALUE_BYTES, 0, p, n, NULL, NULL, ctype};
  return v;
}
static inline hl_value_t hl_file(const char *path, const char *ctype) {
  hl_value_t v = {HL_VALUE_FILE, 0, path, 0, NULL, NULL, ctype};
  return v;
}
static inline hl_value_t hl_stream(hl_stream_fn fn, void *arg, const char *ctype) {
  hl_value_t v = {HL_VALUE_STREAM, 0, NULL, 0, (void *)fn, arg, ctype};
  return v;
}
static inline hl_value_t hl_status(int status) {
  hl_value_t v = {HL_VALUE_STATUS, status, NULL, 0, NULL, NULL, NULL};
  return v;
}
static inline hl_value_t hl_reply(hl_response_t *res) {
  hl_value_t v = {HL_VALUE_RESPONSE, 0, NULL, 0, res, NULL, NULL};
  return v;
}
static inline hl_value_t hl_async(hl_promise_t *p) {
  hl_value_t v = {HL_VALUE_PROMISE, 0, NULL, 0, p, NULL, NULL};
  return v;
}
/* Raise `code` (negative; HL_EINTERNAL if not) with an optional static or
 * arena message. */
static inline hl_value_t hl_fail(int code, const char *msg) {
  hl_value_t v = {HL_VALUE_ERROR, code, msg, 0, NULL, NULL, NULL};
  return v;
}
static inline hl_value_t hl_ptr(void *p) {
  hl_value_t v = {HL_VALUE_PTR, 0, NULL, 0, p, NULL, NULL};
  return v;
}

/* A lifecycle function or handler. */
typedef hl_value_t (*hl_app_fn)(hl_ctx_t *ctx, void *arg);

/* ---- the app ----------------------------------------------------------------- */
/* Create an app on `loop`. Returns 0, HL_EINVAL, HL_ENOMEM. */
int hl_app_new(hl_loop_t *loop, hl_app_t **out);
/* Free the app, its routes and its request pool. HL_EBUSY (nothing freed)
 * while a request is in its lifecycle, or ended but still referenced: by a
 * promise it was waiting for when the client went away (until it settles) or
 * by a stream not yet ended with hl_ctx_stream_end(); also while it serves
 * HTTP (see hl_app_close()). Free the app once the loop ran dry. HL_EINVAL
 * for NULL. */
int hl_app_free(hl_app_t *app);
hl_loop_t *hl_app_loop(const hl_app_t *app);
/* The per-app store every context sees (hl_ctx_store()); NULL by default. */
void hl_app_set_store(hl_app_t *app, void *store);
void *hl_app_store(const hl_app_t *app);

/* Add a route for `methods` (HL_GET | ..., or HL_ANY_METHOD) on `path`:
 * static segments, parameters (`/users/:id`), optional last-or-middle
 * parameters (`/a/:b?`: registers `/a` and `/a/:b`), and a final wildcard
 * (`/files/` then `*`; its value is the param "*"). Matching: static before parametric
 * before wildcard, falling back when a more specific branch has no match.
 * Paths are case-sensitive and strict about a trailing slash. A HEAD request
 * uses the GET route when there is no HEAD route. `name` names the handler in
 * trace (NULL: "anonymous"). `out` (may be NULL) receives the route for
 * hl_route_on(). Returns 0; HL_EINVAL (bad arguments, a path not starting with
 * '/', an empty parameter name, '*' not last, more than 16 parameters or 4
 * optional segments); HL_EBUSY (a route with that method and path exists);
 * HL_ESTATE (requests are in flight); HL_ENOMEM. */
int hl_app_route(hl_app_t *app, unsigned methods, const char *path, const char *name,
                 hl_app_fn handler, void *arg, hl_route_t **out);

/* Append a named function to an app-level stage (runs for every route; for
 * the request and error stages also for requests that match no route). The
 * handle stage takes no app-level functions. 0, HL_EINVAL, HL_ENOMEM. */
int hl_app_on(hl_app_t *app, hl_stage_t stage, const char *name, hl_app_fn fn, void *arg);
/* Append a named function to one route's stage (after the app-level ones).
 * HL_EINVAL for the request and handle stages (the request stage runs before
 * routing). 0, HL_EINVAL, HL_ENOMEM. */
int hl_route_on(hl_route_t *route, hl_stage_t stage, const char *name, hl_app_fn fn, void *arg);

/* ---- router (also usable without a request) --------------------------------- */
typedef struct hl_route_match_s {
  hl_route_t *route; /* NULL: no route (see status) */
  int status;        /* 200 found, 404 no path, 405 path without this method */
  unsigned allow;    /* on 405: the methods the path has (HL_GET | ...) */
  size_t n_params;
  struct {
    const char *name;
    const char *value; /* points into the looked-up path (not decoded) */
    size_t len;
  } params[16];
} hl_route_match_t;
/* Look up `method` ("GET", ...) and `path` (without the query). Costs time in
 * the path's length, not in the number of routes. 0, or HL_EINVAL. */
int hl_app_match(const hl_app_t *app, const char *method, const char *path, size_t path_len,
                 hl_route_match_t *out);
/* The method bit for a method name (HL_OTHER for unknown ones). */
unsigned hl_method_bit(const char *method);

/* ---- the context --------------------------------------------------------------- */
hl_app_t *hl_ctx_app(const hl_ctx_t *ctx);
void *hl_ctx_store(const hl_ctx_t *ctx);
/* The request id (unique per app, from 1), as trace reports it. */
uint64_t hl_ctx_id(const hl_ctx_t *ctx);
/* A pointer for the application, NULL at the start of each request. */
void hl_ctx_set_data(hl_ctx_t *ctx, void *data);
void *hl_ctx_data(const hl_ctx_t *ctx);

/* Request. Strings stay valid until the request ends. Once the client went
 * away (in afterResponse after a disconnect) the transport's request is gone:
 * method, path and header return NULL, header_at HL_ESTATE. A context is valid
 * from the request's first stage until its afterResponse stage returns (for a
 * stream, see below); do not keep it longer. */
const char *hl_ctx_method(const hl_ctx_t *ctx);
const char *hl_ctx_path(const hl_ctx_t *ctx);
/* A route parameter, percent-decoded; NULL if the route has none by that name
 * ("*" for the wildcard). */
const char *hl_ctx_param(hl_ctx_t *ctx, const char *name);
/* A query parameter, decoded ('+' is a space); the first of repeated names;
 * "" for a name without '='; NULL when absent. */
const char *hl_ctx_query(hl_ctx_t *ctx, const char *name);
/* A request header (case-insensitive, the first one); NULL when absent. */
const char *hl_ctx_header(const hl_ctx_t *ctx, const char *name);
/* The i-th request header in order: 0, or HL_ENOENT past the end. */
int hl_ctx_header_at(const hl_ctx_t *ctx, size_t i, const char **name, const char **value);
/* The raw body (valid from the parse stage on; empty before and for none). */
const void *hl_ctx_body_raw(const hl_ctx_t *ctx, size_t *len);
/* The parsed body: what parse produced (kind NONE when nothing did). */
const hl_value_t *hl_ctx_body(const hl_ctx_t *ctx);
/* A form field of a url-encoded or multipart body; NULL when absent. */
const hl_form_field_t *hl_ctx_form(const hl_ctx_t *ctx, const char *name);

/* set: the response status (default 200) and headers. Header names and values
 * are copied into the arena; setting a name again replaces it (names compare
 * case-insensitively). A value with CR, LF or NUL is refused: HL_EINVAL.
 * 0, HL_EINVAL, HL_ENOMEM. */
int hl_ctx_set_status(hl_ctx_t *ctx, int status);
int hl_ctx_status(const hl_ctx_t *ctx);
int hl_ctx_set_header(hl_ctx_t *ctx, const char *name, const char *value);
const char *hl_ctx_get_header(const hl_ctx_t *ctx, const char *name);

/* The current response value (afterHandle, mapResponse, error, afterResponse). */
const hl_value_t *hl_ctx_response(const hl_ctx_t *ctx);
/* In the error stage (and after): the error code (0 if none) and its message. */
int hl_ctx_error(const hl_ctx_t *ctx, const char **message);

/* The per-request arena: memory freed in one go when the request ends.
 * NULL on OOM. hl_ctx_value() copies a value into the arena (what a promise
 * is fulfilled with). */
void *hl_ctx_alloc(hl_ctx_t *ctx, size_t size);
char *hl_ctx_strdup(hl_ctx_t *ctx, const char *s);
char *hl_ctx_printf(hl_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
hl_value_t *hl_ctx_value(hl_ctx_t *ctx, hl_value_t v);

/* Stream bodies (see hl_stream()). The context stays valid for the stream
 * function until it calls hl_ctx_stream_end(), which it must call exactly
 * once, also after an error (it then returns HL_ESTATE but still lets the
 * request go). write: 0; HL_ESTATE when not streaming or the client went away;
 * a transport error. afterResponse runs when the transport reports the last
 * byte, or when the client leaves. */
int hl_ctx_stream_write(hl_ctx_t *ctx, const void *data, size_t len);
int hl_ctx_stream_end(hl_ctx_t *ctx);

/* ---- trace ----------------------------------------------------------------------- */
/* What on_stop receives. Times: monotonic nanoseconds on uv_hrtime()'s scale,
 * from the clock of the HTTP server's timestamps (hl_http_times_t): within
 * tens of nanoseconds of uv_hrtime(). Trace points with only trace code
 * between them share one reading. */
typedef struct hl_trace_end_s {
  uint64_t end;
  int error;        /* 0, or the error code the function / stage stopped with */
  uint64_t elapsed; /* end - begin */
} hl_trace_end_t;
/* An on_stop callback. It may return a promise: the lifecycle does not start
 * the next stage before it settles (the lock). Return NULL when done. */
typedef hl_promise_t *(*hl_trace_stop_fn)(const hl_trace_end_t *end, void *arg);

/* One function of a stage, as it starts. */
typedef struct hl_trace_event_s {
  const char *name; /* the function's name ("anonymous" when unnamed) */
  unsigned index;   /* its position in the stage, from 0 */
  uint64_t begin;
  /* private */
  hl_ctx_t *req;            /* set when the event begins */
  hl_trace_stop_fn stop_fn; /* the first on_stop (NULL: none yet) */
  void *stop_arg;
} hl_trace_event_t;
typedef void (*hl_trace_event_fn)(hl_trace_event_t *ev, void *arg);

/* A stage, as it starts. */
typedef struct hl_trace_stage_s {
  hl_stage_t stage;
  const char *name; /* hl_stage_name(stage) */
  uint64_t begin;
  unsigned total; /* how many functions the stage holds for this request */
  /* private */
  hl_ctx_t *req;              /* set when the stage begins */
  hl_trace_event_fn event_fn; /* the first on_event (NULL: none yet) */
  void *event_arg;
  hl_trace_stop_fn stop_fn; /* the first on_stop (NULL: none yet) */
  void *stop_arg;
} hl_trace_stage_t;
typedef void (*hl_trace_listener_fn)(hl_trace_stage_t *stage, void *arg);

/* Inside a stage listener: be told as each function starts / when the stage
 * stops. Inside an event callback: when that function stops. The first
 * registration of each kind is kept in the stage's or event's record, later
 * ones in the request's arena; they are called in the order made. 0,
 * HL_EINVAL, HL_ENOMEM. */
int hl_trace_stage_on_event(hl_trace_stage_t *stage, hl_trace_event_fn fn, void *arg);
int hl_trace_stage_on_stop(hl_trace_stage_t *stage, hl_trace_stop_fn fn, void *arg);
int hl_trace_event_on_stop(hl_trace_event_t *ev, hl_trace_stop_fn fn, void *arg);
/* (Their common case, the first callback of its kind, inline: a listener
 * makes a few such calls per stage. The functions above do the whole work,
 * checks included; the macros below only go around them when that case is
 * certain. Taking a function's address still names the function.) */
static inline int hl__trace_stage_on_event_in(hl_trace_stage_t *st, hl_trace_event_fn fn,
                                              void *arg) {
  if (st != NULL && fn != NULL && st->req != NULL && st->event_fn == NULL) {
    st->event_fn = fn;
    st->event_arg = arg;
    return 0;
  }
  return (hl_trace_stage_on_event)(st, fn, arg);
}
static inline int hl__trace_stage_on_stop_in(hl_trace_stage_t *st, hl_trace_stop_fn fn, void *arg) {
  if (st != NULL && fn != NULL && st->req != NULL && st->stop_fn == NULL) {
    st->stop_fn = fn;
    st->stop_arg = arg;
    return 0;
  }
  return (hl_trace_stage_on_stop)(st, fn, arg);
}
static inline int hl__trace_event_on_stop_in(hl_trace_event_t *ev, hl_trace_stop_fn fn, void *arg) {
  if (ev != NULL && fn != NULL && ev->req != NULL && ev->stop_fn == NULL) {
    ev->stop_fn = fn;
    ev->stop_arg = arg;
    return 0;
  }
  return (hl_trace_event_on_stop)(ev, fn, arg);
}
#define hl_trace_stage_on_event(st, fn, arg) hl__trace_stage_on_event_in(st, fn, arg)
#define hl_trace_stage_on_stop(st, fn, arg)  hl__trace_stage_on_stop_in(st, fn, arg)
#define hl_trace_event_on_stop(ev, fn, arg)  hl__trace_event_on_stop_in(ev, fn, arg)

/* (private: a subscription to a stage, for hl_trace_on()'s inline path; a
 * stage's first one is in the request) */
struct hl__tsub_s {
  struct hl__tsub_s *next; /* next listener of this stage */
  hl_trace_listener_fn fn; /* NULL: none (a stage's first subscription) */
  void *arg;
  hl_trace_stage_t st;
  hl_trace_event_t ev;
  struct hl__tmore_s *more; /* the callbacks after each slot's, NULL: none */
};

/* (private: a subscription made, its callback lists empty) */
static inline void hl__tsub_set(struct hl__tsub_s *s, hl_trace_listener_fn fn, void *arg) {
  s->next = NULL;
  s->more = NULL;
  s->st.event_fn = NULL;
  s->st.stop_fn = NULL;
  s->fn = fn;
  s->arg = arg;
}

/* The trace parameter, one per request and trace function. */
typedef struct hl_trace_s {
  uint64_t id;   /* the request id */
  hl_ctx_t *ctx; /* the context (status and headers: hl_ctx_set_*) */
  void *store;   /* the app's store */
  uint64_t time; /* when the request started: over the app's own HTTP server the
                  * server's `headers` timestamp (headers parsed), else a
                  * reading when the request was handed to the app */
  /* private */
  hl_ctx_t *req;
  struct hl__tsub_s *subs; /* the request's first subscription of each stage */
} hl_trace_t;
/* Subscribe to a stage for this request (on_request ... on_after_response).
 * 0, HL_EINVAL, HL_ENOMEM. */
int hl_trace_on(hl_trace_t *t, hl_stage_t stage, hl_trace_listener_fn fn, void *arg);
/* (its common case, a stage's first subscription, inline; as for the
 * registrations above, the function does the whole work) */
static inline int hl__trace_on_in(hl_trace_t *t, hl_stage_t stage, hl_trace_listener_fn fn,
                                  void *arg) {
  struct hl__tsub_s *s;
  if (t != NULL && t->subs != NULL && fn != NULL && (unsigned)stage < HL_STAGE_COUNT &&
      (s = &t->subs[stage])->fn == NULL) {
    hl__tsub_set(s, fn, arg);
    return 0;
  }
  return (hl_trace_on)(t, stage, fn, arg);
}
#define hl_trace_on(t, stage, fn, arg) hl__trace_on_in(t, stage, fn, arg)
typedef void (*hl_trace_fn)(hl_trace_t *t, void *arg);

/* Register a trace function: it runs once per request, before the request
 * stage, and subscribes with hl_trace_on(). Several may be registered; each
 * sees every stage. With none, the lifecycle does no trace work. 0, HL_EINVAL,
 * HL_ENOMEM. */
int hl_app_trace(hl_app_t *app, hl_trace_fn fn, void *arg);

/* Add a W3C Server-Timing header to every response: one metric per stage that
 * ran before the response was sent (`beforeHandle;dur=0.012`, milliseconds),
 * and with HL_SERVER_TIMING_FUNCTIONS one per function too
 * (`beforeHandle.setup;dur=0.004`). 0, HL_EINVAL, HL_ENOMEM. */
enum { HL_SERVER_TIMING_FUNCTIONS = 1u << 0 };
int hl_app_server_timing(hl_app_t *app, unsigned options);

/* ---- serving over HTTP ------------------------------------------------------------ *
 * The app answers the requests of an hl_http_server_t (include/hookloop/http.h):
 * its own (hl_app_listen), or one of yours (hl_app_attach, or hl_app_handle
 * from your request callback). Each request's lifecycle runs in the request's
 * HTTPINCOMINGMESSAGE execution context. The body is read whole before the
 * parse stage; the server's max_body_bytes limit answers 413 and closes the
 * connection (the app sees a client that went away: afterResponse runs). A file
 * value is opened when the response is sent (HL_ENOENT, a directory included,
 * becomes the 404 of the error stage), then read through the thread pool and
 * written with Content-Length (not with sendfile(2): the HTTP server takes no
 * file descriptor); should a read fail after the head was sent, the body ends
 * short. afterResponse runs once the response's last byte was handed to the
 * kernel (the http-hooks FINISH event) or when the connection closed first. */

/* The HTTP limits for the server hl_app_listen() creates (copied; NULL: the
 * defaults). Before listening: 0, HL_EINVAL, HL_ESTATE (listening or closing),
 * HL_ENOMEM. */
int hl_app_set_limits(hl_app_t *app, const hl_http_limits_t *limits);

/* Serve the app on its own HTTP server listening on TCP `host` (an IPv4 or IPv6
 * literal) and `port` (0: the kernel picks, see hl_app_port()), or on the unix
 * socket `path`; `backlog` <= 0 means 511. One server per app. 0; HL_EINVAL;
 * HL_ESTATE (already listening, or closing); HL_ENOMEM; a libuv error
 * (UV_EADDRINUSE ...: nothing is left listening, call again). */
int hl_app_listen(hl_app_t *app, const char *host, int port, int backlog);
int hl_app_listen_unix(hl_app_t *app, const char *path, int backlog);
/* The bound TCP port: > 0, HL_EINVAL, HL_ESTATE (not listening on TCP). */
int hl_app_port(const hl_app_t *app);
/* The app's own server (for hl_http_hooks_on(), hl_http_server_connections()
 * ...), NULL when it does not listen or is closing. Do not close it yourself. */
hl_http_server_t *hl_app_server(const hl_app_t *app);

/* Serve the app on a server of yours: initialize the server with
 * hl_app_http_request as its request callback, then attach (this sets
 * server->data to the app). 0, HL_EINVAL, HL_ENOMEM. Close the server
 * yourself; the app must outlive it. */
int hl_app_attach(hl_app_t *app, hl_http_server_t *server);
void hl_app_http_request(hl_http_server_t *server, hl_http_req_t *req, hl_http_res_t *res);

/* Hand one request to the app, from your own request callback (in the
 * request's context, before anything was written to `res`). 0; HL_EINVAL
 * (nothing done); HL_ENOMEM or HL_EHTTPLISTENERS (the response's 8 listener
 * slots are full): the request was answered with a bare 500. A plain 200
 * answer whose only header is the default Content-Type (and, for a traced
 * request, the app's own Server-Timing) is written straight into the response
 * head when nothing listens to `res`'s head or end events: the bytes are the
 * same, but hl_http_res_get_header() then finds no entry for them (head and
 * end listeners still see every header). */
int hl_app_handle(hl_app_t *app, hl_http_req_t *req, hl_http_res_t *res);

/* Stop serving: the app's own server (if any) stops accepting and closes
 * gracefully (requests in flight finish), then, once every HTTP request of the
 * app has ended and released (servers you attached included), `cb(app)` runs
 * (may be NULL; called from an immediate, never inside hl_app_close). The app
 * may be freed in `cb` (HL_EBUSY if a promise an abandoned request waited for
 * has not settled yet) or listen again. 0, HL_EINVAL, HL_ESTATE (a close is in
 * progress), HL_ENOMEM. hl_app_free() returns HL_EBUSY while the app listens
 * or closes. */
typedef void (*hl_app_close_cb)(hl_app_t *app);
int hl_app_close(hl_app_t *app, hl_app_close_cb cb);

#ifdef __cplusplus
}
#endif

#endif
