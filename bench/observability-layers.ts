// `npm run bench:observability-layers`: what the host's observers (metrics, tracing) and the
// plugin's traced serving cost one call by themselves, in one process with an OpenTelemetry SDK
// (no exporter) and an AsyncLocalStorage context manager, around a call that is an already
// settled promise. Robust on a loaded machine where bench:observability is not:
// - CPU µs per call (process.cpuUsage, best of 5 batches), the span work after the call included;
// - the path a call waits for: median µs from the call to the moment its awaiting code runs (the
//   host's caller; the plugin's reply), the span work done after it excluded.
//
//   node dist/bench/observability-layers.js
import 'reflect-metadata';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { CallObservers, PluginMetrics } from '@wwplugin/nestjs';
import { Subject } from 'rxjs';
import { ROOT } from './support/paths.js';
import { median } from './support/stats.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider());

// Internals, from the built library: the host's tracer observer and the plugin's serving wrapper.
const LIB = `${ROOT}libs/wwplugin/dist/`;
type Observer = { onModuleInit(): void | Promise<void> };
const { CallTracer } = (await import(`${LIB}host/call-tracer.js`)) as { CallTracer: new (o: CallObservers) => Observer };
const { serveTraced, registeredTracer } = (await import(`${LIB}protocol/call-tracing.js`)) as {
  serveTraced: (tracer: unknown, call: object, fields: object, run: () => Promise<unknown>) => Promise<unknown>;
  registeredTracer: () => unknown;
};

const N = 50_000;
const settled = () => Promise.resolve(1);
const nextTurn = () => new Promise((r) => setImmediate(r));

/** CPU µs per awaited call of `fn`, best of 5 batches. */
async function cpuPerCall(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 10_000; i++) await fn();
  let best = Infinity;
  for (let b = 0; b < 5; b++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await fn();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / N);
  }
  return best;
}

/** Median µs from calling `fn` to its awaiting code running; work queued after that is left to the next turn. */
async function waitedPath(fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = performance.now();
    let t1 = 0;
    await fn().then(() => (t1 = performance.now()));
    samples.push((t1 - t0) * 1000);
    await nextTurn();
  }
  return median(samples.slice(2_000));
}

async function hostObservers(metrics: boolean, tracing: boolean): Promise<() => Promise<unknown>> {
  const observers = new CallObservers();
  const plugin = { name: 'bench-a', id: 'bench-a', functions: new Map([['echo', {}]]) };
  const registry = { find: () => plugin, all: () => [] };
  const events = { messages$: new Subject(), events$: new Subject() };
  // PluginMetrics' other collaborators are read only at scrape or for unknown names.
  const Metrics = PluginMetrics as unknown as new (...args: unknown[]) => Observer;
  if (metrics) await new Metrics({ metrics: true }, observers, registry, events, { get: () => undefined }).onModuleInit();
  if (tracing) new CallTracer(observers).onModuleInit();
  return () => observers.observe({ plugin: 'bench-a', pluginId: 'bench-a', fn: 'echo', kind: 'call' }, settled);
}

const rows: [string, number, number][] = [];
const bare = [await cpuPerCall(settled), await waitedPath(settled)] as const;
rows.push(['(a settled promise alone)', ...bare]);
for (const [name, m, t] of [
  ['host observers: metrics', true, false],
  ['host observers: tracing', false, true],
  ['host observers: both', true, true],
] as const) {
  const fn = await hostObservers(m, t);
  rows.push([name, await cpuPerCall(fn), await waitedPath(fn)]);
}
const fields = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: '' };
const serve = () => serveTraced(registeredTracer(), { plugin: 'bench-a', fn: 'echo', kind: 'call', caller: 'host' }, fields, settled);
rows.push(['plugin: serveTraced', await cpuPerCall(serve), await waitedPath(serve)]);
console.log('Observability layers, µs per call (minus a settled promise alone for the layer itself):');
console.log(`  ${'layer'.padEnd(28)} ${'CPU'.padStart(8)} ${'waited'.padStart(8)}`);
for (const [name, cpu, waited] of rows)
  console.log(
    `  ${name.padEnd(28)} ${(cpu - (name.startsWith('(') ? 0 : bare[0])).toFixed(2).padStart(8)} ${(waited - (name.startsWith('(') ? 0 : bare[1])).toFixed(2).padStart(8)}`,
  );
