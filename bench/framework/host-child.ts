// The framework side of the benchmark: a Nest host app in its own process, running one scenario
// (config.scenario) against real plugin processes, and reporting its figures over IPC.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, type PluginEvent, type PluginSpec, type SpareInfo } from '@wwplugin/nestjs';
import { readFileSync } from 'node:fs';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { bareOnce } from '../support/bare-reference.js';
import { fatal, readConfig, report, type ChildConfig } from '../support/child-io.js';
import { DIST_BENCH } from '../support/paths.js';
import { inFlight, makePayload, median, sequential, sequentialCpu, sequentialWarmupCalls, sequentialWarmupMs } from '../support/stats.js';
import { BenchHostModule } from './bench-host.module.js';

const PLUGIN_ENTRY = `${DIST_BENCH}plugin/main.js`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ctx {
  config: ChildConfig;
  host: PluginHostService;
  payload: string;
  spec(name: string, env?: Record<string, string>, entry?: string): PluginSpec;
}

async function main(): Promise<void> {
  const config = readConfig();
  // The lifecycle scenario keeps one spare; the others run with the defaults (none).
  const options = {
    ...(config.transport === 'tcp' ? { port: 0 } : {}),
    ...(config.scenario === 'lifecycle' ? { spares: 1 } : {}),
    // --no-heartbeat: what the heartbeats cost, by difference (the idle CPU figure).
    ...(config.heartbeat === false ? { heartbeat: false as const } : {}),
  };
  const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot(options), { logger: ['error'] });
  const host = app.get(PluginHostService);
  // Profiling flags are not allowed in NODE_OPTIONS: start profiled plugins as a command instead.
  const start = (path: string): Partial<PluginSpec> =>
    config.profileDir ? { command: process.execPath, args: ['--cpu-prof', `--cpu-prof-dir=${String(config.profileDir)}`, path] } : { path };
  const ctx: Ctx = {
    config,
    host,
    payload: makePayload(config.payloadBytes),
    spec: (name, env = {}, entry = PLUGIN_ENTRY) => ({ ...start(entry), name, env: { BENCH_PLUGIN_NAME: name, ...env } }),
  };
  const scenarios: Record<string, (c: Ctx) => Promise<Record<string, unknown>>> = { calls, slow, lifecycle, scale };
  const run = scenarios[String(config.scenario)];
  if (!run) throw new Error(`unknown scenario ${String(config.scenario)}`);
  const result = await run(ctx);
  await report({ type: 'result', ...result });
  await app.close();
  process.exit(0);
}

/** host→plugin calls, plugin→host and plugin→plugin calls, and pushes at full speed. */
async function calls({ config, host, payload, spec }: Ctx) {
  const quick = config.quick;
  await host.load(spec('bench-a'));
  await host.load(spec('bench-b'));
  const n = quick ? 300 : 3000;
  const warmupMs = sequentialWarmupMs(quick);
  const call = () => host.call('bench-a', 'echo', { payload });
  // CPU per sequential call, host and plugin together: what a call costs, whatever the machine's load.
  // Measured as the raw reference measures its bidi calls (support/stats.ts: sequentialCpu).
  const seq = await sequentialCpu(n, warmupMs, sequentialWarmupCalls(quick), call, async () => (await host.call('bench-a', 'cpu')) as number);
  const cpuPerCall = seq.cpuPerCall;
  const rate64 = await inFlight(64, quick ? 500 : 3000, call);
  const long = { timeoutMs: 120_000 };
  const callHost = (await host.call('bench-a', 'measureCallHost', { n, warmupMs, payload }, long)) as { p50: number; p99: number };
  const callPlugin = (await host.call('bench-a', 'measureCallPlugin', { target: 'bench-b', n, warmupMs, payload }, long)) as { p50: number; p99: number };

  // Pushes as fast as the session takes them. The outbox (10 000 by default) drops beyond its
  // capacity: top it up to 8 000 every millisecond. (Polling with setImmediate would spin the
  // host's event loop and measure the poll, not the push.)
  const count = quick ? 20_000 : 300_000;
  await host.call('bench-a', 'pushReset');
  let sent = 0;
  while (sent < count) {
    const info = host.get('bench-a')!;
    const room = Math.min(8_000 - info.pushesQueued - info.pushesUnacked, count - sent);
    for (let i = 0; i < room; i++, sent++) host.push('bench-a', 'bench', payload);
    if (sent < count) await sleep(1);
  }
  let stats = { count: 0, spanMs: 0 };
  const deadline = Date.now() + 120_000;
  const dropped = () => host.get('bench-a')!.pushesDropped;
  while (Date.now() < deadline) {
    stats = (await host.call('bench-a', 'pushStats')) as typeof stats;
    if (stats.count + dropped() >= count) break;
    await sleep(20);
  }
  return {
    call: { p50: seq.p50, p99: seq.p99, rate64, cpuPerCall, cpuBatches: seq.cpuBatches },
    callHost,
    callPlugin,
    push: { rate: ((stats.count - 1) * 1000) / stats.spanMs, delivered: stats.count, dropped: dropped() },
  };
}

