/* test/io/test_dns.c - hl_getaddrinfo / hl_getnameinfo (include/hookloop/dns.h):
 * GETADDRINFOREQWRAP and GETNAMEINFOREQWRAP resources triggered by the
 * caller, run in their own context with the caller's async-local store,
 * results freed by hookloop (counting allocator + ASan), errors as negative
 * codes, the loop busy while a lookup is pending, argument validation.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <hookloop.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include "counting.h"
#include "record.h"

static hl_loop_t loop;
static hl_rec_t rec;
static hl_log_t LOG;
static hl_als_t als;
static int calls, status_seen, found_loopback;
static hl_async_id_t exec_seen, timer_id;
static void *store_seen;
static char host_seen[256];

static void on_ai(int status, const struct addrinfo *res, void *arg) {
  cr_assert_eq(arg, &calls);
  calls++;
  status_seen = status;
  exec_seen = hl_execution_async_id();
  store_seen = hl_als_get_store(&als);
  if (status)
    cr_assert_null(res);
  for (const struct addrinfo *a = res; a; a = a->ai_next)
    if (a->ai_family == AF_INET &&
        ((const struct sockaddr_in *)a->ai_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
      found_loopback = 1;
}

static void lookup_in_timer(void *arg) {
  (void)arg;
  timer_id = hl_execution_async_id();
  cr_assert_eq(hl_getaddrinfo(&loop, "localhost", NULL, NULL, on_ai, &calls), 0);
}
static void set_timer(void *arg) {
  (void)arg;
  cr_assert_eq(hl_set_timeout(&loop, lookup_in_timer, NULL, 1, NULL), 0);
}

static void start(void) {
  calls = status_seen = found_loopback = 0;
  hl_counting_on();
  cr_assert_eq(hl_rec_start(&loop, &rec, &LOG, 0), 0);
  cr_assert_eq(hl_als_init(&loop, &als, NULL), 0);
}
static void finish(void) {
  hl_hook_disable(rec.hook);
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "leaked %ld allocations", hl_counting_live());
  hl_counting_off();
}

Test(dns, getaddrinfo_resource_trigger_and_store) {
  start();
  static int store = 7;
  cr_assert_eq(hl_als_run(&als, &store, set_timer, NULL), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(calls, 1);
  cr_assert_eq(status_seen, 0, "%s", hl_strerror(status_seen));
  cr_assert(found_loopback, "localhost resolves to 127.0.0.1");
  const hl_ev_t *init = hl_log_init_of(&LOG, exec_seen);
  cr_assert_not_null(init, "the callback runs in the request's context");
  cr_assert_str_eq(init->type, "GETADDRINFOREQWRAP");
  cr_assert_eq(init->trigger, timer_id, "triggered by the caller");
  cr_assert_eq(store_seen, &store, "carries the caller's store");
  cr_assert_eq(hl_log_count(&LOG, EV_BEFORE, exec_seen), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_AFTER, exec_seen), 1);
  cr_assert_eq(hl_log_count(&LOG, EV_DESTROY, exec_seen), 1);
  finish();
}

Test(dns, getaddrinfo_unresolvable_and_busy_loop) {
  start();
  cr_assert_eq(hl_getaddrinfo(&loop, "no-such-host.invalid", NULL, NULL, on_ai, &calls), 0);
  cr_assert_eq(hl_loop_close(&loop), UV_EBUSY, "a pending lookup keeps the loop busy");
  cr_assert_eq(hl_loop_alive_resources(&loop), 1);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(calls, 1);
  cr_assert_lt(status_seen, 0, "a negative code");
  cr_assert_eq(hl_loop_alive_resources(&loop), 0);
  finish();
}

static void on_ni(int status, const char *host, const char *service, void *arg) {
  (void)arg;
  calls++;
  status_seen = status;
  exec_seen = hl_execution_async_id();
  cr_assert_eq(status, 0, "%s", hl_strerror(status));
  strncpy(host_seen, host, sizeof host_seen - 1);
  cr_assert_not_null(service);
}

Test(dns, getnameinfo) {
  start();
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 80, &a);
  cr_assert_eq(
      hl_getnameinfo(&loop, (struct sockaddr *)&a, NI_NUMERICHOST | NI_NUMERICSERV, on_ni, NULL),
      0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(calls, 1);
  cr_assert_str_eq(host_seen, "127.0.0.1");
  const hl_ev_t *init = hl_log_init_of(&LOG, exec_seen);
  cr_assert_not_null(init);
  cr_assert_str_eq(init->type, "GETNAMEINFOREQWRAP");
  cr_assert_eq(init->trigger, 1);
  finish();
}

Test(dns, argument_validation) {
  start();
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 80, &a);
  struct sockaddr bad = {.sa_family = AF_UNIX};
  cr_assert_eq(hl_getaddrinfo(NULL, "localhost", NULL, NULL, on_ai, NULL), HL_EINVAL);
  cr_assert_eq(hl_getaddrinfo(&loop, "localhost", NULL, NULL, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_getaddrinfo(&loop, NULL, NULL, NULL, on_ai, NULL), HL_EINVAL);
  cr_assert_eq(hl_getnameinfo(NULL, (struct sockaddr *)&a, 0, on_ni, NULL), HL_EINVAL);
  cr_assert_eq(hl_getnameinfo(&loop, NULL, 0, on_ni, NULL), HL_EINVAL);
  cr_assert_eq(hl_getnameinfo(&loop, &bad, 0, on_ni, NULL), HL_EINVAL);
  cr_assert_eq(hl_getnameinfo(&loop, (struct sockaddr *)&a, 0, NULL, NULL), HL_EINVAL);
  cr_assert_eq(LOG.n, 0, "nothing was created");
  finish();
}
