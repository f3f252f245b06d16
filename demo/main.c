#include <hookloop.h>
int main(void) {
  hl_loop_t loop;
  hl_loop_init(&loop);
  hl_run(&loop, HL_RUN_DEFAULT);
  return hl_loop_close(&loop);
}
