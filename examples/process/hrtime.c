/* examples/process/hrtime.c - Node's process.hrtime example: the difference
 * to an earlier reading, as [seconds, nanoseconds].
 *
 *   var time = process.hrtime();
 *   setTimeout(function() {
 *     var diff = process.hrtime(time);
 *     console.log('benchmark took %d nanoseconds', diff[0] * 1e9 + diff[1]);
 *   }, 1000);
 */
#include <hookloop.h>
#include <inttypes.h>
#include <stdio.h>

static hl_loop_t loop;
static uint64_t start[2];

static void done(void *arg) {
  (void)arg;
  uint64_t diff[2];
  hl_hrtime(start, diff);
  printf("benchmark took %" PRIu64 " nanoseconds\n", diff[0] * 1000000000u + diff[1]);
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_hrtime(NULL, start);
  hl_set_timeout(&loop, done, NULL, 100, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  return hl_process_get_exit_code();
}
