// `npm run bench:micro`: the in-process micro-benchmarks behind the "Performance work" table of
// BENCHMARKS.md — what a per-call allocation the framework removed costs by itself, and the session's
// Frame codec against proto-loader's. CPU time per
// operation (process.cpuUsage), median of 7 batches, in one process; writes
// bench/results/micro-<time>.json and .md.
//
//   node dist/bench/micro.js
import * as protoLoader from '@grpc/proto-loader';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type * as FrameCodec from '../libs/wwplugin/src/protocol/frame-codec.js';
import { RESULTS_DIR, ROOT } from './support/paths.js';
import { median } from './support/stats.js';

const N = 100_000;
const BATCHES = 7;
let sink: unknown;

/** CPU µs per call of `op`, median of BATCHES batches of N after one warm-up batch. */
function perOp(op: (i: number) => unknown): number {
  const batch = () => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) sink = op(i);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  };
  batch();
  return median(Array.from({ length: BATCHES }, batch));
}

class InfoWithGetter {
  constructor(private readonly id: number) {}
  get signal(): number {
    return this.id;
  }
}

// The session's Frame codec: the library's hand-written one against proto-loader's (what it used
// before, with the same options), on the frames of a unary call with a 100-byte string.
const codec = (await import(pathToFileURL(`${ROOT}libs/wwplugin/dist/protocol/frame-codec.js`).href)) as typeof FrameCodec;
const session = (
  protoLoader.loadSync(`${ROOT}proto/wwplugin/v1/wwplugin.proto`, { keepCase: false, longs: String, enums: Number, defaults: false, oneofs: true })[
    'wwplugin.v1.PluginHost'
  ] as protoLoader.ServiceDefinition
).Session as protoLoader.MethodDefinition<object, object>;
const payload = 'x'.repeat(100);
const callFrame = (i: number) => ({ call: { id: i + 1, function: 'echo', args: [{ name: 'payload', type: 1, stringValue: payload }], timeoutMs: 30_000 } });
const resultFrame = (i: number) => ({ result: { id: i + 1, value: { name: '', type: 1, stringValue: payload } } });
const callBytes = codec.encodeFrame(callFrame(0));

const CASES: Array<[string, (i: number) => unknown]> = [
  ['Call frame encode + decode, proto-loader', (i) => session.requestDeserialize(session.requestSerialize(callFrame(i)))],
  ['Call frame encode + decode, hand-written codec', (i) => codec.decodeFrame(codec.encodeFrame(callFrame(i)))],
  ['Result frame encode + decode, proto-loader', (i) => session.requestDeserialize(session.requestSerialize(resultFrame(i)))],
  ['Result frame encode + decode, hand-written codec', (i) => codec.decodeFrame(codec.encodeFrame(resultFrame(i)))],
  ['Call frame decode alone, proto-loader', () => session.requestDeserialize(callBytes)],
  ['Call frame decode alone, hand-written codec', () => codec.decodeFrame(callBytes)],

  // incoming-call.ts: a signal is made only when a handler reads ctx.signal.
  ['new AbortController() and its signal', () => new AbortController().signal],
  // one deadline timer per session instead of one per call (watchDeadline).
  ['setTimeout + clearTimeout', () => clearTimeout(setTimeout(() => undefined, 30_000))],
  // IncomingCallInfo: the getter on a class prototype, not on an object literal per call.
  [
    'object literal with a getter',
    (i) => ({
      id: i,
      get signal() {
        return i;
      },
    }),
  ],
  ['class instance, getter on the prototype', (i) => new InfoWithGetter(i)],
];

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const rows = CASES.map(([label, op]) => ({ label, cpuUsPerOp: perOp(op) }));
const lines = [
  `Run \`bench/results/micro-${stamp}.json\`, ${new Date().toISOString()}, Node ${process.version}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}: CPU µs per operation, median of ${BATCHES} batches of ${N}.`,
  '',
  '| operation | CPU µs |',
  '|---|---:|',
  ...rows.map((r) => `| ${r.label} | ${r.cpuUsPerOp.toFixed(3)} |`),
];
console.log(lines.join('\n'));
void sink;
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(
  `${RESULTS_DIR}micro-${stamp}.json`,
  `${JSON.stringify({ when: new Date().toISOString(), node: process.version, n: N, batches: BATCHES, rows }, null, 2)}\n`,
);
writeFileSync(`${RESULTS_DIR}micro-${stamp}.md`, `${lines.join('\n')}\n`);
