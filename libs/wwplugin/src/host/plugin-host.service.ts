import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { filter, Observable, Subscription } from 'rxjs';
import { PluginNotRunningError } from '../errors/wwplugin.errors.js';
import type { PluginEvent, PluginInfo, PluginMessage, PluginSpec, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { remoteProxy, type RemoteApi, type RemoteCallOptions } from '../protocol/remote-proxy.js';
import { NOT_RUNNING } from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { CallRouter } from './call-router.js';
import { HostEvents } from './host-events.js';
import { HostServer } from './host-server.js';
import { ManagedPlugin } from './managed-plugin.js';
import { PluginLauncher } from './plugin-launcher.js';
import { PluginRegistry } from './plugin.registry.js';
import { PluginSupervisor } from './supervision/plugin-supervisor.js';

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
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.server.listen();
    for (const spec of this.options.plugins ?? []) await this.load(spec);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.supervisor.shutdown();
    await Promise.all(this.registry.all().map((p) => this.launcher.stop(p).catch(() => undefined)));
  }

  /** The address plugins dial (a unix socket, or host:port). */
  address(): Promise<string> {
    return this.server.listen();
  }

  /** Spawns a plugin and resolves with its info once it can be called. */
  async load(pathOrSpec: string | PluginSpec): Promise<PluginInfo> {
    const spec: PluginSpec = typeof pathOrSpec === 'string' ? { path: pathOrSpec } : { ...pathOrSpec };
    this.launcher.checkEntry(spec);
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
      await this.launcher.start(plugin);
    } catch (err) {
      this.registry.remove(plugin);
      throw err;
    }
    this.events$.emit({ type: 'loaded', plugin: plugin.name, id });
    this.events$.emit({ type: 'ready', plugin: plugin.name, id, pid: plugin.pid ?? 0 });
    if (this.options.debug) this.logger.debug(`Loaded plugin "${plugin.name}" (${id}, pid ${plugin.pid}).`);
    return plugin.info();
  }

  /** Starts a stopped (or failed) plugin again. */
  async start(idOrName: string): Promise<PluginInfo> {
    const plugin = this.registry.resolve(idOrName);
    if (plugin.state === 'running') return plugin.info();
    // A process already spawned and shaking hands (a load, or a restart) is awaited, not doubled.
    if (plugin.child && (plugin.state === 'starting' || plugin.state === 'restarting')) {
      await plugin.whenRunning(0, 'Start');
      return plugin.info();
    }
    this.supervisor.cancelRestart(plugin);
    // Started by hand: a crash loop before this one no longer counts against the plugin.
    plugin.restart.reset();
    await this.launcher.start(plugin);
    this.events$.emit({ type: 'ready', plugin: plugin.name, id: plugin.id, pid: plugin.pid ?? 0 });
    return plugin.info();
  }

  /** Stops a plugin gracefully: calls in flight may finish within the grace period. */
  async stop(idOrName: string, graceMs?: number): Promise<PluginInfo> {
    const plugin = this.registry.resolve(idOrName);
    this.supervisor.cancelRestart(plugin);
    const wasStopped = plugin.state === 'stopped';
    await this.launcher.stop(plugin, graceMs);
    plugin.state = 'stopped';
    if (!wasStopped) this.events$.emit({ type: 'stopped', plugin: plugin.name, id: plugin.id });
    return plugin.info();
  }

  /** Stops and starts a plugin. */
  async restart(idOrName: string): Promise<PluginInfo> {
    await this.stop(idOrName);
    return this.start(idOrName);
  }

  /** Stops a plugin and forgets it. */
  async unload(idOrName: string): Promise<void> {
    const plugin = this.registry.resolve(idOrName);
    await this.stop(plugin.id);
    plugin.outbox.clear();
    this.registry.remove(plugin);
    this.events$.emit({ type: 'unloaded', plugin: plugin.name, id: plugin.id });
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

  /** The values of a streaming plugin function; unsubscribing cancels it in the plugin. */
  stream<T = unknown>(idOrName: string, fn: string, args?: unknown, opts?: RemoteCallOptions): Observable<T> {
    return this.router.stream(idOrName, fn, args, opts) as Observable<T>;
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
