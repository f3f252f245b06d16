/* src/core/context.c - execution/trigger ids, the default-trigger scope, and
 * user resources (Node's AsyncResource) on the shared execution-context path.
 */
#include "internal.h"

HL_EXPORT hl_async_id_t hl_execution_async_id(void) {
  return hl__current ? hl__current->cur.exec_id : 0;
}

HL_EXPORT hl_async_id_t hl_trigger_async_id(void) {
  return hl__current ? hl__current->cur.trigger_id : 0;
}

HL_EXPORT void *hl_execution_async_resource(void) {
  return hl__current ? hl__current->cur.resource : NULL;
}

HL_EXPORT int hl_default_trigger_scope(hl_loop_t *loop, hl_async_id_t trigger_id, hl_fn fn,
                                       void *arg) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !fn || trigger_id < 0)
    return HL_EINVAL;
  hl_async_id_t saved = L->default_trigger;
  hl_error_t *was = L->raised;
  L->default_trigger = trigger_id;
  fn(arg);
  L->default_trigger = saved;
  return (!was && L->raised) ? HL_ERAISED : 0;
}

HL_EXPORT int hl_async_resource_init(hl_loop_t *loop, hl_async_resource_t *res, const char *type,
                                     hl_async_id_t trigger_id, unsigned flags) {
  hl__loop_t *L = hl__L(loop);
  if (!L || !res)
    return HL_EINVAL;
  if (!type || !type[0])
    return HL_EASYNCTYPE;
  if (trigger_id < -1)
    return HL_EASYNCID;
  if (flags & ~(unsigned)HL_REQUIRE_MANUAL_DESTROY)
    return HL_EINVAL;
  /* A reused object whose destroy is still queued: emit that destroy first. */
  if ((res->async.flags & HL__A_DESTROY_QUEUED) && res->loop == L && res->async.gen == L->dq_gen &&
      L->dq_len)
    hl__destroy_flush(L);
  res->loop = L;
  hl__async_init(L, &res->async, type, trigger_id, res);
  if (flags & HL_REQUIRE_MANUAL_DESTROY) {
    res->async.flags |= HL__A_MANUAL;
    L->live++;
  }
  res->prev = NULL;
  res->next = L->res_head;
  if (L->res_head)
    L->res_head->prev = res;
  L->res_head = res;
  return 0;
}

static int hl__res_check(const hl_async_resource_t *res) {
  if (!res || !res->loop)
    return HL_EINVAL;
  if (!(res->async.flags & HL__A_LIVE))
    return HL_ESTATE;
  return 0;
}

HL_EXPORT int hl_async_resource_run(hl_async_resource_t *res, hl_fn fn, void *arg) {
  int r = hl__res_check(res);
  if (r)
    return r;
  if (!fn)
    return HL_EINVAL;
  hl__loop_t *L = res->loop;
  if (hl__stack_reserve(L))
    return HL_ENOMEM;
  hl__loop_t *prev_current = hl__current;
  hl__current = L;
  hl_error_t *was = L->raised;
  hl_async_id_t id = res->async.id;
  int outermost = L->depth == 0;
  hl__push(L, &res->async);
  fn(arg);
  int raised = !was && L->raised;
  if (raised && outermost) /* nothing above to propagate to: uncaught now */
    hl__handle_raised(L);
  hl__pop(L, id);
  hl__after_callback(L);
  hl__current = prev_current ? prev_current : L;
  return raised ? HL_ERAISED : 0;
}

HL_EXPORT int hl_async_resource_enter(hl_async_resource_t *res) {
  int r = hl__res_check(res);
  if (r)
    return r;
  if (hl__stack_reserve(res->loop))
    return HL_ENOMEM;
  hl__current = res->loop;
  hl__push(res->loop, &res->async);
  return 0;
}

HL_EXPORT int hl_async_resource_leave(hl_async_resource_t *res) {
  if (!res || !res->loop)
    return HL_EINVAL;
  hl__loop_t *L = res->loop;
  if (L->depth == 0) /* a leave with no enter */
    hl__stack_corrupted(L, L->cur.exec_id, res->async.id);
  if (L->raised && L->depth == 1)
    hl__handle_raised(L);
  hl__pop(L, res->async.id);
  hl__after_callback(L);
  return 0;
}

HL_EXPORT int hl_async_resource_emit_destroy(hl_async_resource_t *res) {
  int r = hl__res_check(res);
  if (r)
    return r;
  hl__loop_t *L = res->loop;
  if (res->prev)
    res->prev->next = res->next;
  else
    L->res_head = res->next;
  if (res->next)
    res->next->prev = res->prev;
  res->next = res->prev = NULL;
  if (res->async.flags & HL__A_MANUAL)
    L->live--;
  hl__async_end(L, &res->async, NULL, NULL);
  return 0;
}

HL_EXPORT hl_async_id_t hl_async_resource_async_id(const hl_async_resource_t *res) {
  return res ? res->async.id : -1;
}

HL_EXPORT hl_async_id_t hl_async_resource_trigger_id(const hl_async_resource_t *res) {
  return res ? res->async.trigger_id : -1;
}

HL_EXPORT int hl_async_resource_bind(hl_async_resource_t *res, hl_fn fn, void *arg,
                                     hl_bound_fn_t *out) {
  int r = hl__res_check(res);
  if (r)
    return r;
  if (!fn || !out)
    return HL_EINVAL;
  out->res = res;
  out->fn = fn;
  out->arg = arg;
  return 0;
}

HL_EXPORT int hl_bound_fn_call(const hl_bound_fn_t *bound) {
  if (!bound)
    return HL_EINVAL;
  return hl_async_resource_run(bound->res, bound->fn, bound->arg);
}
