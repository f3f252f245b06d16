/* src/core/clock.c - hl__clock_ns(): CLOCK_MONOTONIC nanoseconds (the scale
 * of uv_hrtime()) for the timestamps taken on hot paths (HTTP request and
 * response points, app traces), read from the CPU's time-stamp counter when
 * it is invariant.
 *
 * Why: a clock_gettime() through the vDSO costs ~22 ns on the machines we run
 * on (virtualised), an rdtsc ~9 ns, and a request with every http-hooks event
 * subscribed takes five timestamps. No library in Debian does this, so it is
 * written here, small:
 * - Per thread: the first call reads clock_gettime and the TSC together (the
 *   TSC on both sides, the tightest of a few tries); calls
 *   in the next 10 ms still return clock_gettime; the first call after that
 *   sets the ratio ns/tick from the two pairs. From then on a call is
 *   base_ns + (tsc - base_tsc) * ratio; every 10 ms of ticks the base is read
 *   again from clock_gettime and the ratio is refined over the whole time
 *   since calibration began (its error shrinks as that span grows).
 * - Monotonic per thread: a value is never less than the last one returned
 *   (a rebase that finds the extrapolation ran ahead holds the clock still
 *   for that long, at most tens of nanoseconds).
 * - Without an invariant TSC (CPUID 0x80000007 EDX bit 8), or off x86-64,
 *   every call is clock_gettime(CLOCK_MONOTONIC).
 */
#include <stdint.h>
#include <time.h>
#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <x86intrin.h>
#define HL__HAVE_TSC 1
#else
#define HL__HAVE_TSC 0
#endif

#define CAL_NS 10000000ull /* calibration span and rebase period: 10 ms */

enum { CK_INIT, CK_CALIBRATING, CK_READY, CK_GETTIME };

typedef struct {
  int state;
  uint64_t cal_tsc, cal_ns;   /* where calibration began */
  uint64_t base_tsc, base_ns; /* the last rebase */
  uint64_t mult;              /* ns per tick, 32.32 fixed point */
  uint64_t rebase_ticks;      /* ticks in CAL_NS; 0 unless CK_READY (the fast path's one test) */
  uint64_t last;              /* the last value returned */
} hl__clock_t;

static _Thread_local hl__clock_t ck HL__TLS_HOT;

static uint64_t gettime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clamp(uint64_t ns) {
  uint64_t last = ck.last;
  ns = ns < last ? last : ns; /* (branch-free: a store even when held) */
  ck.last = ns;
  return ns;
}

#if HL__HAVE_TSC
static int tsc_invariant(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
    return 0;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  return (d >> 8) & 1;
}
#endif

/* A TSC reading and a clock_gettime reading taken together: the TSC is read
 * on both sides and the tightest of a few tries kept, so a preemption
 * between the two cannot skew the ratio or a base. */
static void pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 4; i++) {
    uint64_t a = __rdtsc(), n = gettime_ns(), b = __rdtsc();
    if (b - a < best) {
      best = b - a;
      *tsc = a + (b - a) / 2;
      *ns = n;
    }
    if (best < 2000) /* under a microsecond at any TSC rate we would trust */
      break;
  }
}

/* Everything but the extrapolation: first use, calibration, rebase. Out of
 * line, so the fast path below saves no registers. */
static __attribute__((noinline)) uint64_t clock_slow(void) {
#if HL__HAVE_TSC
  if (ck.state == CK_INIT)
    ck.state = tsc_invariant() ? CK_CALIBRATING : CK_GETTIME;
  if (ck.state == CK_GETTIME)
    return clamp(gettime_ns());
  uint64_t t = 0, ns = 0;
  pair(&t, &ns);
  if (!ck.cal_ns) {
    ck.cal_tsc = t;
    ck.cal_ns = ns;
    return clamp(ns);
  }
  if (ns - ck.cal_ns < CAL_NS || t <= ck.cal_tsc)
    return clamp(ns);
  uint64_t dt = t - ck.cal_tsc, dns = ns - ck.cal_ns;
  ck.mult = (uint64_t)(((unsigned __int128)dns << 32) / dt);
  if (!ck.mult) { /* a counter faster than 4 GHz per ns: no use */
    ck.state = CK_GETTIME;
    ck.rebase_ticks = 0;
    return clamp(ns);
  }
  ck.rebase_ticks = (uint64_t)(((unsigned __int128)CAL_NS << 32) / ck.mult);
  ck.base_tsc = t;
  ck.base_ns = ns;
  ck.state = CK_READY;
  return clamp(ns);
#else
  return clamp(gettime_ns());
#endif
}

/* The fast path: ticks since the last rebase, under rebase_ticks (which is 0
 * in every state but CK_READY: one test covers the state too). */
uint64_t hl__clock_ns(void) {
#if HL__HAVE_TSC
  uint64_t d = __rdtsc() - ck.base_tsc;
  if (HL_LIKELY(d < ck.rebase_ticks))
    return clamp(ck.base_ns + (uint64_t)(((unsigned __int128)d * ck.mult) >> 32));
#endif
  return clock_slow();
}

int hl__clock_uses_tsc(void) {
  return ck.state == CK_READY;
}
