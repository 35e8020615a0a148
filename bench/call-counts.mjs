// What one sequential call costs in Node primitives (process.nextTick, setImmediate, setTimeout,
// Buffer allocations, Readable push/pause/resume), per process: the framework (host, plugin) next to
// the raw grpc-js bidi reference (client, server), with the same payload. Counts, not timings: steady
// on a busy machine. Build first; run with the counting preload:
//   node --import ./bench/support/call-counts-preload.mjs bench/call-counts.mjs [calls=5000]
// (syscalls per call, for the same comparison: strace -f -c, two runs of different lengths.)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const root = fileURLToPath(new URL('../', import.meta.url));
const N = Number(process.argv[2] ?? 5000);
const preload = ['--import', `${root}bench/support/call-counts-preload.mjs`];
const read = (pid) => JSON.parse(readFileSync(`${process.env.COUNTS_DIR}/${pid}.json`, 'utf8'));
const settle = () => new Promise((r) => setTimeout(r, 300));
async function measure(label, peerPid, call) {
  for (let i = 0; i < 2000; i++) await call();
  await settle();
  const a = [read(process.pid), read(peerPid)];
  for (let i = 0; i < N; i++) await call();
  await settle();
  const b = [read(process.pid), read(peerPid)];
  label.forEach((side, i) =>
    console.log(
      `${side.padEnd(16)} ${Object.keys(b[i])
        .sort()
        .map((k) => `${k} ${((b[i][k] - (a[i][k] ?? 0)) / N).toFixed(2)}`)
        .join(', ')}`,
    ),
  );
}
const payload = 'x'.repeat(100);

// The framework: this process is the host, the plugin runs with the same preload.
await import(`${root}node_modules/reflect-metadata/Reflect.js`);
const { NestFactory } = await import('@nestjs/core');
const { PluginHostService } = await import('@wwplugin/nestjs');
const { BenchHostModule } = await import(`${root}dist/bench/framework/bench-host.module.js`);
const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
const host = app.get(PluginHostService);
await host.load({ name: 'counted', command: process.execPath, args: [...preload, `${root}dist/bench/plugin/main.js`], env: { BENCH_PLUGIN_NAME: 'counted' } });
const pluginPid = host.list().find((p) => p.name === 'counted')?.pid;
await measure(['framework host', 'framework plugin'], pluginPid, () => host.call('counted', 'echo', { payload }));
await app.close();

// The raw reference: this process is the client, bench/raw's server runs with the preload.
const grpc = await import('@grpc/grpc-js');
const { benchService } = await import(`${root}dist/bench/raw/bench-service.js`);
const server = fork(`${root}dist/bench/raw/raw-server.js`, [JSON.stringify({ transport: 'unix' })], {
  execArgv: preload,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const address = await new Promise((resolve) => server.on('message', (m) => m.type === 'listening' && resolve(m.address)));
const Ctor = benchService();
const client = new Ctor(address, grpc.credentials.createInsecure());
const bidi = client.Bidi();
bidi.on('error', () => undefined); // the CANCELLED of closing the client at the end
const waiting = new Map();
bidi.on('data', (m) => {
  waiting.get(m.id)?.(m);
  waiting.delete(m.id);
});
let nextId = 1;
await measure(
  ['raw client', 'raw server'],
  server.pid,
  () =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      bidi.write({ id, payload });
    }),
);
bidi.end();
client.close();
server.kill('SIGTERM');
