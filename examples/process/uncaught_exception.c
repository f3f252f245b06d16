/* examples/process/uncaught_exception.c - Node's 'uncaughtException' example:
 * with a listener, an uncaught error does not end the process.
 *
 *   process.on('uncaughtException', function(err) {
 *     console.log('Caught exception: ' + err);
 *   });
 *   setTimeout(function() { console.log('This will still run.'); }, 500);
 *   nonexistentFunc();               // intentionally cause an exception
 *   console.log('This will not run.');
 */
#include <hookloop.h>
#include <stdio.h>

static hl_loop_t loop;

static void on_uncaught(const hl_error_t *err, hl_origin_t origin, void *arg) {
  (void)origin, (void)arg;
  printf("Caught exception: Error: %s\n", err->message);
}

static void still_runs(void *arg) {
  (void)arg;
  printf("This will still run.\n");
}

/* C has no exceptions: hl_raise marks the error and the caller returns. */
static int nonexistent_func(void) {
  hl_raise(&loop, HL_ERAISED, "nonexistentFunc is not defined");
  return -1;
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_process_on_uncaught_exception(&loop, on_uncaught, NULL);
  hl_set_timeout(&loop, still_runs, NULL, 50, NULL);
  if (nonexistent_func() == 0)
    printf("This will not run.\n");
  hl_run(&loop, HL_RUN_DEFAULT);
  return hl_process_get_exit_code();
}
