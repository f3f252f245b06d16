/* test/proc/test_signal.c - signals (signal.h): the defaults (SIGINT,
 * SIGTERM, SIGHUP exit 128 + n; SIGPIPE ignored), listeners replacing them
 * and removing the last restoring them, SIGKILL/SIGSTOP refused, the
 * SIGNALWRAP resource, unref'd handles, hl_process_kill. Children send the
 * signal to themselves (raise/kill) from loop callbacks; nothing sleeps. */
#include <criterion/criterion.h>
#include <hookloop.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child.h"
#include "childerr.h"

static hl_loop_t loop;
static char prog[] = "prog";
static hl_timer_t keep_alive;

static void init_main(void) {
  char *argv[] = {prog, NULL};
  hl_loop_init(&loop);
  cr_assert_eq(hl_process_init(&loop, 1, argv), 0);
}

static void run(void (*fn)(void *), void *arg, hl_child_result_t *r) {
  hl_child_run(fn, arg, r);
  cr_assert_not(hl_child_sanitizer_report(r), "%s", r->err);
}

/* ---- defaults ------------------------------------------------------------------------- */

static void default_child(void *arg) {
  int sig = (int)(intptr_t)arg;
  init_main();
  printf("before\n");
  fflush(stdout);
  raise(sig);
  printf("survived\n");
}

static void expect_default(int sig) {
  hl_child_result_t r;
  run(default_child, (void *)(intptr_t)sig, &r);
  cr_assert(r.exited, "signal %d: died by signal %d", sig, r.signal);
  cr_assert_eq(r.code, 128 + sig, "signal %d: code %d", sig, r.code);
  cr_assert_str_eq(r.out, "before\n");
}

Test(signal, sigint_sigterm_sighup_exit_128_plus_n) {
  expect_default(SIGINT);
  expect_default(SIGTERM);
  expect_default(SIGHUP);
}

Test(signal, sigpipe_is_ignored) {
  hl_child_result_t r;
  run(default_child, (void *)(intptr_t)SIGPIPE, &r);
  cr_assert(r.exited, "died by signal %d", r.signal);
  cr_assert_eq(r.code, 0);
  cr_assert_str_eq(r.out, "before\nsurvived\n");
}

/* ---- listeners ------------------------------------------------------------------------- */

static int got;
static hl_async_id_t wrap_id = -1;

static void init_hook(hl_async_id_t id, const char *type, hl_async_id_t trigger, void *res,
                      void *arg) {
  (void)trigger, (void)res, (void)arg;
  if (strcmp(type, "SIGNALWRAP") == 0) {
    wrap_id = id;
    printf("init SIGNALWRAP\n");
  }
}
static void destroy_hook(hl_async_id_t id, void *arg) {
  (void)arg;
  if (id == wrap_id)
    printf("destroy SIGNALWRAP\n");
}

static void on_sig(int signum, void *arg) {
  printf("%s got %d, in the wrap %d\n", (const char *)arg, signum,
         hl_execution_async_id() == wrap_id);
  if (++got == 2) { /* both listeners ran: stop waiting, go back to defaults */
    hl_clear_timer(&keep_alive);
    hl_process_off_signal(&loop, signum, on_sig, "first");
    hl_process_off_signal(&loop, signum, on_sig, "second");
  }
}

static void idle(void *arg) {
  (void)arg;
}

static void send_self(void *arg) {
  cr_assert_eq(hl_process_kill(getpid(), (int)(intptr_t)arg), 0);
}

