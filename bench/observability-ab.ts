// `npm run bench:observability-ab -- [--rounds N] [--batch N] [--warmup MS] [--time] [--metrics]`:
// what tracing costs a call on each side, A/B in one host process so that a loaded machine weighs
// on every variant alike. The host registers an OpenTelemetry SDK (as bench:observability does) and
// loads a plain plugin and one with the SDK; batches of sequential calls alternate between the
// host's tracing observer on and off and between the two plugins. Prints CPU per call (µs) of host
// and plugin, the call p50, and the per-round paired differences.
//   PROBE_HOST_TRACER=fake PROBE_TRACED=fake: a tracer that does nothing in place of the SDK's (the
//     library's own work, context manager included); PROBE_TRACED=tp: the SDK without a context manager;
//     PROBE_TRACED=als: no OpenTelemetry in the plugin, only an AsyncLocalStorage in use (its hooks' cost).
//   PROBE_BASE_BENCH=<other build>/dist/bench/: one more traced plugin, of that build (plugin side A/B).
//   PROBE_LEAN_ATTRIBUTES=1: one more traced plugin whose SDK checks attribute values without making a
//     WeakSet for each (observability/lean-attributes-hooks.ts): what those cost the plugin.
//   --time: the SDK's startSpan and span.end timed in place (PROBE_TIME=1 tells the plugins), the
//     host's call() until it returns, and in each plugin the time from a call's dispatch to its reply
//     (observability/served-timer.ts).
//   --hold I --seconds S: only variant I, pids printed first (for strace); --memory: RSS over calls.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { CallObservers, PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timedTracerProvider } from './observability/timed-tracer.js';
import { DIST_BENCH } from './support/paths.js';
import { gcMeter, makePayload, median, sequential } from './support/stats.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
// --time: the host's SDK startSpan and span.end, and its context manager's active(), timed in place.
const timed = { startSpan: 0, end: 0, active: 0, n: 0 };
const timing = args.includes('--time');
// The plugins inherit it: they time their own side too.
if (timing) process.env.PROBE_TIME = '1';
if (!args.includes('--no-sdk')) {
  const cm = new AsyncLocalStorageContextManager().enable();
  if (timing) {
    const active = cm.active.bind(cm);
    cm.active = () => {
      const t0 = performance.now();
      const c = active();
      timed.active += performance.now() - t0;
      return c;
    };
  }
  context.setGlobalContextManager(cm);
  // PROBE_HOST_TRACER=fake: a tracer that does next to nothing, to tell the library's work from the SDK's.
  const provider = process.env.PROBE_HOST_TRACER === 'fake' ? new (await import('./observability/fake-tracer.js')).LeastTracerProvider() : new TracerProvider();
  trace.setGlobalTracerProvider(timing ? timedTracerProvider(provider, timed) : provider);
}

