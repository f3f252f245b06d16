/* test/helpers/child.h - run a scenario in a child process and capture how it
 * ended: exit code (or signal) and everything it wrote to stdout and stderr.
 * Used for fatal paths (uncaught errors, corrupted stack, exit codes). */
#ifndef HL_TEST_CHILD_H
#define HL_TEST_CHILD_H

#include <stddef.h>

typedef struct hl_child_result_s {
  int exited; /* 1 if it exited normally */
  int code;   /* exit code when exited */
  int signal; /* terminating signal otherwise */
  char out[16384];
  char err[16384];
} hl_child_result_t;

/* fork(); the child runs fn(arg) then exit(0); the parent waits and fills r. */
void hl_child_run(void (*fn)(void *arg), void *arg, hl_child_result_t *r);

/* The first line of s (copied into buf). */
const char *hl_first_line(const char *s, char *buf, size_t n);

#endif
