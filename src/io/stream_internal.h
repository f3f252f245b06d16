/* src/io/stream_internal.h - what the stream, TCP, pipe and DNS files share:
 * the loop's I/O state (request pools, the read-buffer pool) and the helpers
 * that give a handle its type and run its callbacks on the one
 * execution-context path (hl__enter/hl__leave, hl__async_end).
 */
#ifndef HL_STREAM_INTERNAL_H
#define HL_STREAM_INTERNAL_H

#include "../core/internal.h"

#define HL__STREAM_MAGIC 0x68537472u /* "hStr" */
#define HL__BUF_SIZE     65536u
#define HL__BUF_CACHE    64u /* free blocks kept for reuse */

enum { HL__K_TCP = 1, HL__K_PIPE = 2 };
enum { HL__R_NONE = 0, HL__R_SERVER = 1, HL__R_SOCKET = 2 };
enum { HL__S_OPEN = 0, HL__S_CLOSING = 1, HL__S_CLOSED = 2 };

/* A read buffer block of the pool; `next` links free blocks. Kept blocks are
 * in a hash set (io->kept) so that hl_buf_release validates a pointer without
 * reading memory that may not be a block, and blocks still kept at loop close
 * are freed. */
typedef struct hl__buf_s {
  struct hl__buf_s *next;
  void *pad; /* keeps data 16-byte aligned */
  char data[];
} hl__buf_t;

typedef struct hl__wreq_s { /* WRITEWRAP and SHUTDOWNWRAP */
  void *pool_link;
  hl_stream_t *s;
  void *cb;
  void *arg;
  hl__async_t async;
  union {
    uv_write_t w;
    uv_shutdown_t sd;
  } uv;
} hl__wreq_t;

typedef struct hl__creq_s { /* TCPCONNECTWRAP and PIPECONNECTWRAP */
  void *pool_link;
  hl_stream_t *s;
  hl__async_t async;
  uv_connect_t uv;
} hl__creq_t;

typedef struct hl__lookup_s { /* GETADDRINFOREQWRAP and GETNAMEINFOREQWRAP */
  void *pool_link;
  hl__loop_t *L;
  hl_stream_t *s; /* the socket a connect-by-name looks up for, else NULL */
  void *cb;
  void *arg;
  int port;
  hl__async_t async;
  union {
    uv_getaddrinfo_t ai;
    uv_getnameinfo_t ni;
  } uv;
} hl__lookup_t;

typedef struct hl__io_s {
  hl__pool_t wreq_pool, creq_pool, lookup_pool;
  hl__buf_t *buf_cur;  /* the block the next pool read goes into */
  hl__buf_t *buf_free; /* cached free blocks */
  uint32_t n_free;
  hl__buf_t **kept; /* open-addressing set of kept blocks (NULL: empty slot) */
  uint32_t kept_cap, kept_n;
} hl__io_t;

hl__io_t *hl__io_get(hl__loop_t *L); /* creates on first use; NULL on OOM */

static inline int hl__stream_ok(const hl_stream_t *s) {
  return s && s->magic == HL__STREAM_MAGIC && s->loop;
}

/* Give a handle its type: the init hook, the trigger, the storage frame. */
static inline void hl__stream_type(hl_stream_t *s, int role, const char *type,
                                   hl_async_id_t trigger) {
  s->role = (uint8_t)role;
  hl__async_init(s->loop, &s->async, type, trigger, s);
}

int hl__stream_init(hl_loop_t *loop, hl_stream_t *s, int kind);
int hl__connect_addr(hl_stream_t *s, const struct sockaddr *addr);
void hl__stream_do_close(hl_stream_t *s);
/* uv_connect_t completion of a TCP or pipe connect request (hl__creq_t). */
void hl__on_connect(uv_connect_t *req, int status);
/* Start a lookup for hl_tcp_connect by name (dns.c). */
int hl__lookup_for_connect(hl_stream_t *s, const char *host, int port);

#endif
