// bench/app/elysia/server.mjs PORT [--trace] - the peer of hl-bench-app-http:
// Elysia on Node (the @elysiajs/node adapter), one route `/` with two
// beforeHandle functions (`setup`, `check`) answering "Hello, World!".
// --trace: one trace listening to every stage and every event of it, timing
// each, and writing a Server-Timing header (one metric per stage, one per
// function) from afterHandle's onStop, the last stage whose headers still
// reach the response in Elysia (the C side writes it at mapResponse's stop).
// Run from build/bench/elysia (where bench/app/run installs the packages).
import { Elysia } from 'elysia';
import { node } from '@elysiajs/node';

// Elysia's trace calls Promise.withResolvers (ES2024: Node >= 22); Debian's
// Node is 20, so it is provided here when missing (the standard semantics).
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const port = Number(process.argv[2] || 3000);
const traced = process.argv.includes('--trace');

const stages = ['Request', 'Parse', 'Transform', 'BeforeHandle', 'Handle', 'AfterHandle',
  'MapResponse', 'Error', 'AfterResponse'];

let app = new Elysia({ adapter: node() });
if (traced) {
  app = app.trace((t) => {
    const metrics = [];
    for (const s of stages) {
      const name = s[0].toLowerCase() + s.slice(1);
      t['on' + s](({ begin, onEvent, onStop }) => {
        onEvent(({ name: fn, begin: b, onStop: evStop }) => {
          evStop(({ end }) => { metrics.push(`${name}.${fn};dur=${(end - b).toFixed(3)}`); });
        });
        onStop(({ end }) => {
          metrics.push(`${name};dur=${(end - begin).toFixed(3)}`);
          if (s === 'AfterHandle') t.set.headers['server-timing'] = metrics.join(', ');
        });
      });
    }
  });
}

app.get('/', () => 'Hello, World!', {
  beforeHandle: [
    function setup({ store }) { store.n = (store.n || 0) + 1; },
    function check({ request }) { if (request.method !== 'GET') return 'no'; },
  ],
}).listen({ port, hostname: '127.0.0.1' }, () => process.stderr.write(`listening ${port}\n`));
