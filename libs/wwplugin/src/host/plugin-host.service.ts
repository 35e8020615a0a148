import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { filter, Observable, Subscription } from 'rxjs';
import { HostConfigurationError, PluginNotRunningError, RemotePluginOperationError, RequiredPluginsError, UnknownPluginError } from '../errors/wwplugin.errors.js';
import type { PluginEvent, PluginInfo, PluginMessage, PluginSpec, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { remoteProxy, type RemoteApi, type RemoteCallOptions, type StreamCallOptions } from '../protocol/remote-proxy.js';
import { BAD_START_CONCURRENCY, NOT_RUNNING, PLUGIN_UNLOADED, REMOTE_OPERATION, REQUIRED_PLUGINS_FAILED } from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { CallRouter } from './call-router.js';
import { HostEvents } from './host-events.js';
import { HostServer } from './host-server.js';
import { ManagedPlugin } from './managed-plugin.js';
import { PluginLauncher } from './plugin-launcher.js';
import { PluginRegistry } from './plugin.registry.js';
import { HeartbeatScheduler } from './supervision/heartbeat.scheduler.js';
import { PluginSupervisor } from './supervision/plugin-supervisor.js';

/** Plugins of `forRoot({ plugins })` that start at once, by default. */
const DEFAULT_START_CONCURRENCY = 4;

/**
 * The host's API: load plugins, manage their life cycle, call them, stream from them, push to them,
 * and watch their messages and events. Injectable anywhere once WwPluginModule.forRoot is imported.
 * @publicApi
 */
@Injectable()
export class PluginHostService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WwPluginHost');

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly launcher: PluginLauncher,
    private readonly supervisor: PluginSupervisor,
    private readonly router: CallRouter,
    private readonly events$: HostEvents,
    private readonly server: HostServer,
    private readonly heartbeat: HeartbeatScheduler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const concurrency = this.options.startConcurrency ?? DEFAULT_START_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) return this.abortBootstrap(new HostConfigurationError(BAD_START_CONCURRENCY(concurrency)));
    await this.server.listen();
    const specs = (this.options.plugins ?? []).map((p): PluginSpec => (typeof p === 'string' ? { path: p } : { ...p }));
    const failures: Array<{ plugin: string; reason: string }> = [];
    await inParallel(specs, concurrency, async (spec) => {
      try {
        await this.loadSpec(spec, true);
      } catch (err) {
        const plugin = spec.name ?? spec.path ?? spec.command ?? '?';
        const reason = (err as Error)?.message ?? String(err);
        this.logger.error(`Plugin "${plugin}" could not start${spec.required ? ' (required)' : ''}: ${reason}`);
        if (spec.required) failures.push({ plugin, reason });
      }
    });
    if (failures.length) await this.abortBootstrap(new RequiredPluginsError(REQUIRED_PLUGINS_FAILED(failures), { failures }));
  }

  /** Nest runs no shutdown hook when bootstrap throws: nothing may be left running. */
  private async abortBootstrap(error: Error): Promise<never> {
    await this.beforeApplicationShutdown();
    this.heartbeat.beforeApplicationShutdown();
    await this.server.onApplicationShutdown();
    throw error;
  }

  async beforeApplicationShutdown(): Promise<void> {
    // No restart and no new process from here on.
    this.supervisor.shutdown();
    this.launcher.shutdown();
    const plugins = this.registry.all();
    // Stops at once, not behind queued operations: a start waiting for its handshake is cut short.
    await Promise.all(plugins.map((p) => this.launcher.stop(p).catch(() => undefined)));
    // Operations already queued then settle (starts fail, the launcher is closing) before the host goes.
    await Promise.all(plugins.map((p) => p.operations.run(() => this.launcher.stop(p)).catch(() => undefined)));
  }

  /** The address plugins dial (a unix socket, or host:port). */
  address(): Promise<string> {
    return this.server.listen();
  }

  /**
   * Spawns a plugin and resolves with its info once it can be called. A name is held by one plugin
   * at a time: loading a name that is loaded (in any state, stopped too) fails with DuplicatePluginError.
   */
  async load(pathOrSpec: string | PluginSpec): Promise<PluginInfo> {
    return this.loadSpec(typeof pathOrSpec === 'string' ? { path: pathOrSpec } : { ...pathOrSpec }, false);
  }

  /** Loads; a plugin that cannot start is forgotten, or, for a boot plugin (`keep`), left `failed`. */
  private async loadSpec(spec: PluginSpec, keep: boolean): Promise<PluginInfo> {
    // A boot plugin is registered even with a bad entry: it stays listed, failed, with the reason logged.
    if (!keep) this.launcher.checkEntry(spec);
    const id = `${(spec.name ?? 'plugin').replace(/[^\w.-]/g, '_')}-${randomUUID().slice(0, 8)}`;
    const plugin = new ManagedPlugin(id, spec, {
      restart: this.options.restart,
      pushBufferSize: this.options.pushBufferSize ?? 10_000,
      pushOverflow: this.options.pushOverflow ?? 'drop-oldest',
      pushBufferBytes: this.options.pushBufferBytes,
      pushDelivery: this.options.pushDelivery,
      onEvent: (event) => this.events$.emit(event),
    });
    this.registry.add(plugin);
    try {
      await plugin.operations.run(async () => {
        this.assertLoaded(plugin);
        await this.launcher.start(plugin);
      });
    } catch (err) {
      if (keep && this.registry.has(plugin) && plugin.state === 'stopped') {
        plugin.lifecycle.moveTo('failed');
        this.events$.emit({ type: 'failed', plugin: plugin.name, id, reason: (err as Error)?.message ?? String(err) });
      } else {
        this.registry.remove(plugin);
      }
      throw err;
    }
    this.events$.emit({ type: 'loaded', plugin: plugin.name, id });
    this.events$.emit({ type: 'ready', plugin: plugin.name, id, pid: plugin.pid ?? 0 });
    if (this.options.debug) this.logger.debug(`Loaded plugin "${plugin.name}" (${id}, pid ${plugin.pid}).`);
    return plugin.info();
  }

  /** Starts a stopped (or failed) plugin again; waits for one that is already starting. */
  async start(idOrName: string): Promise<PluginInfo> {
    return this.operate(idOrName, (plugin) => this.startNow(plugin));
  }

  /** Stops a plugin gracefully: calls in flight may finish within the grace period. */
  async stop(idOrName: string, graceMs?: number): Promise<PluginInfo> {
    return this.operate(idOrName, (plugin) => this.stopNow(plugin, graceMs));
  }

  /** Stops and starts a plugin as one operation: no other operation on it, and no load of its name, comes between. */
  async restart(idOrName: string): Promise<PluginInfo> {
    return this.operate(idOrName, async (plugin) => {
      await this.stopNow(plugin);
      await this.startNow(plugin);
    });
  }

  /** Stops a plugin and forgets it; its name is free again. */
  async unload(idOrName: string): Promise<void> {
    await this.operate(idOrName, async (plugin) => {
      await this.stopNow(plugin);
      plugin.outbox.clear();
      this.registry.remove(plugin);
      this.events$.emit({ type: 'unloaded', plugin: plugin.name, id: plugin.id });
    });
  }

  /** Runs `op` on the plugin `idOrName` names now, after the operations queued on it before. */
  private operate(idOrName: string, op: (plugin: ManagedPlugin) => Promise<void>): Promise<PluginInfo> {
    const plugin = this.registry.resolve(idOrName);
    if (plugin.isRemote) return Promise.reject(new RemotePluginOperationError(REMOTE_OPERATION(plugin.name, 'start, stop, restart or unload'), { plugin: plugin.name }));
    return plugin.operations.run(async () => {
      this.assertLoaded(plugin);
      await op(plugin);
      return plugin.info();
    });
  }

  /** An operation queued behind an unload finds its plugin gone. */
  private assertLoaded(plugin: ManagedPlugin): void {
    if (!this.registry.has(plugin)) throw new UnknownPluginError(PLUGIN_UNLOADED(plugin.name), { plugin: plugin.name, id: plugin.id });
  }

  private async startNow(plugin: ManagedPlugin): Promise<void> {
    // Killed for missing heartbeats: its exit decides what it is next (restarting, failed, stopped).
    if (plugin.state === 'unresponsive') await plugin.lifecycle.until((s) => s !== 'unresponsive');
    if (plugin.state === 'running') return;
    // A process already spawned and shaking hands (a supervisor restart) is awaited, not doubled.
    if (plugin.child && plugin.state === 'restarting') return plugin.whenRunning(0, 'Start');
    this.supervisor.cancelRestart(plugin);
    // Started by hand: a crash loop before this one no longer counts against the plugin.
    plugin.restart.reset();
    await this.launcher.start(plugin);
    this.events$.emit({ type: 'ready', plugin: plugin.name, id: plugin.id, pid: plugin.pid ?? 0 });
  }

  private async stopNow(plugin: ManagedPlugin, graceMs?: number): Promise<void> {
    this.supervisor.cancelRestart(plugin);
    const wasStopped = plugin.state === 'stopped';
    await this.launcher.stop(plugin, graceMs);
    // No process was left to exit: one waiting for its restart backoff, or failed, is now stopped.
    if (plugin.state !== 'stopped') plugin.lifecycle.moveTo('stopped');
    if (!wasStopped) this.events$.emit({ type: 'stopped', plugin: plugin.name, id: plugin.id });
  }

  /** Every plugin with its state. */
  list(): PluginInfo[] {
    return this.registry.all().map((p) => p.info());
  }

  /** One plugin by id or name, or undefined. */
  get(idOrName: string): PluginInfo | undefined {
    return this.registry.find(idOrName)?.info();
  }

  /** Calls a plugin function and resolves with its result. */
  call<T = unknown>(idOrName: string, fn: string, args?: unknown, opts?: RemoteCallOptions): Promise<T> {
    return this.router.call(idOrName, fn, args, opts) as Promise<T>;
  }

  /**
   * The values of a plugin function; unsubscribing cancels it in the plugin. A streaming function has
   * no whole-call deadline unless `timeoutMs` is given, only the idle one; any other gets `defaultTimeoutMs`.
   */
  stream<T = unknown>(idOrName: string, fn: string, args?: unknown, opts?: StreamCallOptions): Observable<T> {
    return this.router.stream(idOrName, fn, args, opts) as Observable<T>;
  }

  /**
   * The values of a streaming plugin function, pulled with `for await`: the plugin sends only as
   * many as the loop has room for, so a slow consumer pauses it. Leaving the loop cancels the call.
   */
  iterate<T = unknown>(idOrName: string, fn: string, args?: unknown, opts?: RemoteCallOptions): AsyncIterable<T> {
    return this.router.iterate(idOrName, fn, args, opts) as AsyncIterable<T>;
  }

  /** A typed proxy of a plugin's functions: `host.plugin<EchoApi>('echo').greet({ name })`. */
  plugin<T>(idOrName: string): RemoteApi<T> {
    return remoteProxy<T>((fn, args, opts) => this.call(idOrName, fn, args, opts));
  }

  /** Pushes a message on `topic` to one plugin, or to all with '*'. Returns how many it was queued for. */
  push(target: string, topic: string, payload: unknown): number {
    return this.router.push(target, topic, payload);
  }

  /** Pushes every value of `source$` until it completes or the returned subscription is ended. */
  pushStream(target: string, topic: string, source$: Observable<unknown>): Subscription {
    return this.router.pushStream(target, topic, source$);
  }

  /** Messages plugins emit, optionally of one topic and from one plugin (name or id). */
  messages<T = unknown>(topic?: string, from?: string): Observable<PluginMessage<T>> {
    return (this.events$.messages$ as Observable<PluginMessage<T>>).pipe(
      filter((m) => (!topic || m.topic === topic) && (!from || m.plugin === from || m.pluginId === from)),
    );
  }

  /** Lifecycle and supervision events of every plugin. */
  events(): Observable<PluginEvent> {
    return this.events$.events$.asObservable();
  }

  /** Throws unless the plugin is running (for health checks and guards). */
  assertRunning(idOrName: string): void {
    const plugin = this.registry.resolve(idOrName);
    if (plugin.state !== 'running') throw new PluginNotRunningError(NOT_RUNNING(plugin.name, plugin.state), { state: plugin.state });
  }
}

/** Runs `work` on every item, at most `limit` at a time; resolves when all have settled. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
