import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Histogram, Registry } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { WwPluginHostOptions, WwPluginMetricsOptions } from '../../interfaces/host-options.interface.js';
import { WWPLUGIN_HOST_OPTIONS } from '../../wwplugin.constants.js';
import { CallObservers, type CallFinish, type CallObserver, type ObservedCall } from '../call-observers.js';
import { HostEvents } from '../host-events.js';
import { HostFunctionRegistry } from '../host-function.registry.js';
import type { ManagedPlugin } from '../managed-plugin.js';
import { PluginRegistry } from '../plugin.registry.js';
import { sampleProcess } from '../process-sample.js';
import { CallStatistics, type CallLabels } from './call-statistics.js';
import { sessionBytes } from './session-bytes.js';

/** Latency buckets (seconds) from a fast local call to a slow handler. */
const DEFAULT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label of a plugin or function that does not exist: names a caller made up must not grow the series without bound. */
const UNKNOWN = '(unknown)';

/**
 * The host's Prometheus metrics (prom-client, loaded only when `metrics` is on): calls, errors,
 * latency and in-flight per plugin and function, queue waits, pushes, emits, restarts and crashes,
 * heartbeat round trip, and each plugin process's memory and CPU, read from /proc at scrape time.
 * @publicApi
 */
@Injectable()
export class PluginMetrics implements CallObserver, OnModuleInit, OnModuleDestroy {
  private readonly settings?: WwPluginMetricsOptions;
  private registryInUse?: Registry;
  private contentTypeInUse = 'text/plain; version=0.0.4; charset=utf-8';
  /** Every call series: what prom-client reads at scrape. */
  private readonly series: CallStatistics[] = [];
  /** The series by plugin, function and kind: a call looks its own up without building a key. */
  private readonly byCall = new Map<string, Map<string, Map<string, CallStatistics>>>();
  private bounds: readonly number[] = DEFAULT_BUCKETS;
  private remove?: () => void;
  private subscriptions: Subscription[] = [];
  private queueWait?: Histogram;

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) options: WwPluginHostOptions,
    private readonly observers: CallObservers,
    private readonly registry: PluginRegistry,
    private readonly events: HostEvents,
    private readonly hostFunctions: HostFunctionRegistry,
  ) {
    const m = options.metrics;
    this.settings = m ? (m === true ? {} : m) : undefined;
  }

  /** True when forRoot turned metrics on. */
  get enabled(): boolean {
    return this.settings !== undefined;
  }

  /** The registry the metrics are in (undefined while metrics are off). */
  get promRegistry(): Registry | undefined {
    return this.registryInUse;
  }

  /** The Content-Type of metrics(): Prometheus' text format. */
  get contentType(): string {
    return this.contentTypeInUse;
  }

  /** Every metric of the registry in Prometheus' text format ('' while metrics are off). */
  async metrics(): Promise<string> {
    return this.registryInUse ? this.registryInUse.metrics() : '';
  }

  async onModuleInit(): Promise<void> {
    if (!this.settings) return;
    const prom = await import('prom-client');
    const registry = (this.registryInUse = this.settings.registry ?? new prom.Registry());
    this.contentTypeInUse = registry.contentType;
    const p = this.settings.prefix ?? 'wwplugin_';
    const registers = [registry];
    const callLabels = ['plugin', 'function', 'kind'] as const;
    const bounds = (this.bounds = this.settings.buckets ?? DEFAULT_BUCKETS);
    const series = () => this.series;
    // Calls are counted in plain numbers (CallStatistics); these read them when Prometheus scrapes.
    new prom.Counter({
      name: `${p}calls_total`,
      help: 'Calls that ended, by plugin, function and kind.',
      labelNames: callLabels,
      registers,
      collect() {
        this.reset();
        for (const s of series()) if (s.calls) this.inc(s.labels, s.calls);
      },
    });
    new prom.Counter({
      name: `${p}call_errors_total`,
      help: 'Calls that failed, by error code (a handler’s own code when it set one).',
      labelNames: [...callLabels, 'code'],
      registers,
      collect() {
        this.reset();
        for (const s of series()) for (const [code, n] of s.errors) this.inc({ ...s.labels, code }, n);
      },
    });
    new prom.Gauge({
      name: `${p}calls_in_flight`,
      help: 'Calls started and not yet ended.',
      labelNames: callLabels,
      registers,
      collect() {
        this.reset();
        for (const s of series()) this.set(s.labels, s.inFlight);
      },
    });
    // A histogram whose buckets are the series' own counts: prom-client's registry renders what
    // getForPromString() gives (its Histogram's own get() splays the same values for JSON).
    class CallDuration extends prom.Histogram {
      async getForPromString() {
        const self = this as unknown as { name: string; help: string; aggregator: string };
        const bucket = `${self.name}_bucket`;
        const values = [];
        for (const s of series()) {
          if (!s.calls) continue;
          let acc = 0;
          for (let i = 0; i < bounds.length; i++) {
            acc += s.buckets[i];
            values.push({ labels: { le: bounds[i] }, sharedLabels: s.labels, value: acc, metricName: bucket });
          }
          values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.calls, metricName: bucket });
          values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${self.name}_sum` });
          values.push({ labels: {}, sharedLabels: s.labels, value: s.calls, metricName: `${self.name}_count` });
        }
        return { name: self.name, help: self.help, type: 'histogram', values, aggregator: self.aggregator };
      }
    }
    new CallDuration({
      name: `${p}call_duration_seconds`,
      help: 'Call latency from the call to its end, waits included.',
      labelNames: callLabels,
      buckets: [...bounds],
      registers,
    });
    this.queueWait = new prom.Histogram({
      name: `${p}call_queue_wait_seconds`,
      help: 'How long host calls waited for a free slot or for their plugin to run (only calls that waited).',
      labelNames: ['plugin', 'function'],
      buckets: this.settings.buckets ?? DEFAULT_BUCKETS,
      registers,
    });
    const emits = new prom.Counter({ name: `${p}emits_total`, help: 'Messages plugins emitted that reached the host.', labelNames: ['plugin'], registers });
    const crashes = new prom.Counter({
      name: `${p}plugin_crashes_total`,
      help: 'Plugin processes that ended unasked, by reason (signal, exit code).',
      labelNames: ['plugin', 'reason'],
      registers,
    });
    this.subscriptions = [
      this.events.messages$.subscribe((m) => emits.inc({ plugin: m.plugin })),
      this.events.events$.subscribe((e) => {
        if (e.type === 'crashed') crashes.inc({ plugin: e.plugin, reason: e.signal ?? `exit code ${e.code}` });
        else if (e.type === 'unresponsive') crashes.inc({ plugin: e.plugin, reason: 'unresponsive' });
      }),
    ];
    this.registerSampled(prom, p, registers);
    this.remove = this.observers.add(this);
  }

  onModuleDestroy(): void {
    this.remove?.();
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions = [];
  }

  start(call: ObservedCall): CallFinish {
    const series = this.byCall.get(call.plugin)?.get(call.fn)?.get(call.kind) ?? this.newSeries(call);
    series.inFlight++;
    const since = performance.now();
    return (outcome) => series.ended((performance.now() - since) / 1000, outcome);
  }

  /** The series of a call not seen before; calls to functions or plugins that do not exist share one. */
  private newSeries(call: ObservedCall): CallStatistics {
    const plugin = call.kind === 'host' || this.registry.find(call.plugin) ? call.plugin : UNKNOWN;
    const known = call.kind === 'host' ? !!this.hostFunctions.get(call.fn) : !!this.registry.find(call.plugin)?.functions.has(call.fn);
    const labels: CallLabels = { plugin, function: known ? call.fn : UNKNOWN, kind: call.kind };
    const existing = this.byCall.get(labels.plugin)?.get(labels.function)?.get(labels.kind);
    if (existing) return existing;
    const series = new CallStatistics(labels, this.bounds);
    this.series.push(series);
    // Only real names are remembered as they are: made-up ones would fill the map instead.
    this.remember(known && plugin !== UNKNOWN ? call : { plugin: labels.plugin, fn: labels.function, kind: labels.kind }, series);
    return series;
  }

  private remember(call: { plugin: string; fn: string; kind: string }, series: CallStatistics): void {
    let fns = this.byCall.get(call.plugin);
    if (!fns) this.byCall.set(call.plugin, (fns = new Map()));
    let kinds = fns.get(call.fn);
    if (!kinds) fns.set(call.fn, (kinds = new Map()));
    kinds.set(call.kind, series);
  }

  waited(plugin: { name: string }, fn: string, ms: number): void {
    // Only calls to functions the plugin has get this far.
    this.queueWait!.observe({ plugin: plugin.name, function: fn }, ms / 1000);
  }

  /**
   * Figures read from each plugin process when Prometheus scrapes: nothing to do between scrapes.
   * Labelled by plugin and instance, so that a plugin's instances do not overwrite each other
   * (`plugin_instance`: Prometheus gives `instance` to the scraped target).
   */
  private registerSampled(prom: typeof import('prom-client'), p: string, registers: Registry[]): void {
    type Read = (plugin: ManagedPlugin) => number | undefined;
    const plugins = () => this.registry.all();
    const labelNames = ['plugin', 'plugin_instance'];
    const labels = (pl: ManagedPlugin) => ({ plugin: pl.name, plugin_instance: String(pl.instance) });
    const gauge = (name: string, help: string, read: Read) =>
      new prom.Gauge({
        name: p + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const pl of plugins()) {
            const v = read(pl);
            if (v !== undefined) this.set(labels(pl), v);
          }
        },
      });
    const counter = (name: string, help: string, read: Read) =>
      new prom.Counter({
        name: p + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const pl of plugins()) this.inc(labels(pl), read(pl) ?? 0);
        },
      });
    gauge('plugin_up', '1 while the plugin runs, else 0.', (pl) => (pl.state === 'running' ? 1 : 0));
    counter('plugin_restarts_total', 'Restarts of the plugin by its restart policy.', (pl) => pl.restart.count);
    counter('pushes_total', 'Pushes offered to the plugin (sent, queued or dropped).', (pl) => pl.outbox.pushed);
    counter('pushes_dropped_total', 'Pushes dropped because the plugin’s buffer was full.', (pl) => pl.outbox.dropped);
    gauge('pushes_queued', 'Pushes waiting in the plugin’s buffer.', (pl) => pl.outbox.size);
    counter('emits_dropped_total', 'Emits the plugin’s buffer dropped.', (pl) => pl.info().emitsDropped);
    gauge('heartbeat_rtt_seconds', 'Round trip of the last answered heartbeat.', (pl) =>
      pl.lastHeartbeatMs === undefined ? undefined : pl.lastHeartbeatMs / 1000,
    );
    new prom.Counter({
      name: `${p}session_bytes_total`,
      help: 'Bytes of gRPC messages on all plugin sessions, by direction as the host sees it (in: from plugins).',
      labelNames: ['direction'],
      registers,
      collect() {
        this.reset();
        this.inc({ direction: 'in' }, sessionBytes.in);
        this.inc({ direction: 'out' }, sessionBytes.out);
      },
    });
    const samples = () => Promise.all(plugins().map(async (pl) => [pl, pl.pid ? await sampleProcess(pl.pid) : undefined] as const));
    new prom.Gauge({
      name: `${p}plugin_resident_memory_bytes`,
      help: 'Resident memory of the plugin process (from /proc, read at scrape).',
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const [pl, s] of await samples()) if (s) this.set(labels(pl), s.rssBytes);
      },
    });
    new prom.Counter({
      name: `${p}plugin_cpu_seconds_total`,
      help: 'CPU time (user and system) of the current plugin process (from /proc, read at scrape).',
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const [pl, s] of await samples()) if (s) this.inc(labels(pl), s.cpuSeconds);
      },
    });
  }
}
