/* test/helpers/counting.h - a counting allocator for leak checks that do not
 * depend on LeakSanitizer (whose reports inside Criterion's workers do not
 * fail a test): install it with hl_counting_on(), and after hl_loop_close()
 * hl_counting_live() must be 0. */
#ifndef HL_TEST_COUNTING_H
#define HL_TEST_COUNTING_H

long hl_counting_live(void); /* hookloop allocations not yet freed */
void hl_counting_on(void);   /* zero the count and install the allocator */
void hl_counting_off(void);  /* back to libc's allocator */

/* Fault injection (used by test/io): count allocation attempts from now on and
 * fail the n-th (and every later one if `persistent`); n == 0 fails none.
 * hl_counting_on() turns injection off. */
void hl_counting_fail_at(long nth, int persistent);
long hl_counting_attempts(void); /* attempts since hl_counting_fail_at() */
long hl_counting_injected(void); /* failures injected since then */

#endif
