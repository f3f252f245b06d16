'use strict';
// bench/core/node_core.js - the peer of bench/core/bench_core.c: the same
// lifecycles (setTimeout(fn, 1), setImmediate, process.nextTick, new Promise +
// then + resolve) in the same three modes, measured the same way, printing the
// same "result ..." lines. See the comment at the top of bench_core.c.
//
// - nohook: plain Node.
// - hook:   async_hooks.createHook({init, before, after, destroy,
//           promiseResolve}) with five empty functions, enabled.
// - als:    one AsyncLocalStorage; each batch is scheduled inside als.run(),
//           and every callback calls als.getStore() and checks the store.
// Each mode runs in its own process (a hook or a storage cannot be fully
// undone in Node: enabling them switches on PromiseHooks and async-id
// tracking), so without a mode argument this script runs itself once per mode.
//
// An op is scheduled in a batch of --batch (100000) ops from a promise
// continuation; the batch ends at its last callback. Timed: from just before
// scheduling to that last callback (process.hrtime.bigint()). Timers: after
// scheduling, spin (untimed) 2 ms so every timer is due when the loop resumes;
// timed = scheduling + (last callback - end of spin). One untimed warm-up batch,
// then --reps (20) samples of --batches (1) batch; ns_op is the best sample
// (as in bench_core.c: other tenants only add time; each sample still holds
// several GCs), median_ns_op the median.
//
// Usage: node node_core.js [nohook|hook|als] [--reps N] [--batch N]
//                          [--batches N] [--getstore-calls N] [--only LIFECYCLE]
//                          [--quick]

const { createHook, AsyncLocalStorage } = require('async_hooks');
const { spawnSync } = require('child_process');

// getStore() costs ~50 ns in Node 20, so samples of 1e6 calls (bench_core.c's
// are 1e7 of its ~2 ns calls): the per-call figure is what is compared.
const opt = { reps: 20, batch: 100000, batches: 1, getstoreCalls: 1e6, only: null };
const MODES = ['nohook', 'hook', 'als'];
let mode = null;
const passThrough = [];
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!(v > 0)) {
        console.error(`node_core.js: bad value for ${a}`);
        process.exit(2);
      }
      passThrough.push(a, String(v));
      return v;
    };
    if (MODES.includes(a)) mode = a;
    else if (a === '--reps') opt.reps = num();
    else if (a === '--batch') opt.batch = num();
    else if (a === '--batches') opt.batches = num();
    else if (a === '--getstore-calls') opt.getstoreCalls = num();
    else if (a === '--only') {
      opt.only = argv[++i];
      passThrough.push(a, opt.only);
    } else if (a === '--quick') {
      Object.assign(opt, { reps: 3, batch: 10000, batches: 1, getstoreCalls: 1e5 });
      passThrough.push(a);
    } else {
      console.error('usage: node node_core.js [nohook|hook|als] [--reps N] [--batch N] ' +
                    '[--batches N] [--getstore-calls N] [--only LIFECYCLE] [--quick]');
      process.exit(2);
    }
  }
}

if (mode === null) {
  // One process per mode.
  for (const m of MODES) {
    const r = spawnSync(process.execPath, [__filename, m, ...passThrough],
                        { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
  }
  process.exit(0);
}

const BATCH = opt.batch;
let als = null;
const STORE = { request: 1 };
if (mode === 'hook') {
  createHook({
    init() {},
    before() {},
    after() {},
    destroy() {},
    promiseResolve() {},
  }).enable();
} else if (mode === 'als') {
  als = new AsyncLocalStorage();
}

const now = process.hrtime.bigint;
let calls = 0;

function schedule(fn) {
  if (als) als.run(STORE, fn);
  else fn();
}

// Each returns a promise of the timed nanoseconds (a bigint) of one batch.
function timerBatch() {
  return new Promise((resolve) => {
    let left = BATCH, t0, t1, t2;
    const done = () => resolve((t1 - t0) + (now() - t2));
    const cb = als ? () => {
      if (als.getStore() === STORE) calls++;
      if (--left === 0) done();
    } : () => {
      calls++;
      if (--left === 0) done();
    };
    t0 = now();
    schedule(() => {
      for (let i = 0; i < BATCH; i++) setTimeout(cb, 1);
    });
    t1 = now();
    const until = t1 + 2000000n;
    while (now() < until);
    t2 = now();
  });
}

function simpleBatch(scheduleOne) {
  return new Promise((resolve) => {
    let left = BATCH, t0;
    const done = () => resolve(now() - t0);
    const cb = als ? () => {
      if (als.getStore() === STORE) calls++;
      if (--left === 0) done();
    } : () => {
      calls++;
      if (--left === 0) done();
    };
    t0 = now();
    schedule(() => {
      for (let i = 0; i < BATCH; i++) scheduleOne(cb);
    });
  });
}

const lifecycles = {
  timer: timerBatch,
  immediate: () => simpleBatch((cb) => setImmediate(cb)),
  tick: () => simpleBatch((cb) => process.nextTick(cb)),
  // new + then + resolve: two promises, one reaction (as bench_core.c).
  promise: () => simpleBatch((cb) => {
    let res;
    const p = new Promise((r) => { res = r; });
    p.then(cb);
    res();
  }),
};

function stats(samples) {
  const v = samples.slice().sort((a, b) => a - b);
  const n = v.length;
  const med = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { med, min: v[0] };
}

function report(lifecycle, samples, ops) {
  const { med, min } = stats(samples);
  console.log(`result impl=node lifecycle=${lifecycle} mode=${mode} ns_op=${min.toFixed(3)} ` +
              `median_ns_op=${med.toFixed(3)} ops_s=${Math.round(1e9 / min)} ops=${ops} ` +
              `reps=${samples.length}`);
}

async function batchChecked(fn) {
  const before = calls;
  const ns = await fn();
  if (calls - before !== BATCH) {
    console.error(`node_core.js: ${calls - before} of ${BATCH} callbacks ran (or saw the store)`);
    process.exit(2);
  }
  return ns;
}

function getstoreBench() {
  const n = opt.getstoreCalls;
  const samples = [];
  als.run(STORE, () => {
    for (let rep = 0; rep < opt.reps; rep++) {
      let sink = 0;
      const t0 = now();
      for (let i = 0; i < n; i++) if (als.getStore() === STORE) sink++;
      const t1 = now();
      if (sink !== n) throw new Error('getStore lost the store');
      samples.push(Number(t1 - t0) / n);
    }
  });
  report('als_get_store', samples, n);
}

async function main() {
  const ops = BATCH * opt.batches;
  for (const [name, fn] of Object.entries(lifecycles)) {
    if (opt.only && opt.only !== name) continue;
    await batchChecked(fn); // warm-up
    const samples = [];
    for (let rep = 0; rep < opt.reps; rep++) {
      let ns = 0n;
      for (let k = 0; k < opt.batches; k++) ns += await batchChecked(fn);
      samples.push(Number(ns) / ops);
    }
    report(name, samples, ops);
  }
  if (als && (!opt.only || opt.only === 'als_get_store')) getstoreBench();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
