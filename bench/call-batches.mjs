// CPU per sequential call, batch after batch, the framework as bench/framework/host-child.ts runs it
// (a fresh host process with bench-a and bench-b loaded, sequentialWarmupMs of warm-up) and the raw
// bidi reference as bench/raw/raw-client.ts runs it (fresh client; the server fresh too unless
// told). Each side in a child of its own; host and peer CPU apart, and the host's GC time.
// Build first.   node bench/call-batches.mjs [framework|raw] [batches=8] [batch=3000] [warmupMs=5000]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
const root = fileURLToPath(new URL('../', import.meta.url));
const [side = 'framework', batchesArg, batchArg, warmArg] = process.argv.slice(2);
const batches = Number(batchesArg ?? 8);
const batch = Number(batchArg ?? 3000);
const warmupMs = Number(warmArg ?? 5000);
const payload = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 100);
const { gcMeter, sequential } = await import(`${root}dist/bench/support/stats.js`);
const gc = gcMeter();

/** CPU ms of a process's threads from /proc, by thread name (main thread: 'main'). */
function threads(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\s+/g, '_');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    } catch {}
  }
  return out;
}
/** Context switches of a process (all threads), voluntary and not. */
function switches(pid) {
  let v = 0;
  let nv = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      v += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
      nv += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)[1]);
    } catch {}
  }
  return [v, nv];
}
const diff = (a, b) =>
  Object.fromEntries(
    Object.keys(b)
      .map((k) => [k, b[k] - (a[k] ?? 0)])
      .filter(([, v]) => v),
  );
let peerPid = 0;

async function batchesOf(call, peerCpu) {
  let warmCalls = 0;
  const timeline = [];
  if (process.env.TIMELINE) {
    let last = { t: performance.now(), n: 0, h: threads(process.pid), p: peerPid ? threads(peerPid) : {} };
    const tick = setInterval(() => {
      const now = { t: performance.now(), n: warmCalls, h: threads(process.pid), p: peerPid ? threads(peerPid) : {} };
      timeline.push(
        `  +${((now.t - t00) / 1000).toFixed(1)}s ${now.n - last.n} calls, host ${JSON.stringify(diff(last.h, now.h))} peer ${JSON.stringify(diff(last.p, now.p))}`,
      );
      last = now;
    }, 500);
    setTimeout(() => clearInterval(tick), warmupMs + 100);
  }
  const t00 = performance.now();
  const counted = () => (warmCalls++, call());
  if (process.env.PRECPU) {
    // The calls of the measured window, in the warm-up too: the CPU reading is warm as well.
    await sequential(1, warmupMs / 2, counted);
    for (let i = 0; i < Number(process.env.PRECPU); i++) await peerCpu();
    await sequential(1, warmupMs / 2, counted);
  } else await sequential(1, warmupMs, counted);
  console.log(`warm-up: ${warmCalls} calls`);
  if (process.env.TIMELINE) console.log(timeline.join('\n'));
  const rows = [];
  for (let r = 0; r < batches; r++) {
    const p0 = await peerCpu();
    const th0 = threads(process.pid);
    const sw0 = [switches(process.pid), peerPid ? switches(peerPid) : [0, 0]];
    const pt0 = peerPid ? threads(peerPid) : {};
    const g0 = gc.ms;
    const n0 = gc.count;
    const c0 = process.cpuUsage();
    const { p50 } = await sequential(batch, 0, call);
    const c = process.cpuUsage(c0);
    const th = diff(th0, threads(process.pid));
    const sw1 = [switches(process.pid), peerPid ? switches(peerPid) : [0, 0]];
    const sw = [0, 1].map((k) => [0, 1].map((j) => ((sw1[k][j] - sw0[k][j]) / batch).toFixed(2)).join('/'));
    const pt = peerPid ? diff(pt0, threads(peerPid)) : {};
    const peer = (await peerCpu()) - p0;
    rows.push({
      sw,
      th,
      pt,
      p50,
      host: (c.user + c.system) / batch,
      peer: peer / batch,
      both: (c.user + c.system + peer) / batch,
      gcMs: gc.ms - g0,
      gcs: gc.count - n0,
    });
  }
  return rows;
}

let rows;
if (side === 'raw') {
  const grpc = await import('@grpc/grpc-js');
  const { benchService } = await import(`${root}dist/bench/raw/bench-service.js`);
  const server = fork(`${root}dist/bench/raw/raw-server.js`, [JSON.stringify({ transport: 'unix' })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  peerPid = server.pid;
  const address = await new Promise((resolve) => server.on('message', (m) => m.type === 'listening' && resolve(m.address)));
  const client = new (benchService())(address, grpc.credentials.createInsecure());
  const bidi = client.Bidi();
  bidi.on('error', () => undefined);
  const waiting = new Map();
  bidi.on('data', (m) => {
    const done = waiting.get(m.id);
    waiting.delete(m.id);
    done?.(m);
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
  rows = await batchesOf(rawCall, serverCpu);
  bidi.end();
  client.close();
  server.kill('SIGTERM');
} else {
  await import(`${root}node_modules/reflect-metadata/Reflect.js`);
  const { NestFactory } = await import('@nestjs/core');
  const { PluginHostService } = await import('@wwplugin/nestjs');
  const { BenchHostModule } = await import(`${root}dist/bench/framework/bench-host.module.js`);
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
  const host = app.get(PluginHostService);
  const plugins = Number(process.env.PLUGINS ?? 2);
  for (let i = 0; i < plugins; i++) {
    const name = `bench-${'ab'[i] ?? i}`;
    await host.load({ name, path: `${root}dist/bench/plugin/main.js`, env: { BENCH_PLUGIN_NAME: name } });
  }
  peerPid = host.get('bench-a').pid;
  rows = await batchesOf(
    () => host.call('bench-a', 'echo', { payload }),
    () => host.call('bench-a', 'cpu'),
  );
  await app.close();
}
console.log(`${side}: batch of ${batch} after ${warmupMs} ms   p50 µs | CPU µs/call: host  peer  both | host GC ms (count)`);
rows.forEach((r, i) =>
  console.log(
    `${String(i + 1).padStart(3)}  ${r.p50.toFixed(1).padStart(7)} | ${r.host.toFixed(1).padStart(6)} ${r.peer.toFixed(1).padStart(6)} ${r.both.toFixed(1).padStart(6)} | ${r.gcMs.toFixed(1).padStart(6)} (${r.gcs}) | switches/call host ${r.sw[0]} peer ${r.sw[1]} | threads ms host ${JSON.stringify(r.th)} peer ${JSON.stringify(r.pt)}`,
  ),
);
process.exit(0);
