/* test/install/app.c - an application built only from the installed headers
 * and pkg-config: a timer runs in its own execution context. */
#include <hookloop.h>
#include <stdio.h>

static hl_async_id_t seen;

static void on_timer(void *arg) {
  (void)arg;
  seen = hl_execution_async_id();
}

int main(void) {
  hl_loop_t loop;
  hl_timer_t t;
  if (hl_loop_init(&loop) || hl_set_timeout(&loop, on_timer, NULL, 1, &t))
    return 1;
  hl_run(&loop, HL_RUN_DEFAULT);
  if (hl_loop_close(&loop))
    return 1;
  printf("ok %lld\n", (long long)seen);
  return seen == t.id ? 0 : 1;
}
