/* hookloop/dns.h - name resolution on libuv's thread pool, as async
 * resources: GETADDRINFOREQWRAP and GETNAMEINFOREQWRAP (Node's dns.lookup and
 * dns.lookupService). The request is triggered by the caller's execution id
 * (or the default-trigger scope), carries the caller's async-local storage,
 * and its callback runs in its own context. A pending request keeps
 * hl_loop_close() busy (UV_EBUSY).
 */
#ifndef HOOKLOOP_DNS_H
#define HOOKLOOP_DNS_H

#include <netdb.h>
#include <sys/socket.h>
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* declared here too, for applications built without POSIX feature macros */
struct addrinfo;
struct sockaddr;

/* status 0 and the result list, or a negative code (UV_EAI_NONAME for a name
 * that does not resolve, UV_EAI_*) and NULL. The list is freed by hookloop
 * when the callback returns: copy what you keep. */
typedef void (*hl_getaddrinfo_cb)(int status, const struct addrinfo *res, void *arg);

/* Resolve node/service (either may be NULL, not both) with optional `hints`
 * (copied). Returns 0 (cb runs once), HL_EINVAL, HL_ENOMEM, libuv errors. */
int hl_getaddrinfo(hl_loop_t *loop, const char *node, const char *service,
                   const struct addrinfo *hints, hl_getaddrinfo_cb cb, void *arg);

/* status 0 with host and service (NUL-terminated, valid during the call), or a
 * negative code and NULLs. */
typedef void (*hl_getnameinfo_cb)(int status, const char *host, const char *service, void *arg);

/* Reverse-resolve an AF_INET/AF_INET6 address (copied); flags as
 * getnameinfo(3) (NI_NUMERICHOST...). Returns 0, HL_EINVAL, HL_ENOMEM, libuv
 * errors. */
int hl_getnameinfo(hl_loop_t *loop, const struct sockaddr *addr, int flags, hl_getnameinfo_cb cb,
                   void *arg);

#ifdef __cplusplus
}
#endif
#endif
