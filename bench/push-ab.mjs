// CPU per host→plugin push of two checkouts, compared in one run (as bench/call-ab.mjs does for
// calls): two host apps in one process, one per checkout, each with its bench plugin; rounds of
// pushes alternate between them, sent as bench/framework/host-child.ts sends them (outbox topped up
// to 8,000 every millisecond). Per push: host CPU, plugin CPU (/proc), and the rate the plugin saw.
// Build both first.   node bench/push-ab.mjs BASE NEW [rounds=10] [count=50000]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [A, B] = [resolve(process.argv[2]), resolve(process.argv[3])];
const rounds = Number(process.argv[4] ?? 10);
const count = Number(process.argv[5] ?? 50_000);
const imp = (root, f) => import(pathToFileURL(`${root}/${f}`).href);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const payload = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, 100);
const cpuOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
};
await imp(A, 'node_modules/reflect-metadata/Reflect.js');
async function side(root, name) {
  // Each checkout's own Nest: its library resolves @nestjs/core from its own node_modules.
  const { NestFactory } = await imp(root, 'node_modules/@nestjs/core/index.js');
  const { BenchHostModule } = await imp(root, 'dist/bench/framework/bench-host.module.js');
  const { PluginHostService } = await imp(root, 'libs/wwplugin/dist/index.js');
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
  const host = app.get(PluginHostService);
  await host.load({ name, path: `${root}/dist/bench/plugin/main.js`, env: { BENCH_PLUGIN_NAME: name } });
  return { root, app, host, name, pid: host.get(name).pid, hostUs: 0, pluginUs: 0, n: 0, rates: [], hostRounds: [] };
}
async function round(s) {
  const { host, name } = s;
  await host.call(name, 'pushReset');
  const h0 = cpuOf(process.pid);
  const p0 = cpuOf(s.pid);
  let sent = 0;
  while (sent < count) {
    const info = host.get(name);
    const room = Math.min(8_000 - info.pushesQueued - info.pushesUnacked, count - sent);
    for (let i = 0; i < room; i++, sent++) host.push(name, 'bench', payload);
    if (sent < count) await sleep(1);
  }
  let stats;
  for (;;) {
    stats = await host.call(name, 'pushStats');
    if (stats.count + host.get(name).pushesDropped >= count) break;
    await sleep(5);
  }
  while (host.get(name).pushesUnacked > 0) await sleep(2);
  return { host: cpuOf(process.pid) - h0, plugin: cpuOf(s.pid) - p0, rate: ((stats.count - 1) * 1000) / stats.spanMs };
}
const sides = [await side(A, 'a'), await side(B, 'b')];
for (const s of sides) await round(s); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const s of r % 2 ? [sides[1], sides[0]] : sides) {
    const m = await round(s);
    s.hostUs += m.host;
    s.pluginUs += m.plugin;
    s.n += count;
    s.rates.push(m.rate);
    s.hostRounds.push(m.host / count);
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const s of sides)
  console.log(
    `${s.root}: host ${(s.hostUs / s.n).toFixed(2)} µs/push, plugin ${(s.pluginUs / s.n).toFixed(2)}, both ${((s.hostUs + s.pluginUs) / s.n).toFixed(2)}; median rate ${Math.round(med(s.rates))} msgs/s; host median of rounds ${med(s.hostRounds).toFixed(2)}`,
  );
const [a, b] = sides;
console.log(
  `ratio new/base: host ${(b.hostUs / a.hostUs).toFixed(3)}, plugin ${(b.pluginUs / a.pluginUs).toFixed(3)}, both ${((b.hostUs + b.pluginUs) / (a.hostUs + a.pluginUs)).toFixed(3)}, rate ${(med(b.rates) / med(a.rates)).toFixed(3)}, host median of rounds ${(med(b.hostRounds) / med(a.hostRounds)).toFixed(3)}`,
);
for (const s of sides) await s.app.close();
process.exit(0);
