// CPU per host→plugin call of two checkouts, compared in one run: two host apps in one process,
// one per checkout (each with its plugin process), and batches of sequential calls alternating
// between them, so that a busy machine's load drifts over both alike. Build both first; a copy of
// an older build works too (dist/, libs/wwplugin/dist/, bench/proto and a node_modules whose
// @wwplugin/nestjs points at the copy's libs/wwplugin).
//   node bench/call-ab.mjs BASE NEW [rounds=60] [batch=400]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [A, B] = [resolve(process.argv[2]), resolve(process.argv[3])];
const rounds = Number(process.argv[4] ?? 60);
const batch = Number(process.argv[5] ?? 400);
const imp = (root, f) => import(pathToFileURL(`${root}/${f}`).href);
await imp(A, 'node_modules/reflect-metadata/Reflect.js');
const { NestFactory } = await imp(A, 'node_modules/@nestjs/core/index.js');
async function side(root, name) {
  const { BenchHostModule } = await imp(root, 'dist/bench/framework/bench-host.module.js');
  const { PluginHostService } = await imp(root, 'libs/wwplugin/dist/index.js');
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
  const host = app.get(PluginHostService);
  await host.load({ name, path: `${root}/dist/bench/plugin/main.js`, env: { BENCH_PLUGIN_NAME: name } });
  const payload = 'x'.repeat(100);
  return { root, app, host, name, call: () => host.call(name, 'echo', { payload }), cpu: () => host.call(name, 'cpu'), hostUs: 0, pluginUs: 0, n: 0, lat: [] };
}
const sides = [await side(A, 'a'), await side(B, 'b')];
const cpu = (t) => {
  const c = process.cpuUsage(t);
  return c.user + c.system;
};
// Warm-up: both paths compiled before anything is counted.
for (const s of sides) {
  const until = performance.now() + 2000;
  while (performance.now() < until) await s.call();
}
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [sides[1], sides[0]] : sides;
  for (const s of order) {
    const p0 = await s.cpu();
    const t0 = process.cpuUsage();
    for (let i = 0; i < batch; i++) {
      const a = performance.now();
      await s.call();
      s.lat.push(performance.now() - a);
    }
    const h = cpu(t0);
    const p = (await s.cpu()) - p0;
    s.hostUs += h;
    s.pluginUs += p;
    s.n += batch;
  }
}
const med = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
};
for (const s of sides)
  console.log(
    `${s.root}: host ${(s.hostUs / s.n).toFixed(1)} µs/call, plugin ${(s.pluginUs / s.n).toFixed(1)}, both ${((s.hostUs + s.pluginUs) / s.n).toFixed(1)}; p50 ${(med(s.lat) * 1000).toFixed(1)} µs`,
  );
const [a, b] = sides;
console.log(
  `ratio new/base: host ${(b.hostUs / a.hostUs).toFixed(3)}, plugin ${(b.pluginUs / a.pluginUs).toFixed(3)}, both ${((b.hostUs + b.pluginUs) / (a.hostUs + a.pluginUs)).toFixed(3)}, p50 ${(med(b.lat) / med(a.lat)).toFixed(3)}`,
);
for (const s of sides) await s.app.close();
process.exit(0);
