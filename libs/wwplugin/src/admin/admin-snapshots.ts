import { Inject, Injectable, type MessageEvent, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { interval, map, merge, mergeMap, type Observable, share, Subject, Subscription, takeUntil } from 'rxjs';
import { CallObservers, type ObservedCall, type CallFinish } from '../host/call-observers.js';
import { PluginHostService } from '../host/plugin-host.service.js';
import { PluginLogRelay } from '../host/plugin-log.relay.js';
import type { AdminPluginRow, AdminSnapshot, WwPluginAdminOptions } from '../interfaces/admin-options.interface.js';
import type { PluginEvent, PluginInfo } from '../interfaces/host-options.interface.js';
import { RecentLogs } from './recent-logs.js';
import { RollingCallStats } from './rolling-call-stats.js';
import { WWPLUGIN_ADMIN_OPTIONS } from './wwplugin-admin.module-definition.js';

/** Calls a plugin serves (a host function call is the calling plugin's, not served by it). */
const SERVED = new Set<ObservedCall['kind']>(['call', 'stream', 'iterate', 'relay']);
/** Kinds whose start-to-end time is a latency; a stream's is how long it was watched. */
const UNARY = new Set<ObservedCall['kind']>(['call', 'relay']);
/** The caller gave up: not the plugin's failure. */
const NOT_FAILURES = new Set(['ok', 'CANCELLED']);

/** Events after which what is kept of plugins no longer listed is dropped (a failed load emits none: the next load prunes). */
const PRUNE_EVENTS = new Set<PluginEvent['type']>(['loaded', 'unloaded', 'failed']);
/** Events after which a plugin is not running: its uptime ends. */
const DOWN_EVENTS = new Set<PluginEvent['type']>(['stopped', 'exited', 'crashed', 'unresponsive', 'failed', 'unloaded']);

/**
 * What the page shows, gathered from the host: plugin infos, call figures per plugin (from the
 * host's call observers), uptimes from lifecycle events, recent log records from the log relay.
 * One update stream is shared by every open page: a snapshot per interval and per plugin event,
 * and the event itself.
 */
@Injectable()
export class AdminSnapshots implements OnModuleInit, OnModuleDestroy {
  private readonly calls = new Map<string, RollingCallStats>();
  private readonly runningSince = new Map<string, number>();
  readonly logs: RecentLogs;
  private readonly closed$ = new Subject<void>();
  private readonly subscriptions = new Subscription();
  readonly updates$: Observable<MessageEvent>;

  constructor(
    @Inject(WWPLUGIN_ADMIN_OPTIONS) private readonly options: WwPluginAdminOptions,
    private readonly host: PluginHostService,
    private readonly relay: PluginLogRelay,
    private readonly observers: CallObservers,
  ) {
    this.logs = new RecentLogs(options.logRecords ?? 200);
    const ticks$ = interval(options.updateIntervalMs ?? 1_000).pipe(map(() => this.snapshotEvent()));
    // A snapshot follows each event, taken at once: a short-lived state (restarting) still reaches the page.
    const events$ = this.host.events().pipe(mergeMap((event): MessageEvent[] => [{ type: 'plugin-event', data: event }, this.snapshotEvent()]));
    this.updates$ = merge(ticks$, events$).pipe(takeUntil(this.closed$), share());
  }

  onModuleInit(): void {
    this.subscriptions.add(this.host.events().subscribe((event) => this.track(event)));
    this.subscriptions.add(this.relay.observe((plugin, record) => this.logs.add(plugin, record)));
    this.subscriptions.add(this.observers.add({ start: (call) => this.callStarted(call) }));
  }

  onModuleDestroy(): void {
    this.closed$.next();
    this.subscriptions.unsubscribe();
  }

  private callStarted(call: ObservedCall): CallFinish | undefined {
    if (!SERVED.has(call.kind) || !call.pluginId) return undefined;
    const started = performance.now();
    return (outcome) => this.recordCall(call.pluginId, UNARY.has(call.kind) ? performance.now() - started : undefined, NOT_FAILURES.has(outcome));
  }

  /** Feeds one finished call into the figures of the plugin with `id`. */
  private recordCall(id: string, durationMs: number | undefined, ok: boolean): void {
    let stats = this.calls.get(id);
    if (!stats) this.calls.set(id, (stats = new RollingCallStats(this.options.latencySamples ?? 1024)));
    stats.record(durationMs, ok);
  }

  snapshot(now = Date.now()): AdminSnapshot {
    return { at: new Date(now).toISOString(), plugins: this.host.list().map((info) => this.row(info, now)) };
  }

  snapshotEvent(): MessageEvent {
    return { type: 'snapshot', data: this.snapshot() };
  }

  private row(info: PluginInfo, now: number): AdminPluginRow {
    let since = this.runningSince.get(info.id);
    // Running before this module saw it start (loaded ahead of the module): counted from now.
    if (info.state === 'running' && since === undefined) this.runningSince.set(info.id, (since = now));
    const figures = this.calls.get(info.id)?.figures(now) ?? { callsPerSec: 0, errorRate: 0, p50Ms: null, p99Ms: null };
    return {
      id: info.id,
      name: info.name,
      version: info.version,
      state: info.state,
      pid: info.pid ?? null,
      where: info.remote ? `${info.remote.replica} @ ${info.remote.peer}` : null,
      instance: info.instance,
      instances: info.instances,
      uptimeMs: info.state === 'running' && since !== undefined ? now - since : null,
      restarts: info.restarts,
      lastExit: info.lastExit ? { code: info.lastExit.code, signal: info.lastExit.signal, at: info.lastExit.at.toISOString() } : null,
      ...figures,
      inFlight: info.inFlight,
      heartbeatRttMs: info.lastHeartbeatMs ?? null,
      pushesDropped: info.pushesDropped,
      logSeq: this.logs.lastSeq(info.name),
    };
  }

  private track(event: PluginEvent): void {
    if (event.type === 'ready' || event.type === 'restarted') this.runningSince.set(event.id, Date.now());
    else if (DOWN_EVENTS.has(event.type)) this.runningSince.delete(event.id);
    if (PRUNE_EVENTS.has(event.type)) this.prune();
  }

  /** Forgets plugins no longer listed (unloaded, or whose load failed): memory stays bounded by the plugins loaded. */
  private prune(): void {
    const listed = this.host.list();
    const ids = new Set(listed.map((p) => p.id));
    for (const id of this.calls.keys()) if (!ids.has(id)) this.calls.delete(id);
    for (const id of this.runningSince.keys()) if (!ids.has(id)) this.runningSince.delete(id);
    // Log records are the name's (the relay knows plugins by name).
    this.logs.keep(new Set(listed.map((p) => p.name)));
  }
}
