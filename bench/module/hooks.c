/* bench/module/hooks.c - pass-through resolve and load hooks (each calls
 * next unchanged), registered 1 or 3 times, in-thread or off-thread. */
#include <hookloop.h>

HL_MODULE_ABI_DECLARE;

__attribute__((visibility("default"))) int hl_hooks_resolve(const char *specifier,
                                                            const hl_module_resolve_context_t *ctx,
                                                            hl_module_chain_t *next, void *arg,
                                                            hl_module_resolve_result_t *out) {
  (void)arg;
  return hl_module_next_resolve(next, specifier, ctx, out);
}

__attribute__((visibility("default"))) int hl_hooks_load(const char *url,
                                                         const hl_module_load_context_t *ctx,
                                                         hl_module_chain_t *next, void *arg,
                                                         hl_module_load_result_t *out) {
  (void)arg;
  return hl_module_next_load(next, url, ctx, out);
}
