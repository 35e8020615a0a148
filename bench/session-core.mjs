// The session core alone, in one process: two SessionChannels joined by an in-memory pipe (frames
// really encoded and decoded), CPU per unary call, per item of an Observable stream and per item of
// a generator. No sockets, no scheduler: steady enough on a noisy VM to compare two checkouts.
//   node bench/session-core.mjs [checkout]     (default: this one; build it first)
// Compare: node bench/session-core.mjs /path/to/old-checkout && node bench/session-core.mjs .
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? '.');
const lib = (file) => import(pathToFileURL(`${root}/libs/wwplugin/dist/protocol/${file}`).href);
const { SessionChannel } = await lib('session-channel.js');
const { frameCodec } = await lib('proto-definition.js');
const { range } = createRequire(`${root}/package.json`)('rxjs');
const codec = frameCodec();
const CALLS = 20_000;
const ITEMS = 100_000;

/** One end of the pipe: writes are delivered to the peer on the next turn of the event loop. */
class End extends EventEmitter {
  queued = [];
  scheduled = false;
  write(frame, cb) {
    this.queued.push([codec.decode(codec.encode(frame)), cb]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const batch = this.queued;
        this.queued = [];
        for (const [f, done] of batch) {
          done?.();
          this.peer.emit('data', f);
        }
        this.emit('drain');
      });
    }
    return this.queued.length < 16;
  }
  end() {}
}

const a = new End();
const b = new End();
a.peer = b;
b.peer = a;
function* numbers() {
  for (let i = 0; i < ITEMS; i++) yield i;
}
const handler = (call) => (call.function === 'echo' ? 'x'.repeat(100) : call.function === 'gen' ? numbers() : range(0, ITEMS));
const options = { maxMessageBytes: 16 << 20, onFrame: () => undefined, streamBuffer: { items: 1e6, bytes: 1 << 30 } };
const host = new SessionChannel(a, { ...options, peer: 'plugin', onCall: () => undefined });
new SessionChannel(b, { ...options, peer: 'host', onCall: handler });

const cpu = (since) => {
  const c = process.cpuUsage(since);
  return c.user + c.system;
};
for (let i = 0; i < 2_000; i++) await host.call('echo', { payload: 'y'.repeat(100) });
let start = process.cpuUsage();
for (let i = 0; i < CALLS; i++) await host.call('echo', { payload: 'y'.repeat(100) });
console.log(`unary call:          ${(cpu(start) / CALLS).toFixed(1)} µs CPU each`);
for (const fn of ['items', 'gen']) {
  start = process.cpuUsage();
  let n = 0;
  await new Promise((done, fail) => host.stream(fn, {}).subscribe({ next: () => (n += 1), complete: done, error: fail }));
  console.log(`stream item (${fn === 'gen' ? 'generator' : 'Observable'}): ${(cpu(start) / n).toFixed(2)} µs CPU each, ${n} items`);
}
process.exit(0);
