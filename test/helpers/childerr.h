/* test/helpers/childerr.h - a child's stderr without the sanitizer runtime's
 * notes that are not findings (LeakSanitizer in a child forked from a
 * multi-threaded Criterion worker prints "Running thread N was not
 * suspended. False leaks are possible."), and a check for real sanitizer
 * reports in it (a child's report does not reach CTest's output). */
#ifndef HL_TEST_CHILDERR_H
#define HL_TEST_CHILDERR_H

#include <stddef.h>
#include "child.h"

/* r->err with the notes removed, copied into buf. */
const char *hl_child_err(const hl_child_result_t *r, char *buf, size_t n);

/* 1 when the child's stderr holds a sanitizer report (leak, address error,
 * undefined behaviour). */
int hl_child_sanitizer_report(const hl_child_result_t *r);

#endif
