/* examples/process/sigint.c - Node's SIGINT example. A listener replaces the
 * default (exit 130). Signal handles do not keep the loop alive (as in Node,
 * where the example calls process.stdin.resume()): a keep-alive timer stands
 * in for stdin here, and the program sends itself SIGINT so that it runs
 * unattended; press Ctrl-C instead if you like.
 *
 *   process.stdin.resume();
 *   process.on('SIGINT', function() {
 *     console.log('Got SIGINT.  Press Control-D to exit.');
 *   });
 */
#include <hookloop.h>
#include <signal.h>
#include <stdio.h>

static hl_loop_t loop;
static hl_timer_t keep_alive;

static void on_sigint(int signum, void *arg) {
  (void)arg;
  printf("Got SIGINT (%d).  Press Control-D to exit.\n", signum);
  /* the stand-in for Control-D: stop waiting */
  hl_clear_timer(&keep_alive);
  hl_process_off_signal(&loop, SIGINT, on_sigint, NULL);
}

static void idle(void *arg) {
  (void)arg;
}

static void send_sigint(void *arg) {
  (void)arg;
  hl_process_kill(hl_process_pid(), SIGINT);
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_process_on_signal(&loop, SIGINT, on_sigint, NULL);
  hl_set_interval(&loop, idle, NULL, 60000, &keep_alive);
  hl_set_immediate(&loop, send_sigint, NULL, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  return hl_process_get_exit_code();
}
