/* examples/process/async_listener_summoned.c - Node v0.11's
 * removeAsyncListener examples: removing a listener does not detach it from
 * the events already queued while it was active, nor from what those queue;
 * removing it inside a callback stops capturing from that call stack.
 *
 *   setTimeout(function() {          // 1
 *     process.addAsyncListener(key);
 *     setTimeout(function() {
 *       setImmediate(function() { process.nextTick(function() { }); });
 *     });
 *     process.removeAsyncListener(key);
 *   }, 100);
 *   // Output: You summoned me? (x4 in Node v0.11, whose timers made one
 *   // more internal event; x3 here: the timeout, the immediate, the tick)
 *
 *   setTimeout(function() {          // 2
 *     process.addAsyncListener(key);
 *     setImmediate(function() {
 *       process.removeAsyncListener(key);   // stop capturing from this stack
 *       process.nextTick(function() { });
 *     });
 *   }, 100);
 *   // Output: You summoned me? (x1)
 */
#include <hookloop.h>
#include <stdio.h>

static hl_loop_t loop;
static hl_async_listener_t *key;

static void *summoned(void *user_data) {
  (void)user_data;
  printf("You summoned me?\n");
  return NULL;
}

static void nothing(void *arg) {
  (void)arg;
}

/* ---- 1 ---- */
static void immediate1(void *arg) {
  (void)arg;
  hl_next_tick(&loop, nothing, NULL);
}
static void inner_timeout1(void *arg) {
  (void)arg;
  hl_set_immediate(&loop, immediate1, NULL, NULL);
}
static void example1(void *arg) {
  (void)arg;
  printf("-- example 1\n");
  hl_async_listener_add(key);
  hl_set_timeout(&loop, inner_timeout1, NULL, 0, NULL);
  hl_async_listener_remove(key);
}

/* ---- 2 ---- */
static void immediate2(void *arg) {
  (void)arg;
  hl_async_listener_remove(key);
  hl_next_tick(&loop, nothing, NULL);
}
static void example2(void *arg) {
  (void)arg;
  printf("-- example 2\n");
  hl_async_listener_add(key);
  hl_set_immediate(&loop, immediate2, NULL, NULL);
}

/* When example 1 has run dry, beforeExit starts example 2 (once). */
static void before_exit(int code, void *arg) {
  (void)code, (void)arg;
  hl_process_off_before_exit(&loop, before_exit, NULL);
  hl_set_timeout(&loop, example2, NULL, 10, NULL);
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_async_listener_callbacks_t cbs = {.create = summoned};
  hl_async_listener_create(&loop, &cbs, NULL, &key);
  hl_process_on_before_exit(&loop, before_exit, NULL);
  hl_set_timeout(&loop, example1, NULL, 10, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_async_listener_destroy(key);
  hl_loop_close(&loop);
  return hl_process_get_exit_code();
}
