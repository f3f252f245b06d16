/* test/helpers/graph.h - Node's test/async-hooks/verify-graph.js for a
 * recorded log (record.h): TickObjects are pruned (whoever they triggered is
 * re-pointed to their trigger), then each init is matched, in order, to the
 * n-th node of its type in the expected graph, and its trigger compared edge
 * by edge. Stricter than Node's: an init with no node in the graph, and a
 * node never matched, are errors too. */
#ifndef HL_TEST_GRAPH_H
#define HL_TEST_GRAPH_H

#include <stddef.h>
#include "record.h"

typedef struct hl_gnode_s {
  const char *type;
  const char *id;      /* stand-in name, e.g. "tcp:1" */
  const char *trigger; /* stand-in of the expected trigger; NULL: not checked */
} hl_gnode_t;

/* 0 when the log matches `graph`; else the number of errors, each described
 * in err (NUL-terminated, truncated to errlen). */
int hl_verify_graph(const hl_log_t *log, const hl_gnode_t *graph, size_t n, char *err,
                    size_t errlen);

/* Every resource that got an init got exactly one destroy, and as many
 * befores as afters. 0 or the number of offenders (described in err). */
int hl_check_lifecycles(const hl_log_t *log, char *err, size_t errlen);

#endif
