// Where SIGKILL → serving goes with a spare, phase by phase, for a bundled and an unbundled plugin,
// with the host's shared spare and with the plugin's own (`spare: 'own'`); and load() with a ready
// spare, against the same entry's cold start in the same run.
//
//   npm run bench:spares [-- --runs 5]
//
// Times are wall-clock (ms since the epoch) so that the host's and the plugin's marks compare; each
// row is the median over the runs of the time from the SIGKILL (or the load() call) to that phase.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule, type PluginEvent, type PluginSpec } from '@wwplugin/nestjs';
import { rmSync } from 'node:fs';
import { bundlePlugin } from './bundle-plugin.js';
import { DIST_BENCH, ROOT } from './support/paths.js';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

/** Host-side marks of the library's internals (the same module instances the host runs). */
const hostMarks: Record<string, number> = {};
async function instrument(): Promise<void> {
  const lib = `${ROOT}libs/wwplugin/dist/host/`;
  const { ManagedPlugin } = (await import(`${lib}managed-plugin.js`)) as { ManagedPlugin: { prototype: Record<string, (...a: unknown[]) => unknown> } };
  const { SparePool } = (await import(`${lib}spare-pool.js`)) as { SparePool: { prototype: Record<string, (...a: unknown[]) => unknown> } };
  const wrap = (proto: Record<string, (...a: unknown[]) => unknown>, method: string, mark: string, onlyIfResult = false) => {
    const original = proto[method];
    if (!original) return;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (!onlyIfResult || result) hostMarks[mark] ??= now();
      return result;
    };
  };
  wrap(ManagedPlugin.prototype, 'sessionEnded', 'sessionEnded');
  wrap(ManagedPlugin.prototype, 'adopt', 'helloAccepted');
  wrap(SparePool.prototype, 'take', 'spareTaken', true);
  wrap(SparePool.prototype, 'takeOwn', 'spareTaken', true);
  wrap(SparePool.prototype, 'takePrewarmed', 'spareTaken', true);
}

@Module({})
class SparesBenchHost {}

