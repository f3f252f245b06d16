/* test/helpers/child.c - see child.h. */
#include "child.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void drain(int fd, char *buf, size_t cap, size_t *len, int *open) {
  ssize_t n = read(fd, buf + *len, cap - 1 - *len);
  if (n > 0) {
    *len += (size_t)n;
  } else {
    *open = 0;
  }
  buf[*len] = 0;
  if (*len >= cap - 1) { /* full: keep reading to avoid blocking the child */
    char sink[4096];
    if (read(fd, sink, sizeof sink) <= 0)
      *open = 0;
  }
}

void hl_child_run(void (*fn)(void *arg), void *arg, hl_child_result_t *r) {
  int po[2], pe[2];
  memset(r, 0, sizeof *r);
  if (pipe(po) || pipe(pe))
    abort();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    abort();
  if (pid == 0) {
    dup2(po[1], 1);
    dup2(pe[1], 2);
    close(po[0]);
    close(pe[0]);
    close(po[1]);
    close(pe[1]);
    fn(arg);
    fflush(stdout);
    fflush(stderr);
    exit(0);
  }
  close(po[1]);
  close(pe[1]);
  size_t lo = 0, le = 0;
  int oo = 1, oe = 1;
  while (oo || oe) {
    struct pollfd p[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0)
      break;
    if (oo && (p[0].revents & (POLLIN | POLLHUP)))
      drain(po[0], r->out, sizeof r->out, &lo, &oo);
    if (oe && (p[1].revents & (POLLIN | POLLHUP)))
      drain(pe[0], r->err, sizeof r->err, &le, &oe);
    if (!oo)
      p[0].fd = -1;
    if (!oe)
      p[1].fd = -1;
  }
  close(po[0]);
  close(pe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    r->exited = 1;
    r->code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r->signal = WTERMSIG(status);
  }
}

const char *hl_first_line(const char *s, char *buf, size_t n) {
  size_t i = 0;
  while (s[i] && s[i] != '\n' && i + 1 < n) {
    buf[i] = s[i];
    i++;
  }
  buf[i] = 0;
  return buf;
}
