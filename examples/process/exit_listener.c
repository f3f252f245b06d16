/* examples/process/exit_listener.c - Node's process 'exit' example: an exit
 * listener can do synchronous work only; a timer it sets never runs.
 *
 *   process.on('exit', function(code) {
 *     setTimeout(function() { console.log('This will not run'); }, 0);
 *     console.log('About to exit with code:', code);
 *   });
 */
#include <hookloop.h>
#include <stdio.h>

static hl_loop_t loop;

static void will_not_run(void *arg) {
  (void)arg;
  printf("This will not run\n");
}

static void on_exit_cb(int code, void *arg) {
  (void)arg;
  hl_set_timeout(&loop, will_not_run, NULL, 0, NULL); /* do NOT do this */
  printf("About to exit with code: %d\n", code);
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_process_on_exit(&loop, on_exit_cb, NULL);
  hl_run(&loop, HL_RUN_DEFAULT); /* empty: emits exit */
  return hl_process_get_exit_code();
}
