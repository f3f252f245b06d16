/* test/helpers/http_client.h - clients for the HTTP server tests, driven by
 * the test's own loop (the server runs in the same loop): a raw TCP/unix
 * client that sends bytes and collects everything the server sends until it
 * closes, and curl run as a child process (uv_spawn) with its stdout
 * collected. Tests drive the loop with hl_tc_wait() until the client is done,
 * so nothing waits on wall-clock time. */
#ifndef HL_TEST_HTTP_CLIENT_H
#define HL_TEST_HTTP_CLIENT_H

#include <hookloop.h>
#include <stddef.h>

typedef struct hl_tc_raw_s {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_stream_t s;
    uv_handle_t h;
  } io;
  uv_connect_t cr;
  char *pending; /* sent once connected */
  size_t pending_len;
  char *in; /* everything received, NUL-terminated */
  size_t len, cap;
  int connected, eof, err, closed, writes_done, writes;
} hl_tc_raw_t;

/* Connect to 127.0.0.1:port (or the unix socket `path` when port < 0) and
 * send `data` (copied; may be NULL). */
int hl_tc_raw_start(hl_loop_t *loop, hl_tc_raw_t *c, int port, const char *path, const char *data,
                    size_t len);
/* Send more (copied). */
int hl_tc_raw_send(hl_tc_raw_t *c, const char *data, size_t len);
/* Close our side now (a client that goes away). */
void hl_tc_raw_close(hl_tc_raw_t *c);
/* Occurrences of `needle` in what was received. */
int hl_tc_count(const char *hay, const char *needle);
/* Free the received buffer (after the handle is closed). */
void hl_tc_raw_free(hl_tc_raw_t *c);

typedef struct hl_tc_proc_s {
  uv_process_t proc;
  uv_pipe_t out;
  char *in; /* curl's stdout, NUL-terminated */
  size_t len, cap;
  int exited, out_done, status;
} hl_tc_proc_t;

/* Run argv (argv[0] looked up in PATH) with stdout captured, stderr to ours. */
int hl_tc_spawn(hl_loop_t *loop, hl_tc_proc_t *p, char **argv);
void hl_tc_proc_free(hl_tc_proc_t *p);

/* Run the loop one iteration at a time until *flag is non-zero. */
void hl_tc_wait(hl_loop_t *loop, const int *flag);
/* ... until both are non-zero. */
void hl_tc_wait2(hl_loop_t *loop, const int *a, const int *b);

#endif
