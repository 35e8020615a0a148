// Pushes host→plugin as bench/framework/host-child.ts sends them (the outbox topped up to 8,000
// every millisecond) next to the raw grpc-js server stream of bench/raw, each in fresh processes:
// messages/s as the receiver sees them and CPU per message of sender and receiver (/proc), which a
// busy machine disturbs much less than the rate. Build first.
//   node bench/push-cpu.mjs [framework|raw] [count=100000] [rounds=3] [ROOT of another build]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
const [side = 'framework', countArg, roundsArg, rootArg] = process.argv.slice(2);
const root = rootArg ? `${resolve(rootArg)}/` : fileURLToPath(new URL('../', import.meta.url));
const imp = (f) => import(pathToFileURL(`${root}${f}`).href);
const count = Number(countArg ?? 100_000);
const rounds = Number(roundsArg ?? 3);
const payload = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 100);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU µs of a whole process from /proc (every thread). */
function cpuOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}
const rows = [];
if (side === 'raw') {
  const grpc = await imp('node_modules/@grpc/grpc-js/build/src/index.js');
  const { benchService } = await imp('dist/bench/raw/bench-service.js');
  const prof = process.env.PROFILE_DIR;
  const server = fork(`${root}dist/bench/raw/raw-server.js`, [JSON.stringify({ transport: 'unix' })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : process.env.SERVER_TRACE_GC ? ['--trace-gc'] : [],
  });
  const address = await new Promise((r) => server.on('message', (m) => m.type === 'listening' && r(m.address)));
  const client = new (benchService())(address, grpc.credentials.createInsecure());
  const stream = (n) =>
    new Promise((res, rej) => {
      const call = client.ServerStream({ count: n, payload });
      let received = 0;
      let first = 0;
      call.on('data', () => {
        if (received++ === 0) first = performance.now();
      });
      call.on('end', () => res(((received - 1) * 1000) / (performance.now() - first)));
      call.on('error', rej);
    });
  for (let r = 0; r <= rounds; r++) {
    const s0 = cpuOf(server.pid);
    const c0 = cpuOf(process.pid);
    const rate = await stream(count);
    rows.push({ rate, sender: (cpuOf(server.pid) - s0) / count, receiver: (cpuOf(process.pid) - c0) / count });
  }
  client.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
} else {
  await imp('node_modules/reflect-metadata/Reflect.js');
  const { NestFactory } = await imp('node_modules/@nestjs/core/index.js');
  const { PluginHostService } = await imp('libs/wwplugin/dist/index.js');
  const { BenchHostModule } = await imp('dist/bench/framework/bench-host.module.js');
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
  const host = app.get(PluginHostService);
  const prof = process.env.PROFILE_DIR;
  const entry = `${root}dist/bench/plugin/main.js`;
  await host.load({
    name: 'bench-a',
    ...(prof ? { command: process.execPath, args: ['--cpu-prof', `--cpu-prof-dir=${prof}`, entry] } : { path: entry }),
    env: { BENCH_PLUGIN_NAME: 'bench-a' },
  });
  const pid = host.get('bench-a').pid;
  for (let r = 0; r <= rounds; r++) {
    // A preload (--import) may define __startAlloc/__stopAlloc to sample the host's allocations from round 1 on.
    if (r === 1 && globalThis.__startAlloc) await globalThis.__startAlloc();
    await host.call('bench-a', 'pushReset');
    const s0 = cpuOf(process.pid);
    const c0 = cpuOf(pid);
    let sent = 0;
    while (sent < count) {
      const info = host.get('bench-a');
      const room = Math.min(8_000 - info.pushesQueued - info.pushesUnacked, count - sent);
      for (let i = 0; i < room; i++, sent++) host.push('bench-a', 'bench', payload);
      if (sent < count) await sleep(1);
    }
    let stats;
    for (;;) {
      stats = await host.call('bench-a', 'pushStats');
      if (stats.count + host.get('bench-a').pushesDropped >= count) break;
      await sleep(20);
    }
    while (host.get('bench-a').pushesUnacked > 0) await sleep(5);
    rows.push({
      rate: ((stats.count - 1) * 1000) / stats.spanMs,
      sender: (cpuOf(process.pid) - s0) / count,
      receiver: (cpuOf(pid) - c0) / count,
      dropped: host.get('bench-a').pushesDropped,
    });
  }
  if (globalThis.__stopAlloc) await globalThis.__stopAlloc(process.env.ALLOC_FILE);
  await host.unload('bench-a');
  await app.close();
}
// Round 0 is the warm-up.
console.log(`${side} (${root}): ${count} messages; per round: msgs/s | CPU µs/msg sender receiver both`);
rows.forEach((r, i) =>
  console.log(
    `${i ? ` ${i}` : ' w'}  ${Math.round(r.rate).toString().padStart(7)} | ${r.sender.toFixed(2).padStart(6)} ${r.receiver.toFixed(2).padStart(6)} ${(r.sender + r.receiver).toFixed(2).padStart(6)}${r.dropped ? ` dropped ${r.dropped}` : ''}`,
  ),
);
process.exit(0);
