/* test/helpers/counting.h - a counting allocator for leak checks that do not
 * depend on LeakSanitizer (whose reports inside Criterion's workers do not
 * fail a test): install it with hl_counting_on(), and after hl_loop_close()
 * hl_counting_live() must be 0. */
#ifndef HL_TEST_COUNTING_H
#define HL_TEST_COUNTING_H

long hl_counting_live(void); /* hookloop allocations not yet freed */
void hl_counting_on(void);   /* zero the count and install the allocator */
void hl_counting_off(void);  /* back to libc's allocator */

#endif