/** A plugin that reads pushes slowly while the host pushes flat out: host memory must stay bounded. */
async function slow({ config, host, payload, spec }: Ctx) {
  const durationMs = config.quick ? 2_000 : 5_000;
  await host.load(spec('slow', { BENCH_SLOW_US: '200' }));
  await host.call('slow', 'pushReset');
  const baseRss = process.memoryUsage().rss;
  const samples: Array<{ t: number; rss: number }> = [];
  const start = performance.now();
  const sampler = setInterval(() => samples.push({ t: performance.now() - start, rss: process.memoryUsage().rss }), 20);
  let sent = 0;
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < 1_000; i++, sent++) host.push('slow', 'bench', payload);
    await new Promise((r) => setImmediate(r));
  }
  clearInterval(sampler);
  samples.push({ t: performance.now() - start, rss: process.memoryUsage().rss });
  const half = durationMs / 2;
  const peak = (xs: typeof samples) => Math.max(...xs.map((s) => s.rss));
  const info = host.get('slow')!;
  const stats = (await host.call('slow', 'pushStats', undefined, { timeoutMs: 60_000 })) as { count: number };
  return {
    slow: {
      baseRss,
      peakRss: peak(samples),
      firstHalfPeakRss: peak(samples.filter((s) => s.t <= half)),
      secondHalfPeakRss: peak(samples.filter((s) => s.t > half)),
      sent,
      dropped: info.pushesDropped,
      queued: info.pushesQueued,
      delivered: stats.count,
    },
  };
}

/**
 * The bare Nest references (spawn → first gRPC reply; unbundled and bundled), then for each plugin
 * entry (as built, and bundled): cold start (load() until the first call returns), plugin RSS,
 * SIGKILL → serving again, and the same two starts with a spare ready (the host runs with
 * `spares: 1`; the cold figures are taken with `spare: false`), and SIGKILL → serving with a spare
 * of the plugin's own (`spare: 'own'`). Taken in turns, so that all see the
 * same machine; every spare measurement waits until the spare is ready, so that no spare warming
 * up competes with a measurement.
 */
