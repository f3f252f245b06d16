/* test/helpers/graph.c - see graph.h. */
#include "graph.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAXACT 4096

typedef struct act_s {
  hl_async_id_t uid, trigger;
  const char *type;
} act_t;

static void add_err(char *err, size_t errlen, const char *fmt, ...) {
  size_t used = strlen(err);
  if (used + 1 >= errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + used, errlen - used, fmt, ap);
  va_end(ap);
}

int hl_verify_graph(const hl_log_t *log, const hl_gnode_t *graph, size_t n, char *err,
                    size_t errlen) {
  static act_t acts[MAXACT];
  size_t na = 0;
  err[0] = 0;
  for (int i = 0; i < log->n && na < MAXACT; i++)
    if (log->ev[i].kind == EV_INIT)
      acts[na++] = (act_t){log->ev[i].id, log->ev[i].trigger, log->ev[i].type};
  /* prune TickObjects, one per pass, as verify-graph does */
  for (;;) {
    size_t k = na;
    for (size_t i = 0; i < na; i++)
      if (!strcmp(acts[i].type, "TickObject")) {
        k = i;
        break;
      }
    if (k == na)
      break;
    for (size_t i = 0; i < na; i++)
      if (acts[i].trigger == acts[k].uid)
        acts[i].trigger = acts[k].trigger;
    memmove(&acts[k], &acts[k + 1], (na - k - 1) * sizeof acts[0]);
    na--;
  }
  hl_async_id_t uid_of[64];
  int matched[64] = {0};
  int errors = 0;
  if (n > 64)
    return 1;
  for (size_t i = 0; i < na; i++) {
    /* the n-th node of this type, n = occurrences of the type so far */
    int seen = 0;
    for (size_t j = 0; j <= i; j++)
      seen += !strcmp(acts[j].type, acts[i].type);
    size_t node = n;
    for (size_t g = 0, c = 0; g < n; g++)
      if (!strcmp(graph[g].type, acts[i].type) && ++c == (size_t)seen) {
        node = g;
        break;
      }
    if (node == n) {
      add_err(err, errlen, "unexpected %s (id %lld, trigger %lld); ", acts[i].type,
              (long long)acts[i].uid, (long long)acts[i].trigger);
      errors++;
      continue;
    }
    matched[node] = 1;
    uid_of[node] = acts[i].uid;
    if (!graph[node].trigger)
      continue;
    size_t t = n;
    for (size_t g = 0; g < n; g++)
      if (matched[g] && !strcmp(graph[g].id, graph[node].trigger))
        t = g;
    if (t == n || uid_of[t] != acts[i].trigger) {
      const char *actual = "?";
      for (size_t g = 0; g < n; g++)
        if (matched[g] && uid_of[g] == acts[i].trigger)
          actual = graph[g].id;
      add_err(err, errlen,
              "'%s' expected to be triggered by '%s', but was triggered by '%s' (%lld); ",
              graph[node].id, graph[node].trigger, actual, (long long)acts[i].trigger);
      errors++;
    }
  }
  for (size_t g = 0; g < n; g++)
    if (!matched[g]) {
      add_err(err, errlen, "'%s' (%s) never created; ", graph[g].id, graph[g].type);
      errors++;
    }
  return errors;
}

int hl_check_lifecycles(const hl_log_t *log, char *err, size_t errlen) {
  int bad = 0;
  err[0] = 0;
  for (int i = 0; i < log->n; i++) {
    if (log->ev[i].kind != EV_INIT)
      continue;
    hl_async_id_t id = log->ev[i].id;
    int d = hl_log_count(log, EV_DESTROY, id), b = hl_log_count(log, EV_BEFORE, id),
        a = hl_log_count(log, EV_AFTER, id);
    if (d != 1 || b != a) {
      add_err(err, errlen, "%s %lld: before %d after %d destroy %d; ", log->ev[i].type,
              (long long)id, b, a, d);
      bad++;
    }
  }
  return bad;
}
