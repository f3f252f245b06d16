// bench/module/node_entry.mjs - import the generated ES module graph once and
// print microseconds per module (the import only: registration is done by
// then, in node_register.mjs).
import { pathToFileURL } from 'node:url';
const dir = process.argv[2];
const n = Number(process.env.HL_BENCH_MODULES || 1000);
const hooks = Number(process.env.HL_BENCH_HOOKS || 0);
const root = pathToFileURL(`${dir}/mjs/m0.mjs`).href;
const t0 = performance.now();
await import(root);
const us = (performance.now() - t0) * 1000;
console.log(`result impl=node graph=mjs hooks=${hooks} where=thread modules=${n} us_module=${(us / n).toFixed(3)}`);