@Module({ imports: [WwPluginModule.forRoot({ metrics: args.includes('--metrics') })] })
class HostModule {}
const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error'] });
const host = app.get(PluginHostService);
// PROBE_BASE_BENCH=<another build's dist/bench/>: one more traced plugin, of that build (its plugin side A/B).
const base = process.env.PROBE_BASE_BENCH;
const plugins: Record<string, [string, string, Record<string, string>?]> = {
  plain: ['none', DIST_BENCH],
  traced: [process.env.PROBE_TRACED ?? 'both', DIST_BENCH],
};
if (base) plugins['traced-base'] = [process.env.PROBE_TRACED ?? 'both', base];
// The other plugin to set against 'traced': another build's, or this one's with lean attribute checks.
const other = base ? { name: 'traced-base', label: "base's" } : process.env.PROBE_LEAN_ATTRIBUTES ? { name: 'traced-lean', label: 'lean SDK’s' } : undefined;
if (other?.name === 'traced-lean') {
  plugins['traced-lean'] = [process.env.PROBE_TRACED ?? 'both', DIST_BENCH, { NODE_OPTIONS: `--import ${DIST_BENCH}observability/lean-attributes.js` }];
}
await Promise.all(
  Object.entries(plugins).map(([name, [setup, dir, env]]) =>
    host.load({ path: `${dir}observability/probe-plugin.js`, name, env: { ...env, BENCH_PLUGIN_NAME: name, PROBE_PLUGIN: setup } }),
  ),
);
// The host's observers as the module registered them, to switch its tracing off and on between batches.
const observers = app.get(CallObservers) as unknown as { observers: unknown[]; active: boolean; tracer?: unknown };
const registered = { list: observers.observers, active: observers.active, tracer: observers.tracer };
const hostTracing = (on: boolean) => {
  observers.observers = on ? registered.list : [];
  observers.active = on ? registered.active : false;
  observers.tracer = on ? registered.tracer : undefined;
};
const payload = makePayload(64);
const batch = opt('--batch', 2000);
const cpuOf = async (name: string) => (await host.call(name, 'cpu')) as number;
const variants: Array<readonly [string, boolean, string]> = [
  ['host off, plain plugin', false, 'plain'],
  ['host on,  plain plugin', true, 'plain'],
  ['host off, traced plugin', false, 'traced'],
  ['host on,  traced plugin', true, 'traced'],
];
if (other) variants.push([`host off, traced plugin (${other.name})`, false, other.name], [`host on,  traced plugin (${other.name})`, true, other.name]);
const results = new Map<string, { host: number[]; plugin: number[]; p50: number[]; gc: number[]; gcs: number[]; send: number[] }>(
  variants.map(([label]) => [label, { host: [], plugin: [], p50: [], gc: [], gcs: [], send: [] }]),
);
/** `call` with the time until it returns (its synchronous part) added to `sends`. */
const timedSend = (call: () => Promise<unknown>, sends: number[]) => () => {
  const t0 = performance.now();
  const pending = call();
  sends.push(performance.now() - t0);
  return pending;
};
// The host's garbage collections: how many and how long, per call.
const gc = gcMeter();
for (const [, on, name] of variants) {
  hostTracing(on);
  await sequential(1, opt('--warmup', 4000) / variants.length, () => host.call(name, 'echo', { payload }));
}
Object.assign(timed, { startSpan: 0, end: 0, active: 0, n: 0 });
// --time: every plugin times its served calls (and its SDK's spans, if it has one) from here on.
const probed = host.list().map((p) => ({ name: p.name, pid: p.pid! }));
if (timing) for (const { pid } of probed) process.kill(pid, 'SIGURG');
// --memory: RSS and heap of host and plugins every 10,000 calls of each variant (a leak shows as growth).
if (args.includes('--memory')) {
  for (const [label, on, name] of variants) {
    hostTracing(on);
    const line: string[] = [];
    for (let i = 0; i < 5; i++) {
      await sequential(10_000, 0, () => host.call(name, 'echo', { payload }));
      const rss = (await host.call(name, 'rss')) as number;
      line.push(
        `host ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)}/${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} plugin rss ${(rss / 2 ** 20).toFixed(0)}`,
      );
    }
    console.log(`${label}: ${line.join(' | ')}`);
  }
  await app.close();
  process.exit(0);
}
// --hold I: only variant I, for --seconds S, with the pids printed first (to strace or perf them).
if (args.includes('--hold')) {
  const [label, on, name] = variants[opt('--hold', 0)];
  hostTracing(on);
  console.log(`pids host ${process.pid} plugin ${host.list().find((p) => p.name === name)!.pid}; ${label}`);
  await new Promise((r) => setTimeout(r, 1500));
  let calls = 0;
  const until = performance.now() + opt('--seconds', 5) * 1000;
  while (performance.now() < until) {
    await host.call(name, 'echo', { payload });
    calls++;
  }
  console.log(`${calls} calls`);
  await app.close();
  process.exit(0);
}
for (let r = 0; r < opt('--rounds', 8); r++) {
  for (const [label, on, name] of variants) {
    hostTracing(on);
    const plugin0 = await cpuOf(name);
    const host0 = process.cpuUsage();
    const [gcMs0, gcCount0] = [gc.ms, gc.count];
    // --time: how long call() takes before it returns, where the host's span is started and the frame written.
    const sends: number[] = [];
    const call = () => host.call(name, 'echo', { payload });
    const seq = await sequential(batch, 0, timing ? timedSend(call, sends) : call);
    await new Promise((r) => setImmediate(r));
    const h = process.cpuUsage(host0);
    const p = (await cpuOf(name)) - plugin0;
    const res = results.get(label)!;
    res.host.push((h.user + h.system) / batch);
    res.plugin.push(p / batch);
    res.p50.push(seq.p50);
    res.gc.push(((gc.ms - gcMs0) * 1000) / batch);
    res.gcs.push(((gc.count - gcCount0) * 1000) / batch);
    if (timing) res.send.push(median(sends) * 1000);
  }
}
hostTracing(true);
if (timing) {
  const us = (ms: number) => ((ms * 1000) / timed.n).toFixed(2);
  for (const { pid } of probed) process.kill(pid, 'SIGURG');
  await new Promise((r) => setTimeout(r, 300));
  for (const { name, pid } of probed) console.log(`plugin ${name}, in place: ${readFileSync(join(tmpdir(), `probe-plugin-${pid}.txt`), 'utf8').trim()}`);
  console.log(
    `host, per span in place: SDK startSpan ${us(timed.startSpan)} µs, span.end ${us(timed.end)} µs; context.active() ${us(timed.active)} µs (${timed.n} spans)`,
  );
}
await app.close();
console.log(`CPU per call, µs, median of ${opt('--rounds', 8)} alternating batches of ${batch} (${process.version}):`);
// Paired by round (adjacent batches), so that the machine's drift cancels out.
const paired = (a: string, b: string, k: 'host' | 'plugin' | 'p50') => median(results.get(a)![k].map((v, i) => v - results.get(b)![k][i]));
const diff = (a: string, b: string) =>
  `host ${paired(a, b, 'host').toFixed(1)}, plugin ${paired(a, b, 'plugin').toFixed(1)}, p50 ${paired(a, b, 'p50').toFixed(1)}`;
console.log(`  paired differences (median of per-round differences, µs):`);
console.log(`    host tracing, plain plugin:   ${diff(variants[1][0], variants[0][0])}`);
console.log(`    plugin tracing, host off:     ${diff(variants[2][0], variants[0][0])}`);
console.log(`    both vs neither:              ${diff(variants[3][0], variants[0][0])}`);
if (other) {
  console.log(`    this build's traced plugin − ${other.label}, host off: ${diff(variants[2][0], variants[4][0])}`);
  console.log(`    this build's traced plugin − ${other.label}, host on:  ${diff(variants[3][0], variants[5][0])}`);
}
for (const [label, r] of results) {
  console.log(
    `  ${label}: host ${median(r.host).toFixed(1).padStart(6)}  plugin ${median(r.plugin).toFixed(1).padStart(6)}  sum ${(median(r.host) + median(r.plugin)).toFixed(1).padStart(6)}  p50 ${median(r.p50).toFixed(1)}  host GC ${median(r.gc).toFixed(2)} µs, ${median(r.gcs).toFixed(2)} per 1000 calls${r.send.length ? `  call() returns in ${median(r.send).toFixed(2)} µs` : ''}`,
  );
}