static void listener_child(void *arg) {
  int sig = (int)(intptr_t)arg;
  init_main();
  hl_hook_callbacks_t cbs = {.init = init_hook, .destroy = destroy_hook};
  hl_hook_t *h;
  hl_hook_create(&loop, &cbs, NULL, &h);
  hl_hook_enable(h);
  cr_assert_eq(hl_process_on_signal(&loop, sig, on_sig, "first"), 0);
  cr_assert_eq(hl_process_on_signal(&loop, sig, on_sig, "second"), 0);
  cr_assert_eq(hl_process_signal_listeners(&loop, sig), 2);
  hl_set_interval(&loop, idle, NULL, 600000, &keep_alive);
  hl_set_immediate(&loop, send_self, (void *)(intptr_t)sig, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  printf("loop ended, listeners %d\n", hl_process_signal_listeners(&loop, sig));
  fflush(stdout);
  raise(sig); /* the default is back */
  printf("survived\n");
}

static void expect_listener(int sig) {
  hl_child_result_t r;
  char want[512];
  run(listener_child, (void *)(intptr_t)sig, &r);
  cr_assert(r.exited, "signal %d: died by signal %d; stderr %s", sig, r.signal, r.err);
  cr_assert_eq(r.code, 128 + sig, "signal %d: code %d; out %s", sig, r.code, r.out);
  snprintf(want, sizeof want,
           "init SIGNALWRAP\nfirst got %d, in the wrap 1\nsecond got %d, in the wrap 1\n"
           "destroy SIGNALWRAP\nloop ended, listeners 0\n",
           sig, sig);
  cr_assert_str_eq(r.out, want, "signal %d", sig);
}

Test(signal, a_listener_replaces_the_default_until_the_last_is_removed) {
  expect_listener(SIGINT);
  expect_listener(SIGTERM);
  expect_listener(SIGHUP);
}

static void on_pipe(int signum, void *arg) {
  (void)arg;
  printf("SIGPIPE listener %d\n", signum);
  hl_process_off_signal(&loop, signum, on_pipe, NULL);
  hl_clear_timer(&keep_alive);
}

static void sigpipe_listener_child(void *arg) {
  (void)arg;
  init_main();
  hl_process_on_signal(&loop, SIGPIPE, on_pipe, NULL);
  hl_set_interval(&loop, idle, NULL, 600000, &keep_alive);
  hl_set_immediate(&loop, send_self, (void *)(intptr_t)SIGPIPE, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  raise(SIGPIPE); /* ignored again */
  printf("survived\n");
}

Test(signal, sigpipe_can_have_a_listener_and_is_ignored_again_after) {
  hl_child_result_t r;
  run(sigpipe_listener_child, NULL, &r);
  cr_assert(r.exited, "died by signal %d", r.signal);
  cr_assert_eq(r.code, 0);
  cr_assert_str_eq(r.out, "SIGPIPE listener 13\nsurvived\n");
}

static void on_usr1(int signum, void *arg) {
  (void)signum, (void)arg;
  got++;
}

Test(signal, handles_do_not_keep_the_loop_alive) {
  hl_loop_t l;
  hl_loop_init(&l);
  cr_assert_eq(hl_process_on_signal(&l, SIGUSR1, on_usr1, NULL), 0);
  cr_assert_eq(hl_run(&l, HL_RUN_DEFAULT), 0); /* returns: nothing else is alive */
  cr_assert_eq(hl_process_off_signal(&l, SIGUSR1, on_usr1, NULL), 0);
  cr_assert_eq(hl_process_off_signal(&l, SIGUSR1, on_usr1, NULL), HL_ENOENT);
  cr_assert_eq(hl_process_on_signal(&l, SIGUSR2, on_usr1, NULL), 0); /* freed by close */
  cr_assert_eq(hl_loop_close(&l), 0);
}

Test(signal, sigkill_sigstop_and_bad_arguments_are_refused) {
  hl_loop_t l;
  hl_loop_init(&l);
  cr_assert_eq(hl_process_on_signal(&l, SIGKILL, on_usr1, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_signal(&l, SIGSTOP, on_usr1, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_signal(&l, 0, on_usr1, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_signal(&l, NSIG, on_usr1, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_signal(&l, SIGUSR1, NULL, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_on_signal(NULL, SIGUSR1, on_usr1, NULL), HL_EINVAL);
  cr_assert_eq(hl_process_off_signal(&l, SIGUSR1, on_usr1, NULL), HL_ENOENT);
  cr_assert_eq(hl_process_signal_listeners(&l, SIGUSR1), 0);
  cr_assert_eq(hl_loop_close(&l), 0);
}

/* ---- kill ------------------------------------------------------------------------------- */

Test(signal, kill_0_checks_that_a_process_exists) {
  cr_assert_eq(hl_process_kill(getpid(), 0), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0)
    _exit(0);
  int st;
  waitpid(pid, &st, 0); /* reaped: that pid names no process now */
  cr_assert_eq(hl_process_kill(pid, 0), UV_ESRCH);
  cr_assert_eq(hl_process_kill(getpid(), -1), HL_EINVAL);
}

static void kill_child(void *arg) {
  (void)arg;
  for (;;)
    pause();
}

Test(signal, kill_sends_a_signal) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0)
    kill_child(NULL);
  cr_assert_eq(hl_process_kill(pid, SIGTERM), 0);
  int st;
  waitpid(pid, &st, 0);
  cr_assert(WIFSIGNALED(st));
  cr_assert_eq(WTERMSIG(st), SIGTERM);
}

/* A listener added before hl_process_init keeps its signal. */
static void on_early(int signum, void *arg) {
  (void)arg;
  printf("early listener %d\n", signum);
  hl_clear_timer(&keep_alive);
  hl_process_off_signal(&loop, signum, on_early, NULL);
}

static void early_child(void *arg) {
  (void)arg;
  char *argv[] = {prog, NULL};
  hl_loop_init(&loop);
  hl_process_on_signal(&loop, SIGTERM, on_early, NULL);
  hl_process_init(&loop, 1, argv);
  hl_set_interval(&loop, idle, NULL, 600000, &keep_alive);
  hl_set_immediate(&loop, send_self, (void *)(intptr_t)SIGTERM, NULL);
  hl_run(&loop, HL_RUN_DEFAULT);
  fflush(stdout);
  raise(SIGTERM);
}

Test(signal, a_listener_added_before_init_is_kept) {
  hl_child_result_t r;
  run(early_child, NULL, &r);
  cr_assert(r.exited, "died by signal %d", r.signal);
  cr_assert_eq(r.code, 128 + SIGTERM);
  cr_assert_str_eq(r.out, "early listener 15\n");
}
