/* src/io/tcp.c - TCP handles: init, bind, connect (to an address, or to a host
 * name through a GETADDRINFOREQWRAP lookup in dns.c), socket options and
 * addresses. Listen, accept, read, write and close are shared with pipes
 * (stream.c). A TCP handle becomes a TCPWRAP when it connects.
 */
#include <arpa/inet.h>
#include <string.h>
#include "stream_internal.h"

static int hl__tcp_ok(const hl_tcp_t *tcp) {
  const hl_stream_t *s = (const hl_stream_t *)tcp;
  if (!hl__stream_ok(s) || s->kind != HL__K_TCP)
    return HL_EINVAL;
  return s->state == HL__S_OPEN ? 0 : HL_ECLOSED;
}

static int hl__addr_ok(const struct sockaddr *addr) {
  return addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6);
}

HL_EXPORT int hl_tcp_init(hl_loop_t *loop, hl_tcp_t *tcp) {
  return hl__stream_init(loop, (hl_stream_t *)tcp, HL__K_TCP);
}

HL_EXPORT int hl_tcp_bind(hl_tcp_t *tcp, const struct sockaddr *addr, unsigned flags) {
  int r = hl__tcp_ok(tcp);
  if (r)
    return r;
  if (!hl__addr_ok(addr) || (flags & ~(unsigned)UV_TCP_IPV6ONLY))
    return HL_EINVAL;
  return uv_tcp_bind(&tcp->uv.tcp, addr, flags);
}

/* The connect request proper (s already a TCPWRAP). */
int hl__connect_addr(hl_stream_t *s, const struct sockaddr *addr) {
  hl__loop_t *L = s->loop;
  hl__creq_t *c = hl__pool_get(&L->io->creq_pool);
  if (!c)
    return HL_ENOMEM;
  c->s = s;
  hl__async_init(L, &c->async, "TCPCONNECTWRAP", s->async.id, c);
  int r = uv_tcp_connect(&c->uv, &s->uv.tcp, addr, hl__on_connect);
  if (r)
    hl__async_end(L, &c->async, c, &L->io->creq_pool);
  return r;
}

static int hl__tcp_connect_check(hl_tcp_t *tcp, hl_connect_cb cb) {
  int r = hl__tcp_ok(tcp);
  if (r)
    return r;
  if (!cb)
    return HL_EINVAL;
  if (tcp->role == HL__R_SERVER)
    return HL_ESTATE;
  if (tcp->lookup || tcp->uv.stream.connect_req)
    return UV_EALREADY;
  return 0;
}

HL_EXPORT int hl_tcp_connect_addr(hl_tcp_t *tcp, const struct sockaddr *addr, hl_connect_cb cb) {
  int r = hl__tcp_connect_check(tcp, cb);
  if (r)
    return r;
  if (!hl__addr_ok(addr))
    return HL_EINVAL;
  hl_stream_t *s = (hl_stream_t *)tcp;
  if (s->role == HL__R_NONE)
    hl__stream_type(s, HL__R_SOCKET, "TCPWRAP", -1);
  s->connect_cb = cb;
  return hl__connect_addr(s, addr);
}

HL_EXPORT int hl_tcp_connect(hl_tcp_t *tcp, const char *host, int port, hl_connect_cb cb) {
  int r = hl__tcp_connect_check(tcp, cb);
  if (r)
    return r;
  if (!host || !*host || port < 1 || port > 65535)
    return HL_EINVAL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  int literal = 0;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0)
    literal = 1;
  else if (strchr(host, ':') && uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0)
    literal = 1;
  hl_stream_t *s = (hl_stream_t *)tcp;
  if (s->role == HL__R_NONE)
    hl__stream_type(s, HL__R_SOCKET, "TCPWRAP", -1);
  s->connect_cb = cb;
  if (literal)
    return hl__connect_addr(s, (struct sockaddr *)&ss);
  return hl__lookup_for_connect(s, host, port);
}

HL_EXPORT int hl_tcp_nodelay(hl_tcp_t *tcp, int enable) {
  int r = hl__tcp_ok(tcp);
  return r ? r : uv_tcp_nodelay(&tcp->uv.tcp, enable != 0);
}

HL_EXPORT int hl_tcp_keepalive(hl_tcp_t *tcp, int enable, unsigned delay) {
  int r = hl__tcp_ok(tcp);
  if (r)
    return r;
  if (enable && delay < 1)
    return HL_EINVAL;
  return uv_tcp_keepalive(&tcp->uv.tcp, enable != 0, delay);
}

HL_EXPORT int hl_tcp_sockname(const hl_tcp_t *tcp, struct sockaddr *addr, int *len) {
  int r = hl__tcp_ok(tcp);
  if (r)
    return r;
  if (!addr || !len || *len <= 0)
    return HL_EINVAL;
  return uv_tcp_getsockname(&tcp->uv.tcp, addr, len);
}

HL_EXPORT int hl_tcp_peername(const hl_tcp_t *tcp, struct sockaddr *addr, int *len) {
  int r = hl__tcp_ok(tcp);
  if (r)
    return r;
  if (!addr || !len || *len <= 0)
    return HL_EINVAL;
  return uv_tcp_getpeername(&tcp->uv.tcp, addr, len);
}

HL_EXPORT int hl_tcp_port(const hl_tcp_t *tcp) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int r = hl_tcp_sockname(tcp, (struct sockaddr *)&ss, &len);
  if (r)
    return r;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return HL_EINVAL;
}
