/* test/io/test_stream_buf.c - the read-buffer pool: pool reads reuse one block
 * (no allocation per read); hl_buf_keep takes the block out of the pool until
 * hl_buf_release, with many blocks kept at once and released in any order;
 * releasing twice, or a pointer that is not a kept block, is refused without
 * touching it; writes take pooled requests (no allocation once warm either);
 * blocks still kept when the loop closes are freed there; a user
 * alloc callback gets nread == 0 reads so it can free its buffer.
 */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "counting.h"

#define NKEEP 300

static hl_loop_t loop;
static hl_pipe_t p;
static int wfd;
static void *kept[NKEEP];
static int nkept, nreads, keep_mode;
static long allocs_after_first;

static void on_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0) {
    hl_close(s, NULL);
    return;
  }
  nreads++;
  cr_assert_eq(nread, 1);
  cr_assert_eq(buf->base[0], 'x');
  if (keep_mode) {
    cr_assert_eq(hl_buf_keep(s, buf), 0);
    cr_assert_eq(hl_buf_keep(s, buf), HL_EINVAL, "kept already");
    for (int i = 0; i < nkept; i++)
      cr_assert_neq(kept[i], buf->base, "a kept block is never handed out again");
    kept[nkept++] = buf->base;
  } else {
    static uv_buf_t y = {.base = "y", .len = 1};
    cr_assert_eq(hl_write(s, &y, 1, NULL, NULL), 0); /* a pooled WRITEWRAP */
    if (nreads == 1)
      allocs_after_first = hl_counting_live();
  }
  if (nreads < NKEEP)
    cr_assert_eq(write(wfd, "x", 1), 1);
  else
    close(wfd);
}

static void setup_pair(void) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  wfd = sv[1];
  cr_assert_eq(hl_pipe_init(&loop, &p), 0);
  cr_assert_eq(hl_pipe_open(&p, sv[0]), 0);
  cr_assert_eq(write(wfd, "x", 1), 1);
}

Test(stream_buf, pool_reads_and_writes_do_not_allocate) {
  hl_counting_on();
  nreads = nkept = keep_mode = 0;
  cr_assert_eq(hl_loop_init(&loop), 0);
  setup_pair();
  cr_assert_eq(hl_read_start(HL_STREAM(&p), NULL, on_read), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(nreads, NKEEP);
  cr_assert_eq(hl_counting_live(), allocs_after_first, "no allocation after the first read");
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0);
  hl_counting_off();
}

Test(stream_buf, keep_and_release_in_any_order) {
  hl_counting_on();
  nreads = nkept = 0;
  keep_mode = 1;
  cr_assert_eq(hl_loop_init(&loop), 0);
  setup_pair();
  cr_assert_eq(hl_read_start(HL_STREAM(&p), NULL, on_read), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_eq(nkept, NKEEP);
  /* release every other one (odd), then a pseudo-random order; twice: refused */
  for (int i = 1; i < NKEEP; i += 2)
    cr_assert_eq(hl_buf_release(&loop, kept[i]), 0);
  for (int i = 1; i < NKEEP; i += 2)
    cr_assert_eq(hl_buf_release(&loop, kept[i]), HL_EINVAL);
  char local[32];
  cr_assert_eq(hl_buf_release(&loop, local + 16), HL_EINVAL, "not a block");
  cr_assert_eq(hl_buf_release(&loop, (char *)kept[0] + 1), HL_EINVAL, "inside a block");
  int left = 0;
  for (int k = 0; k < NKEEP / 2; k++) {
    int i = (k * 37) % (NKEEP / 2) * 2; /* a permutation of the even indexes */
    if (k < NKEEP / 4) {
      cr_assert_eq(hl_buf_release(&loop, kept[i]), 0, "block %d", i);
      cr_assert_eq(hl_buf_release(&loop, kept[i]), HL_EINVAL);
    } else {
      left++;
    }
  }
  cr_assert_gt(left, 0, "some blocks stay kept: hl_loop_close frees them");
  cr_assert_eq(hl_loop_close(&loop), 0);
  cr_assert_eq(hl_counting_live(), 0, "leaked %ld", hl_counting_live());
  hl_counting_off();
}

static int user_allocs, user_frees, zero_reads;
static void user_alloc(hl_stream_t *s, size_t sz, uv_buf_t *buf) {
  (void)s;
  user_allocs++;
  *buf = uv_buf_init(malloc(sz), (unsigned)sz);
}
static void user_read(hl_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread == 0)
    zero_reads++;
  free(buf->base);
  user_frees++;
  if (nread > 0) {
    cr_assert_eq(hl_buf_keep(s, buf), HL_EINVAL, "not a pool buffer");
    close(wfd);
  } else if (nread < 0) {
    hl_close(s, NULL);
  }
}

Test(stream_buf, user_alloc_callback) {
  cr_assert_eq(hl_loop_init(&loop), 0);
  setup_pair();
  cr_assert_eq(hl_read_start(HL_STREAM(&p), user_alloc, user_read), 0);
  cr_assert_eq(hl_run(&loop, HL_RUN_DEFAULT), 0);
  cr_assert_geq(user_allocs, 2);
  cr_assert_eq(user_frees, user_allocs, "every buffer came back through the read callback");
  cr_assert_eq(hl_loop_close(&loop), 0);
}
