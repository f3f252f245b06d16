// bench/module/node_register.mjs - preloaded with --import: registers the
// pass-through hooks HL_BENCH_HOOKS times (distinct URLs: distinct instances).
import { register } from 'node:module';
const n = Number(process.env.HL_BENCH_HOOKS || 0);
for (let i = 0; i < n; i++) register(`./node_hooks.mjs?copy=${i}`, import.meta.url);
