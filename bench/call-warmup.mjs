// CPU per call and p50 of sequential host→plugin calls, batch after batch from a cold start, next to
// the raw grpc-js bidi reference measured the same way: how long each takes to reach its steady
// state (JIT warm-up; compiler threads count in process CPU), and the two steady states compared.
// Build first.   node bench/call-warmup.mjs [batches=24] [batch=3000]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('../', import.meta.url));
const batches = Number(process.argv[2] ?? 24);
const batch = Number(process.argv[3] ?? 3000);
const payload = 'x'.repeat(100);
const { sequential } = await import(`${root}dist/bench/support/stats.js`);

/** Batches from a cold start: [seconds since the first call, p50 µs, CPU µs per call of both processes]. */
async function batchesOf(call, peerCpu) {
  const rows = [];
  const t0 = performance.now();
  for (let r = 0; r < batches; r++) {
    const p0 = await peerCpu();
    const c0 = process.cpuUsage();
    const { p50 } = await sequential(batch, 0, call);
    const c = process.cpuUsage(c0);
    const peer = (await peerCpu()) - p0;
    rows.push([(performance.now() - t0) / 1000, p50, (c.user + c.system + peer) / batch]);
  }
  return rows;
}

// The raw reference: this process is the client of bench/raw's server.
const grpc = await import('@grpc/grpc-js');
const { benchService } = await import(`${root}dist/bench/raw/bench-service.js`);
const server = fork(`${root}dist/bench/raw/raw-server.js`, [JSON.stringify({ transport: 'unix' })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const address = await new Promise((resolve) => server.on('message', (m) => m.type === 'listening' && resolve(m.address)));
const client = new (benchService())(address, grpc.credentials.createInsecure());
const bidi = client.Bidi();
bidi.on('error', () => undefined); // the CANCELLED of closing the client at the end
const waiting = new Map();
bidi.on('data', (m) => {
  waiting.get(m.id)?.(m);
  waiting.delete(m.id);
});
let nextId = 1;
const rawCall = () =>
  new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    bidi.write({ id, payload });
  });
const serverCpu = () =>
  new Promise((resolve, reject) => client.Unary({ id: 0, payload: '' }, (err, res) => (err ? reject(err) : resolve(Number(res.payload)))));
const raw = await batchesOf(rawCall, serverCpu);
bidi.end();
client.close();
server.kill('SIGTERM');

// The framework: this process is the host of the bench plugin.
await import(`${root}node_modules/reflect-metadata/Reflect.js`);
const { NestFactory } = await import('@nestjs/core');
const { PluginHostService } = await import('@wwplugin/nestjs');
const { BenchHostModule } = await import(`${root}dist/bench/framework/bench-host.module.js`);
const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
const host = app.get(PluginHostService);
await host.load({ name: 'bench-a', path: `${root}dist/bench/plugin/main.js`, env: { BENCH_PLUGIN_NAME: 'bench-a' } });
const framework = await batchesOf(
  () => host.call('bench-a', 'echo', { payload }),
  () => host.call('bench-a', 'cpu'),
);
await app.close();

console.log('batch   raw: t(s)  p50 µs  CPU µs/call | framework: t(s)  p50 µs  CPU µs/call');
raw.forEach((r, i) => {
  const f = framework[i];
  console.log(`${String(i + 1).padStart(5)}   ${r.map((v) => v.toFixed(1).padStart(7)).join(' ')}  | ${f.map((v) => v.toFixed(1).padStart(7)).join(' ')}`);
});
// Steady state: the median over the second half of the batches.
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const steady = (rows, k) => med(rows.slice(Math.floor(rows.length / 2)).map((r) => r[k]));
const [rp, rc, fp, fc] = [steady(raw, 1), steady(raw, 2), steady(framework, 1), steady(framework, 2)];
console.log(
  `steady (median of the last ${batches - Math.floor(batches / 2)} batches): p50 ${fp.toFixed(1)} vs raw ${rp.toFixed(1)} (${(fp / rp).toFixed(2)}x); CPU per call ${fc.toFixed(1)} vs raw ${rc.toFixed(1)} (${(fc / rc).toFixed(2)}x)`,
);
process.exit(0);
