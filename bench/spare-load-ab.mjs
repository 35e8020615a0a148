// load() → first reply of the bundled bench plugin in the host's shared spare, and its cold start, for
// two checkouts in one run: two host apps in one process (each `spares: 1`, its own library, its own
// bundle made by its own scripts/bundle-plugin.mjs), taking turns, so that a busy machine's load
// drifts over both alike. Besides wall-clock times it gives the plugin process's CPU time from the
// spare being taken to the first reply (the spare's CPU before it was taken subtracted), which a
// loaded machine disturbs much less. Build both first (a copy of an older build works too).
//   node bench/spare-load-ab.mjs BASE NEW [rounds=8] [--json FILE]
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
const [A, B] = [resolve(args[0]), resolve(args[1])];
const rounds = Number(args[2] ?? 8);
const imp = (root, f) => import(pathToFileURL(`${root}/${f}`).href);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
/** CPU time (ms) of every thread of a process so far, from the scheduler's nanosecond counters. */
const cpuMsOf = (pid) => {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return ns / 1e6;
};

await imp(A, 'node_modules/reflect-metadata/Reflect.js');
const work = mkdtempSync(join(tmpdir(), 'spare-load-ab-'));

async function side(root, label) {
  const { bundlePlugin } = await imp(root, 'scripts/bundle-plugin.mjs');
  const bundle = join(work, label, 'plugin', 'main.mjs');
  const made = await bundlePlugin(`${root}/dist/bench/plugin/main.js`, bundle);
  if (!made.ok) throw new Error(made.reason);
  // Each checkout's own Nest: the library resolves @nestjs/core from its own node_modules.
  const { NestFactory } = await imp(root, 'node_modules/@nestjs/core/index.js');
  const { BenchHostModule } = await imp(root, 'dist/bench/framework/bench-host.module.js');
  const { PluginHostService } = await imp(root, 'libs/wwplugin/dist/index.js');
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({ spares: 1 }), { logger: ['error'] });
  const host = app.get(PluginHostService);
  return { root, label, app, host, bundle, spare: [], spareCpu: [], cold: [], coldCpu: [] };
}

async function readySpare(host) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(5)) {
    const s = host.spares().find((x) => x.ready && !x.plugin);
    if (s) return s;
  }
  throw new Error('no spare ready within 60 s');
}

/** One load() → first reply; with the shared spare, the plugin's CPU since the spare was taken. */
async function once(s, name, spare) {
  // A cold start too waits for the shared spare: no spare warming up beside either start.
  const ready = await readySpare(s.host);
  // The spare's own warm-up is over: nothing of it is counted.
  await sleep(200);
  const before = spare ? cpuMsOf(ready.pid) : 0;
  const payload = 'x'.repeat(100);
  const t0 = performance.now();
  await s.host.load({ name, path: s.bundle, spare, env: { BENCH_PLUGIN_NAME: name } });
  await s.host.call(name, 'echo', { payload });
  const ms = performance.now() - t0;
  const cpuMs = cpuMsOf(s.host.get(name).pid) - before;
  await s.host.unload(name);
  return { ms, cpuMs };
}

const sides = [await side(A, 'base'), await side(B, 'new')];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [sides[1], sides[0]] : sides;
  for (const s of order) {
    const warm = await once(s, `${s.label}-spare-${r}`, true);
    s.spare.push(warm.ms);
    s.spareCpu.push(warm.cpuMs);
    const cold = await once(s, `${s.label}-cold-${r}`, false);
    s.cold.push(cold.ms);
    s.coldCpu.push(cold.cpuMs);
  }
}
for (const s of sides) await s.app.close();
rmSync(work, { recursive: true, force: true });

const out = {};
for (const s of sides) {
  out[s.label] = {
    root: s.root,
    spareLoadMs: median(s.spare),
    coldMs: median(s.cold),
    ratio: median(s.spare) / median(s.cold),
    spareLoadCpuMs: median(s.spareCpu),
    coldCpuMs: median(s.coldCpu),
    runs: { spare: s.spare, cold: s.cold, spareCpu: s.spareCpu, coldCpu: s.coldCpu },
  };
  const f = (xs) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(`${s.label} (${s.root}), medians of ${rounds}:`);
  console.log(
    `  load() → first reply, bundled, shared spare: ${median(s.spare).toFixed(1)} ms [${f(s.spare)}]; plugin CPU ${median(s.spareCpu).toFixed(1)} ms [${f(s.spareCpu)}]`,
  );
  console.log(
    `  cold start, bundled:                        ${median(s.cold).toFixed(1)} ms [${f(s.cold)}]; plugin CPU ${median(s.coldCpu).toFixed(1)} ms [${f(s.coldCpu)}]`,
  );
  console.log(`  ratio (medians): ${(median(s.spare) / median(s.cold)).toFixed(2)}x`);
}
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ at: new Date().toISOString(), rounds, node: process.version, ...out }, null, 2));
process.exit(0);
