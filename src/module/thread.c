/* src/module/thread.c - the hooks thread: one per loop, started by the first
 * hl_module_register, where the off-thread hooks (and the defaults below
 * them) run, isolated from the loop thread as Node's hooks worker is.
 *
 * Jobs are queued under one mutex. A synchronous job (hl_require, register,
 * the in-thread chain's hop) sleeps the loop thread on cv_done until the
 * hooks thread marks it done; an asynchronous one (hl_import) is handed back
 * on a done list and the loop is woken with uv_async_send. The off-thread hook
 * list is only ever touched by the hooks thread (register appends to it as a
 * job). hl_loop_close stops and joins the thread; nothing waits for it at
 * process exit.
 */
#include <dlfcn.h>
#include <string.h>
#include "mod.h"

static void hl__do_register(hl__modsys_t *M, hl__hjob_t *job) {
  hl__mreq_t *r = job->r;
  const char *url = job->str;
  void *h = NULL;
  int rc = hl__native_open(r, url, job->lout->source, job->lout->length, &h);
  if (rc) {
    job->rc = rc;
    return;
  }
  typedef int (*init_fn)(const void *, size_t);
  init_fn init = (init_fn)dlsym(h, "hl_hooks_initialize");
  hl_module_resolve_fn res = (hl_module_resolve_fn)dlsym(h, "hl_hooks_resolve");
  hl_module_load_fn load = (hl_module_load_fn)dlsym(h, "hl_hooks_load");
  if (M->n_off == M->cap_off) {
    int cap = M->cap_off ? M->cap_off * 2 : 8;
    hl__hookent_t *n = hl__realloc(M->off, (size_t)cap * sizeof *n);
    if (n)
      M->off = n;
    void **d = n ? hl__realloc(M->off_dl, (size_t)cap * sizeof *d) : NULL;
    if (d)
      M->off_dl = d;
    if (!n || !d) {
      dlclose(h);
      job->rc = HL_ENOMEM;
      return;
    }
    M->cap_off = cap;
  }
  char *id = hl__strdup(url);
  if (!id) {
    dlclose(h);
    job->rc = HL_ENOMEM;
    return;
  }
  if (init) {
    rc = init(job->data, job->len);
    if (rc) {
      hl__free(id);
      dlclose(h);
      char d[160];
      rc = rc < 0 ? rc : HL_EINVAL;
      job->rc =
          hl__mreq_fail(r, rc, "%s 'initialize' failed: %s", url, hl__errdesc(rc, d, sizeof d));
      return;
    }
  }
  M->off[M->n_off] = (hl__hookent_t){id, res, load, NULL};
  M->off_dl[M->n_off] = h;
  M->n_off++;
  job->has[0] = init != NULL;
  job->has[1] = res != NULL;
  job->has[2] = load != NULL;
  job->rc = 0;
}

void hl__hooks_run_job(hl__modsys_t *M, hl__hjob_t *job) {
  hl__mreq_t *r = job->r;
  int prev = r->off_thread;
  r->off_thread = 1;
  switch (job->kind) {
  case HL__PH_RESOLVE:
    job->rc = hl__chain_resolve(r, job->str, &job->rctx, job->rout);
    break;
  case HL__PH_LOAD:
    job->rc = hl__chain_load(r, job->str, &job->lctx, job->lout);
    break;
  default:
    hl__do_register(M, job);
    break;
  }
  r->off_thread = prev;
}

static void hl__hooks_main(void *arg) {
  hl__modsys_t *M = arg;
  uv_mutex_lock(&M->mu);
  for (;;) {
    while (!M->q_head && !M->stop)
      uv_cond_wait(&M->cv_work, &M->mu);
    if (M->stop && !M->q_head)
      break;
    hl__hjob_t *job = M->q_head;
    M->q_head = job->next;
    if (!M->q_head)
      M->q_tail = NULL;
    uv_mutex_unlock(&M->mu);
    hl__hooks_run_job(M, job);
    uv_mutex_lock(&M->mu);
    if (job->async) {
      job->next = NULL;
      if (M->done_tail)
        M->done_tail->next = job;
      else
        M->done_head = job;
      M->done_tail = job;
      uv_async_send(&M->async);
    } else {
      job->done = 1;
      uv_cond_broadcast(&M->cv_done);
    }
  }
  uv_mutex_unlock(&M->mu);
}

int hl__hooks_thread_start(hl__modsys_t *M) {
  if (M->thread_started)
    return 0;
  M->stop = 0;
  int rc = uv_thread_create(&M->thread, hl__hooks_main, M);
  if (rc)
    return rc;
  M->thread_started = 1;
  return 0;
}

void hl__hooks_thread_stop(hl__modsys_t *M) {
  if (!M->thread_started)
    return;
  uv_mutex_lock(&M->mu);
  M->stop = 1;
  uv_cond_signal(&M->cv_work);
  uv_mutex_unlock(&M->mu);
  uv_thread_join(&M->thread);
  M->thread_started = 0;
}

static void hl__enqueue(hl__modsys_t *M, hl__hjob_t *job) {
  job->next = NULL;
  if (M->q_tail)
    M->q_tail->next = job;
  else
    M->q_head = job;
  M->q_tail = job;
  uv_cond_signal(&M->cv_work);
}

int hl__hooks_call_sync(hl__modsys_t *M, hl__hjob_t *job) {
  job->async = 0;
  job->done = 0;
  uv_mutex_lock(&M->mu);
  hl__enqueue(M, job);
  while (!job->done)
    uv_cond_wait(&M->cv_done, &M->mu);
  uv_mutex_unlock(&M->mu);
  return job->rc;
}

void hl__hooks_post_async(hl__modsys_t *M, hl__hjob_t *job) {
  job->async = 1;
  job->done = 0;
  uv_mutex_lock(&M->mu);
  hl__enqueue(M, job);
  uv_mutex_unlock(&M->mu);
}