async function main(): Promise<void> {
  await instrument();
  const unbundled = `${DIST_BENCH}spares-plugin/main.js`;
  const bundleDir = `${DIST_BENCH}bundle-spares-${process.pid}`;
  const bundle = await bundlePlugin(unbundled, `${bundleDir}/plugin/main.mjs`);
  const entries: Record<string, string> = { unbundled, ...(bundle.ok ? { bundled: `${bundleDir}/plugin/main.mjs` } : {}) };
  const app = await NestFactory.createApplicationContext(
    { module: SparesBenchHost, imports: [WwPluginModule.forRoot({ spares: 1, heartbeat: false })] },
    { logger: ['error'] },
  );
  const host = app.get(PluginHostService);
  const events: Array<PluginEvent & { at: number }> = [];
  host.events().subscribe((e) => events.push({ ...e, at: now() }));
  const payload = 'x'.repeat(64);
  const readySpare = async (plugin?: string) => {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(5)) {
      if (host.spares().some((s) => s.ready && s.plugin === plugin)) return;
    }
    throw new Error('no spare ready within 60 s');
  };
  const eventAt = (name: string, type: string, after: number) => events.find((e) => e.plugin === name && e.type === type && e.at >= after)?.at;

  const rows: Record<string, Record<string, number[]>> = {};
  const add = (key: string, phase: string, ms: number | undefined) => {
    if (ms === undefined || Number.isNaN(ms)) return;
    ((rows[key] ??= {})[phase] ??= []).push(ms);
  };
  const plugin = (name: string, entry: string, spare: PluginSpec['spare']): PluginSpec => ({ path: entry, name, spare, env: { BENCH_PLUGIN_NAME: name } });

  for (let run = 0; run < RUNS; run++) {
    for (const [label, entry] of Object.entries(entries)) {
      // Cold start, then load() with the shared spare ready.
      for (const [kind, spare] of [
        ['cold', false],
        ['load with shared spare', true],
        ['load with prewarmed spare', 'prewarm'],
      ] as const) {
        const name = `${label}-${run}-${spare}`;
        if (spare === true) await readySpare();
        if (spare === 'prewarm' && !(await host.prewarm(plugin(name, entry, true)))) throw new Error('prewarm failed');
        for (const k of Object.keys(hostMarks)) delete hostMarks[k];
        const t0 = now();
        await host.load(plugin(name, entry, spare !== false));
        const loaded = now();
        await host.call(name, 'echo', { payload });
        const replied = now();
        const marks = await host.call<Record<string, number>>(name, 'marks');
        const key = `${label}: ${kind}`;
        add(key, 'spare taken (host)', hostMarks.spareTaken && hostMarks.spareTaken - t0);
        if (!spare) add(key, 'process started', marks.processStart - t0);
        add(key, 'entry imported', marks.imported - t0);
        add(key, 'providers constructed', marks.constructed - t0);
        add(key, 'onModuleInit', marks.moduleInit - t0);
        add(key, 'onApplicationBootstrap', marks.appBootstrap - t0);
        add(key, 'Hello accepted (host)', hostMarks.helloAccepted && hostMarks.helloAccepted - t0);
        add(key, 'Welcome received (plugin)', marks.welcomed - t0);
        add(key, 'load() resolved', loaded - t0);
        add(key, 'first reply', replied - t0);
        await host.unload(name);
      }
      // SIGKILL → serving, with the shared spare and with its own.
      for (const [kind, spare] of [
        ['SIGKILL, shared spare', true],
        ['SIGKILL, own spare', 'own'],
      ] as const) {
        const name = `${label}-${run}-kill-${String(spare)}`;
        // Started in the shared spare: a bundle is found out there and keeps a spare of its own.
        await readySpare();
        await host.load(plugin(name, entry, spare));
        const id = host.get(name)!.id;
        await readySpare();
        // Its own spare: asked for ('own'), or kept for a bundle found out in the shared spare.
        if (spare === 'own' || host.spares().some((s) => s.plugin === id)) await readySpare(id);
        const pid = host.get(name)!.pid!;
        for (const k of Object.keys(hostMarks)) delete hostMarks[k];
        const t0 = now();
        process.kill(pid, 'SIGKILL');
        for (const deadline = Date.now() + 30_000; !eventAt(name, 'exited', t0) && Date.now() < deadline;) await sleep(1);
        await host.call(name, 'echo', { payload }, { timeoutMs: 30_000 });
        const replied = now();
        const marks = await host.call<Record<string, number>>(name, 'marks');
        const key = `${label}: ${kind}`;
        add(key, 'session end seen (host)', hostMarks.sessionEnded && hostMarks.sessionEnded - t0);
        add(key, 'exit seen (host: exited event)', (eventAt(name, 'exited', t0) ?? NaN) - t0);
        add(key, 'restart decided (restarting event)', (eventAt(name, 'restarting', t0) ?? NaN) - t0);
        add(key, 'spare taken (host)', hostMarks.spareTaken && hostMarks.spareTaken - t0);
        if (marks.imported > t0) add(key, 'entry imported', marks.imported - t0);
        add(key, 'providers constructed', marks.constructed - t0);
        add(key, 'onModuleInit', marks.moduleInit - t0);
        add(key, 'onApplicationBootstrap', marks.appBootstrap - t0);
        add(key, 'Hello accepted (host)', hostMarks.helloAccepted && hostMarks.helloAccepted - t0);
        add(key, 'Welcome received (plugin)', marks.welcomed - t0);
        add(key, 'running (restarted event)', (eventAt(name, 'restarted', t0) ?? NaN) - t0);
        add(key, 'first reply', replied - t0);
        await host.unload(name);
      }
    }
  }
  await app.close();
  rmSync(bundleDir, { recursive: true, force: true });

  const cold = (label: string) => median(rows[`${label}: cold`]?.['first reply'] ?? []);
  for (const [key, phases] of Object.entries(rows)) {
    const label = key.split(':')[0];
    console.log(`\n${key} (median of ${RUNS}, ms from the SIGKILL or the load() call)`);
    for (const [phase, xs] of Object.entries(phases))
      console.log(`  ${phase.padEnd(38)} ${median(xs).toFixed(1).padStart(7)}   [${xs.map((x) => x.toFixed(0)).join(' ')}]`);
    if (!key.endsWith('cold'))
      console.log(`  ${'ratio to cold start (first reply)'.padEnd(38)} ${(median(phases['first reply']) / cold(label)).toFixed(2).padStart(7)}x`);
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
