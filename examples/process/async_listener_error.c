/* examples/process/async_listener_error.c - Node v0.11's addAsyncListener
 * example: a uid per async event from `create`, before/after around its
 * callback, and an error callback that handles a known error.
 *
 *   var cntr = 0;
 *   var key = process.addAsyncListener({
 *     create: function onCreate() { return { uid: cntr++ }; },
 *     before: function onBefore(context, storage) {
 *       fs.writeSync(1, 'uid: ' + storage.uid + ' is about to run\n'); },
 *     after: function onAfter(context, storage) {
 *       fs.writeSync(1, 'uid: ' + storage.uid + ' just ran\n'); },
 *     error: function onError(storage, err) {
 *       if (err.message === 'everything is fine') {
 *         fs.writeSync(1, 'handled error just threw:\n');
 *         fs.writeSync(1, err.stack + '\n');
 *         return true; } }
 *   });
 *   process.nextTick(function() { throw new Error('everything is fine'); });
 *
 * (The v0.11 doc's `after` printed "is about to run" too: a slip fixed here.)
 * `after` is not called for the callback that raised; a second tick shows it
 * for one that did not.
 */
#include <hookloop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hl_loop_t loop;
static int cntr;

typedef struct {
  int uid;
} storage_t;

static storage_t storages[16];

static void *on_create(void *user_data) {
  (void)user_data;
  if (cntr == 16)
    return NULL;
  storages[cntr].uid = cntr;
  return &storages[cntr++];
}

static void on_before(void *context, void *storage) {
  (void)context;
  printf("uid: %d is about to run\n", ((storage_t *)storage)->uid);
}

static void on_after(void *context, void *storage) {
  (void)context;
  printf("uid: %d just ran\n", ((storage_t *)storage)->uid);
}

static bool on_error(void *storage, const hl_error_t *err) {
  (void)storage;
  if (strcmp(err->message, "everything is fine") == 0) {
    printf("handled error just threw:\n");
    printf("Error: %s\n", err->message);
    return true;
  }
  return false;
}

static void throws(void *arg) {
  (void)arg;
  hl_raise(&loop, HL_ERAISED, "everything is fine");
}

static void quiet(void *arg) {
  (void)arg;
}

int main(int argc, char **argv) {
  hl_loop_init(&loop);
  hl_process_init(&loop, argc, argv);
  hl_async_listener_callbacks_t cbs = {on_create, on_before, on_after, on_error};
  hl_async_listener_t *key;
  hl_async_listener_create(&loop, &cbs, NULL, &key);
  hl_async_listener_add(key);
  hl_next_tick(&loop, throws, NULL);
  hl_next_tick(&loop, quiet, NULL);
  hl_async_listener_remove(key);
  hl_run(&loop, HL_RUN_DEFAULT);
  hl_async_listener_destroy(key);
  hl_loop_close(&loop);
  return hl_process_get_exit_code();
}
