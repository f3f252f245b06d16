/* src/io/dns.c - name resolution as async resources: hl_getaddrinfo
 * (GETADDRINFOREQWRAP), hl_getnameinfo (GETNAMEINFOREQWRAP), and the lookup
 * that hl_tcp_connect() runs before connecting to a host name (triggered by
 * the socket; its callback issues the TCPCONNECTWRAP from inside the lookup's
 * context, as Node's net.connect does). Requests are pooled per loop; results
 * are freed when the callback returns.
 */
#include <string.h>
#include "stream_internal.h"

static void hl__lookup_end(hl__loop_t *L, hl__lookup_t *lk) {
  hl__async_end(L, &lk->async, lk, &L->io->lookup_pool);
}

/* ---- the lookup of a connect by name --------------------------------------- */

static const struct addrinfo *hl__pick(const struct addrinfo *res) {
  for (const struct addrinfo *a = res; a; a = a->ai_next) /* ipv4first */
    if (a->ai_family == AF_INET)
      return a;
  for (const struct addrinfo *a = res; a; a = a->ai_next)
    if (a->ai_family == AF_INET6)
      return a;
  return NULL;
}

static void hl__on_connect_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  hl__lookup_t *lk = hl__container_of(req, hl__lookup_t, uv.ai);
  hl_stream_t *s = lk->s;
  hl__loop_t *L = lk->L;
  s->lookup = NULL;
  int closing = s->deferred_close;
  hl_async_id_t id = lk->async.id;
  hl__loop_t *prev = hl__enter(L, &lk->async);
  if (closing) {
    s->connect_cb(s, UV_ECANCELED);
  } else if (status) {
    s->connect_cb(s, status);
  } else {
    const struct addrinfo *a = hl__pick(res);
    int r = UV_EAI_ADDRFAMILY;
    if (a) {
      struct sockaddr_storage ss;
      memcpy(&ss, a->ai_addr, a->ai_addrlen);
      if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)lk->port);
      else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)lk->port);
      r = hl__connect_addr(s, (struct sockaddr *)&ss);
    }
    if (r)
      s->connect_cb(s, r);
  }
  hl__leave(L, id, prev);
  uv_freeaddrinfo(res);
  hl__lookup_end(L, lk);
  if (closing) {
    s->deferred_close = 0;
    hl__stream_do_close(s);
  }
}

int hl__lookup_for_connect(hl_stream_t *s, const char *host, int port) {
  hl__loop_t *L = s->loop;
  hl__lookup_t *lk = hl__pool_get(&L->io->lookup_pool);
  if (!lk)
    return HL_ENOMEM;
  lk->L = L;
  lk->s = s;
  lk->cb = NULL;
  lk->arg = NULL;
  lk->port = port;
  hl__async_init(L, &lk->async, "GETADDRINFOREQWRAP", s->async.id, lk);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int r = uv_getaddrinfo(L->uv, &lk->uv.ai, hl__on_connect_lookup, host, NULL, &hints);
  if (r) {
    hl__lookup_end(L, lk);
    return r;
  }
  s->lookup = lk;
  return 0;
}

/* ---- public lookups -------------------------------------------------------- */

static void hl__on_getaddrinfo(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  hl__lookup_t *lk = hl__container_of(req, hl__lookup_t, uv.ai);
  hl__loop_t *L = lk->L;
  L->live--;
  hl_async_id_t id = lk->async.id;
  hl__loop_t *prev = hl__enter(L, &lk->async);
  ((hl_getaddrinfo_cb)lk->cb)(status, status ? NULL : res, lk->arg);
  hl__leave(L, id, prev);
  uv_freeaddrinfo(res);
  hl__lookup_end(L, lk);
}

static hl__lookup_t *hl__lookup_new(hl__loop_t *L, void *cb, void *arg, const char *type) {
  if (!hl__io_get(L))
    return NULL;
  hl__lookup_t *lk = hl__pool_get(&L->io->lookup_pool);
  if (!lk)
    return NULL;
  lk->L = L;
  lk->s = NULL;
  lk->cb = cb;
  lk->arg = arg;
  lk->port = 0;
  hl__async_init(L, &lk->async, type, -1, lk);
  return lk;
}

HL_EXPORT int hl_getaddrinfo(hl_loop_t *loop, const char *node, const char *service,
                             const struct addrinfo *hints, hl_getaddrinfo_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || (!node && !service))
    return HL_EINVAL;
  hl__lookup_t *lk = hl__lookup_new(L, (void *)cb, arg, "GETADDRINFOREQWRAP");
  if (!lk)
    return HL_ENOMEM;
  int r = uv_getaddrinfo(L->uv, &lk->uv.ai, hl__on_getaddrinfo, node, service, hints);
  if (r) {
    hl__lookup_end(L, lk);
    return r;
  }
  L->live++;
  return 0;
}

static void hl__on_getnameinfo(uv_getnameinfo_t *req, int status, const char *host,
                               const char *service) {
  hl__lookup_t *lk = hl__container_of(req, hl__lookup_t, uv.ni);
  hl__loop_t *L = lk->L;
  L->live--;
  hl_async_id_t id = lk->async.id;
  hl__loop_t *prev = hl__enter(L, &lk->async);
  ((hl_getnameinfo_cb)lk->cb)(status, status ? NULL : host, status ? NULL : service, lk->arg);
  hl__leave(L, id, prev);
  hl__lookup_end(L, lk);
}

HL_EXPORT int hl_getnameinfo(hl_loop_t *loop, const struct sockaddr *addr, int flags,
                             hl_getnameinfo_cb cb, void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !cb || !addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
    return HL_EINVAL;
  hl__lookup_t *lk = hl__lookup_new(L, (void *)cb, arg, "GETNAMEINFOREQWRAP");
  if (!lk)
    return HL_ENOMEM;
  int r = uv_getnameinfo(L->uv, &lk->uv.ni, hl__on_getnameinfo, addr, flags);
  if (r) {
    hl__lookup_end(L, lk);
    return r;
  }
  L->live++;
  return 0;
}
