import { Histogram, Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallObservers, type ObservedCall } from '../call-observers.js';
import type { HostEvents } from '../host-events.js';
import type { HostFunctionRegistry } from '../host-function.registry.js';
import type { PluginRegistry } from '../plugin.registry.js';
import { PluginMetrics } from './plugin-metrics.js';

const BUCKETS = [0.001, 0.01, 0.1];

/**
 * Metrics of a host with one plugin "echo" (function "greet") and no host functions, `performance.now()`
 * reading `clock.now`; `instances` are what the registry lists for the scrape-time figures.
 */
async function metricsOf(instances: unknown[] = []): Promise<{ metrics: PluginMetrics; observers: CallObservers; clock: { now: number } }> {
  const clock = { now: 0 };
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
  const plugin = { name: 'echo', id: 'echo', functions: new Map([['greet', {}]]) };
  const registry = { find: (n: string) => (n === 'echo' ? plugin : undefined), all: () => instances } as unknown as PluginRegistry;
  const events = { messages$: new Subject(), events$: new Subject() } as unknown as HostEvents;
  const hostFunctions = { get: () => undefined } as unknown as HostFunctionRegistry;
  const observers = new CallObservers();
  const metrics = new PluginMetrics({ metrics: { buckets: BUCKETS } }, observers, registry, events, hostFunctions);
  await metrics.onModuleInit();
  return { metrics, observers, clock };
}

/** Runs one call of `ms` that ends with `outcome`. */
function callOf(observers: CallObservers, clock: { now: number }, ms: number, outcome = 'ok', fn = 'greet'): void {
  const call: ObservedCall = { plugin: 'echo', pluginId: 'echo', fn, kind: 'call' };
  const finish = observers.start(call);
  clock.now += ms;
  finish(outcome);
}

const lines = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(name));

afterEach(() => vi.restoreAllMocks());

describe('PluginMetrics: calls counted in plain numbers, read when scraped', () => {
  it('scrapes the same histogram, counts and errors as prom-client observing each call would', async () => {
    const { metrics, observers, clock } = await metricsOf();
    const ms = [0.5, 0.5, 1, 7, 10, 50, 100, 250, 3];
    for (const m of ms) callOf(observers, clock, m);
    callOf(observers, clock, 2, 'E_DEMO');
    callOf(observers, clock, 2, 'UNKNOWN_FUNCTION', 'nope');
    const text = await metrics.metrics();

    const reference = new Registry();
    const h = new Histogram({
      name: 'wwplugin_call_duration_seconds',
      help: 'x',
      labelNames: ['plugin', 'function', 'kind'],
      buckets: BUCKETS,
      registers: [reference],
    });
    for (const m of [...ms, 2]) h.observe({ plugin: 'echo', function: 'greet', kind: 'call' }, m / 1000);
    h.observe({ plugin: 'echo', function: '(unknown)', kind: 'call' }, 2 / 1000);
    const expected = await reference.metrics();

    expect(lines(text, 'wwplugin_call_duration_seconds_')).toEqual(lines(expected, 'wwplugin_call_duration_seconds_'));
    expect(lines(text, 'wwplugin_calls_total{')).toEqual([
      'wwplugin_calls_total{plugin="echo",function="greet",kind="call"} 10',
      'wwplugin_calls_total{plugin="echo",function="(unknown)",kind="call"} 1',
    ]);
    expect(lines(text, 'wwplugin_call_errors_total{')).toEqual([
      'wwplugin_call_errors_total{plugin="echo",function="greet",kind="call",code="E_DEMO"} 1',
      'wwplugin_call_errors_total{plugin="echo",function="(unknown)",kind="call",code="UNKNOWN_FUNCTION"} 1',
    ]);
    expect(lines(text, 'wwplugin_calls_in_flight{')).toEqual([
      'wwplugin_calls_in_flight{plugin="echo",function="greet",kind="call"} 0',
      'wwplugin_calls_in_flight{plugin="echo",function="(unknown)",kind="call"} 0',
    ]);
  });

  it('shows calls in flight until they end, and the JSON form has the same buckets', async () => {
    const { metrics, observers, clock } = await metricsOf();
    const finish = observers.start({ plugin: 'echo', pluginId: 'echo', fn: 'greet', kind: 'call' });
    expect(lines(await metrics.metrics(), 'wwplugin_calls_in_flight{')).toEqual(['wwplugin_calls_in_flight{plugin="echo",function="greet",kind="call"} 1']);
    clock.now += 5;
    finish('ok');
    expect(lines(await metrics.metrics(), 'wwplugin_calls_in_flight{')).toEqual(['wwplugin_calls_in_flight{plugin="echo",function="greet",kind="call"} 0']);
    const json = await metrics.promRegistry!.getMetricsAsJSON();
    const duration = json.find((m) => m.name === 'wwplugin_call_duration_seconds')!;
    expect(duration.type).toBe('histogram');
    expect(duration.values.map((v) => [v.labels.le, v.value])).toEqual([
      [0.001, 0],
      [0.01, 1],
      [0.1, 1],
      ['+Inf', 1],
      [undefined, 0.005],
      [undefined, 1],
    ]);
    expect(duration.values[0].labels).toMatchObject({ plugin: 'echo', function: 'greet', kind: 'call' });
  });

  it('gives each instance of a plugin its own per-process series, labelled plugin_instance', async () => {
    // Two instances of "echo": one running with a queue and a heartbeat, one restarting.
    const instance = (n: number, state: string, queued: number, heartbeatMs?: number) => ({
      name: 'echo',
      id: `echo#${n}`,
      instance: n,
      state,
      pid: undefined,
      lastHeartbeatMs: heartbeatMs,
      restart: { count: n + 1 },
      outbox: { pushed: 10 * (n + 1), dropped: n, size: queued },
      info: () => ({ emitsDropped: 0 }),
    });
    const { metrics } = await metricsOf([instance(0, 'running', 3, 2), instance(1, 'restarting', 5)]);
    const text = await metrics.metrics();
    // Each per-process series: its value by instance, every line labelled exactly plugin="echo",plugin_instance="N".
    const byInstance = (metric: string) =>
      Object.fromEntries(
        lines(text, `${metric}{`).map((line) => {
          const m = new RegExp(`^${metric}\\{plugin="echo",plugin_instance="(\\d+)"\\} (\\S+)$`).exec(line);
          return m ? [m[1], Number(m[2])] : [`unlabelled: ${line}`, NaN];
        }),
      );
    expect({
      up: byInstance('wwplugin_plugin_up'),
      queued: byInstance('wwplugin_pushes_queued'),
      restarts: byInstance('wwplugin_plugin_restarts_total'),
      heartbeat: byInstance('wwplugin_heartbeat_rtt_seconds'),
    }).toEqual({ up: { 0: 1, 1: 0 }, queued: { 0: 3, 1: 5 }, restarts: { 0: 1, 1: 2 }, heartbeat: { 0: 0.002 } });
  });
});