async function lifecycle({ config, host, payload, spec }: Ctx) {
  const entries = config.entries as Record<string, string>;
  const bareEntries = config.bareEntries as Record<string, string>;
  const runs = config.quick ? 1 : 5;
  const warmups = config.quick ? 0 : 1;
  const samples = Object.fromEntries(
    Object.keys(entries).map((k) => [
      k,
      {
        cold: [] as number[],
        rss: [] as number[],
        restart: [] as number[],
        spareLoad: [] as number[],
        spareRestart: [] as number[],
        ownRestart: [] as number[],
        prewarmedLoad: [] as number[],
      },
    ]),
  );
  const bare = Object.fromEntries(Object.keys(bareEntries).map((k) => [k, { ms: [] as number[], rss: [] as number[] }]));
  const spareRss: number[] = [];
  for (let i = 0; i < warmups + runs; i++) {
    for (const [label, file] of Object.entries(bareEntries)) {
      // Like the plugin's cold start below: no spare warming up beside it.
      await readySpare(host);
      const b = await bareOnce(String(config.rawAddress), payload, file);
      if (i < warmups) continue;
      bare[label].ms.push(b.ms);
      bare[label].rss.push(b.rss);
    }
    for (const [label, entry] of Object.entries(entries)) {
      const r = await lifecycleOnce(host, payload, { ...spec(`${label}${i}`, {}, entry), spare: false }, () => readySpare(host));
      const spareRssBytes = rssOf((await readySpare(host)).pid);
      // A bundle started in the shared spare keeps a spare of its own (bundleSpares): its restart waits for that one too.
      const spareName = `${label}${i}-spare`;
      const s = await lifecycleOnce(host, payload, spec(spareName, {}, entry), () => {
        const id = host.get(spareName)?.id;
        return Promise.all([readySpare(host), ...(id && host.spares().some((x) => x.plugin === id) ? [readySpare(host, id)] : [])]);
      });
      // spare: 'own': the restart runs in a spare that has imported this plugin's entry already.
      const ownName = `${label}${i}-own`;
      const o = await lifecycleOnce(host, payload, { ...spec(ownName, {}, entry), spare: 'own' }, () => {
        const id = host.get(ownName)?.id;
        return Promise.all([readySpare(host), ...(id ? [readySpare(host, id)] : [])]);
      });
      // host.prewarm(spec): a spare that has imported this very plugin's entry, for its load().
      const prewarmedMs = await prewarmedLoad(host, payload, spec(`${label}${i}-prewarmed`, {}, entry));
      if (i < warmups) continue;
      if (prewarmedMs !== undefined) samples[label].prewarmedLoad.push(prewarmedMs);
      samples[label].ownRestart.push(o.restartMs);
      samples[label].cold.push(r.coldMs);
      samples[label].rss.push(r.rssBytes);
      samples[label].restart.push(r.restartMs);
      samples[label].spareLoad.push(s.coldMs);
      samples[label].spareRestart.push(s.restartMs);
      if (spareRssBytes) spareRss.push(spareRssBytes);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [label, s] of Object.entries(samples)) {
    out[label] = {
      cold: { ms: median(s.cold), runs: s.cold, rss: median(s.rss) },
      restart: { ms: median(s.restart), runs: s.restart },
      spare: {
        loadMs: median(s.spareLoad),
        loadRuns: s.spareLoad,
        restartMs: median(s.spareRestart),
        restartRuns: s.spareRestart,
        ownRestartMs: median(s.ownRestart),
        ownRestartRuns: s.ownRestart,
        prewarmedLoadMs: s.prewarmedLoad.length ? median(s.prewarmedLoad) : undefined,
        prewarmedLoadRuns: s.prewarmedLoad,
      },
    };
  }
  out.spareRss = spareRss.length ? median(spareRss) : undefined;
  const bareOf = (k: string) => (bare[k] ? { ms: median(bare[k].ms), runs: bare[k].ms, rss: median(bare[k].rss) } : undefined);
  out.bare = { ...bareOf('unbundled'), bundled: bareOf('bundled') };
  return out;
}

/** The ready shared spare of the host (it runs with `spares: 1`), or the one of plugin id `plugin`, once it is ready. */
async function readySpare(host: PluginHostService, plugin?: string): Promise<SpareInfo> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = host.spares().find((s) => s.ready && s.plugin === plugin);
    if (ready) return ready;
    if (Date.now() > deadline) throw new Error('no spare was ready within 60 s');
    await sleep(5);
  }
}

