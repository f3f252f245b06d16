// bench/module/node_hooks.mjs - pass-through resolve and load hooks for
// Node's module.register (each calls next unchanged).
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, context);
}
export async function load(url, context, nextLoad) {
  return nextLoad(url, context);
}
