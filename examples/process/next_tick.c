/* examples/process/next_tick.c - Node's process.nextTick example: the tick
 * runs after the current synchronous code and before any I/O or timer.
 *
 *   console.log('start');
 *   process.nextTick(function() { console.log('nextTick callback'); });
 *   console.log('scheduled');
 */
#include <hookloop.h>
#include <stdio.h>

static hl_loop_t loop;

static void say(void *arg) {
  printf("%s\n", (const char *)arg);
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_set_timeout(&loop, say, "timeout callback", 0, NULL);
  printf("start\n");
  hl_next_tick(&loop, say, "nextTick callback");
  printf("scheduled\n");
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_loop_close(&loop);
  return hl_process_get_exit_code();
}