/** A process's resident set (bytes) from /proc; undefined where there is none. */
function rssOf(pid: number): number | undefined {
  try {
    const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One plugin: load() → first reply, its RSS, then SIGKILL → restarted and answering again.
 * `beforeEach` runs before each timed step (to wait for a ready spare).
 */
async function lifecycleOnce(host: PluginHostService, payload: string, pluginSpec: PluginSpec, beforeEach?: () => Promise<unknown>) {
  const name = pluginSpec.name!;
  await beforeEach?.();
  let t0 = performance.now();
  await host.load(pluginSpec);
  await host.call(name, 'echo', { payload });
  const coldMs = performance.now() - t0;
  const rssBytes = (await host.call(name, 'rss')) as number;

  await beforeEach?.();
  const pid = host.get(name)!.pid!;
  const exited = firstValueFrom(
    host.events().pipe(
      filter((e: PluginEvent) => e.type === 'exited' && e.plugin === name),
      timeout(10_000),
    ),
  );
  t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  await exited;
  // Calls made while the plugin restarts wait for it (whileRestarting: 'wait', the default).
  await host.call(name, 'echo', { payload }, { timeoutMs: 30_000 });
  const restartMs = performance.now() - t0;
  await host.unload(name);
  return { coldMs, rssBytes, restartMs };
}

/** load() → first reply of a plugin whose spare host.prewarm(spec) readied (timed from the load() call). */
async function prewarmedLoad(host: PluginHostService, payload: string, pluginSpec: PluginSpec): Promise<number | undefined> {
  // A profiled plugin is started as a command: no spare.
  if (!(await host.prewarm(pluginSpec))) return undefined;
  const t0 = performance.now();
  await host.load(pluginSpec);
  await host.call(pluginSpec.name!, 'echo', { payload });
  const ms = performance.now() - t0;
  await host.unload(pluginSpec.name!);
  return ms;
}

/**
 * Many plugins loaded: the host's idle CPU, and call latency compared with one plugin. The
 * one-plugin case is measured before the others load and again after they stop, so that a drift
 * of the machine's speed during the run does not pass for an effect of the plugins loaded.
 */
async function scale({ config, host, payload, spec }: Ctx) {
  const plugins = Number(config.plugins);
  // Host CPU (this process only: process.cpuUsage counts every thread of the host, none of the
  // plugins') in consecutive windows after the last plugin loaded. The first ones carry the tail of
  // the loading: the plugins' first heartbeats and V8's memory reducer, which runs a few full
  // collections of the host's heap once allocation stops (hundreds of ms of CPU, once). The figure
  // is the steady cost: the later windows, 20 s in all.
  const windowMs = config.quick ? 500 : 5_000;
  const settleWindows = config.quick ? 2 : 6;
  const steadyWindows = 4;
  const n = config.quick ? 100 : 1000;
  const warmupMs = sequentialWarmupMs(config.quick);
  const call = () => host.call('s0', 'echo', { payload });
  // p50 of three batches each: one batch is too easily caught by a hiccup of the machine. Every
  // case gets the same full warm-up first: the many-plugins case follows the idle windows, after
  // which the host's and s0's call paths are cold again (its batches drifted 124 → 107 → 64 µs
  // with a 100-ms warm-up, the one-plugin case reading 74-77 µs).
  const p50s = async () => {
    const out: number[] = [];
    for (let i = 0; i < 3; i++) out.push((await sequential(n, i ? 100 : warmupMs, call)).p50);
    return out;
  };
  await host.load(spec('s0'));
  const oneBefore = await p50s();
  // Two at a time: the machine has two cores, and loading is CPU-bound module loading.
  const names = Array.from({ length: plugins - 1 }, (_, i) => `s${i + 1}`);
  const loadStart = performance.now();
  await Promise.all(
    [0, 1].map(async (lane) => {
      for (let i = lane; i < names.length; i += 2) await host.load(spec(names[i]));
    }),
  );
  const loadMs = performance.now() - loadStart;
  const windows: number[] = [];
  for (let i = 0; i < settleWindows + steadyWindows; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(windowMs);
    const cpu = process.cpuUsage(cpu0);
    windows.push(((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100);
  }
  const steady = windows.slice(settleWindows);
  const idleCpuPct = steady.reduce((a, b) => a + b, 0) / steady.length;
  const idleWindowS = (steady.length * windowMs) / 1000;
  const many = await p50s();
  // Spread over every plugin: each process must have its own call path compiled first.
  let k = 0;
  const all = ['s0', ...names];
  const spread = await sequential(n * 3, config.quick ? 200 : 3000, () => host.call(all[k++ % all.length], 'echo', { payload }));
  await Promise.all(names.map((name) => host.stop(name)));
  const oneAfter = await p50s();
  return {
    scale: {
      plugins,
      loadMs,
      idleCpuPct,
      idleWindowS,
      idleCpuFirstPct: windows.slice(0, settleWindows).reduce((a, b) => a + b, 0) / settleWindows,
      idleWindowsPct: windows,
      // The one-plugin p50 at the time of the many-plugins one, the machine drifting in between: the
      // mean of the cases before and after (the median of all six picked the faster side's third).
      p50One: (median(oneBefore) + median(oneAfter)) / 2,
      p50Many: median(many),
      p50Spread: spread.p50,
      oneBefore,
      oneAfter,
      many,
    },
  };
}

main().catch(fatal);
