import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { filter, Observable, Subscription } from 'rxjs';
import {
  HostConfigurationError,
  InvalidArgumentError,
  PluginNotRunningError,
  RemotePluginOperationError,
  RequiredPluginsError,
  UnknownPluginError,
  UpgradeFailedError,
} from '../errors/wwplugin.errors.js';
import type {
  PluginEvent,
  PluginInfo,
  PluginMessage,
  PluginSpec,
  PushOptions,
  UpgradeOptions,
  WwPluginHostOptions,
} from '../interfaces/host-options.interface.js';
import { remoteProxy, type RemoteApi, type RemoteCallOptions, type StreamCallOptions } from '../protocol/remote-proxy.js';
import {
  BAD_INSTANCES,
  BAD_START_CONCURRENCY,
  NOT_RUNNING,
  PLUGIN_UNLOADED,
  REMOTE_OPERATION,
  REQUIRED_PLUGINS_FAILED,
  UPGRADE_FAILED,
  UPGRADE_NAME_MISMATCH,
} from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { CallRouter } from './call-router.js';
import { HostEvents } from './host-events.js';
import { HostServer } from './host-server.js';
import { ManagedPlugin } from './managed-plugin.js';
import { latest, PluginGroup } from './plugin-group.js';
import { PluginLauncher } from './plugin-launcher.js';
import { PluginRegistry } from './plugin.registry.js';
import { HeartbeatScheduler } from './supervision/heartbeat.scheduler.js';
import { PluginSupervisor } from './supervision/plugin-supervisor.js';
import { SparePool, type SpareInfo } from './spare-pool.js';

/** Plugins of `forRoot({ plugins })` that start at once, by default. */
const DEFAULT_START_CONCURRENCY = 4;
const DEFAULT_GRACE_MS = 5_000;

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
    private readonly sparePool: SparePool,
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
    await this.sparePool.close();
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

  /** The prewarmed spare processes (host option `spares`), warming or ready. */
  spares(): SpareInfo[] {
    return this.sparePool.list();
  }

  /**
   * Starts a spare for the next load() of `spec` (a plugin not loaded yet; needs no `spares`): a
   * process with the plugin's Node flags, working directory and environment that has imported its
   * entry and waits inside bootstrapPlugin, so that load() skips Node's start and the entry's
   * imports (what a bundle's start is made of). The entry's top-level code runs now, without the
   * plugin's id (WWPLUGIN_PLUGIN_ID) and secret. Used by the first load() of exactly that spec
   * (same entry, args, cwd, flags and environment); one waiting process (see BENCHMARKS.md for its
   * memory) until then. Resolves true once it is ready, false when the spec cannot use a spare (a
   * command, another user, `spare: false`) or the process died before it was ready.
   */
  async prewarm(pathOrSpec: string | PluginSpec): Promise<boolean> {
    return this.launcher.prewarm(typeof pathOrSpec === 'string' ? { path: pathOrSpec } : { ...pathOrSpec });
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
    const group = this.newGroup(spec);
    this.registry.addGroup(group);
    try {
      await group.operations.run(async () => {
        for (const p of group.instances) this.assertLoaded(p);
        await this.eachInstance(group.instances, (p) => this.launcher.start(p));
      });
    } catch (err) {
      // The instances that did start are stopped: a plugin is loaded whole or not at all.
      await Promise.all(group.instances.map((p) => this.launcher.stop(p).catch(() => undefined)));
      if (keep && this.registry.holds(group) && group.instances.every((p) => p.state === 'stopped')) {
        for (const p of group.instances) {
          p.lifecycle.moveTo('failed');
          this.events$.emit({ type: 'failed', ...p.ref, reason: (err as Error)?.message ?? String(err) });
        }
      } else {
        this.registry.removeGroup(group);
      }
      throw err;
    }
    for (const p of group.instances) {
      this.events$.emit({ type: 'loaded', ...p.ref });
      this.events$.emit({ type: 'ready', ...p.ref, pid: p.pid ?? 0 });
      if (this.options.debug) this.logger.debug(`Loaded plugin "${p.name}" (${p.id}, instance ${p.instance}, pid ${p.pid}).`);
    }
    return group.instances[0].info();
  }

  /** A set of `spec.instances` new instances (not yet registered nor started). */
  private newGroup(spec: PluginSpec, operations?: PluginGroup['operations']): PluginGroup {
    const count = instanceCount(spec);
    const group = new PluginGroup(spec.name ?? 'plugin', operations);
    for (let i = 0; i < count; i++) {
      const id = `${(spec.name ?? 'plugin').replace(/[^\w.-]/g, '_')}-${randomUUID().slice(0, 8)}`;
      const plugin = new ManagedPlugin(id, spec, {
        restart: this.options.restart,
        pushBufferSize: this.options.pushBufferSize ?? 10_000,
        pushOverflow: this.options.pushOverflow ?? 'drop-oldest',
        pushBufferBytes: this.options.pushBufferBytes,
        pushDelivery: this.options.pushDelivery,
        onEvent: (event) => this.events$.emit(event),
      });
      group.add(plugin);
    }
    return group;
  }

  /** Runs `op` on each instance (through its own operation queue), all at once; rejects with the first failure once all have settled. */
  private async eachInstance(instances: ManagedPlugin[], op: (plugin: ManagedPlugin) => Promise<void>): Promise<void> {
    const outcomes = await Promise.allSettled(instances.map((p) => p.operations.run(() => op(p))));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Starts a stopped (or failed) plugin again; waits for one that is already starting. By name:
   * every instance; by id: that instance.
   */
  async start(idOrName: string): Promise<PluginInfo> {
    return this.operate(idOrName, (plugin) => this.startNow(plugin));
  }

  /** Stops a plugin gracefully: calls in flight may finish within the grace period. By name: every instance; by id: that instance. */
  async stop(idOrName: string, graceMs?: number): Promise<PluginInfo> {
    return this.operate(idOrName, async (plugin) => {
      // A stopped plugin keeps no spare of its own: start() warms one again.
      this.sparePool.discardOwn(plugin.id);
      await this.stopNow(plugin, graceMs);
      // Pushes meant for any one instance go to another that serves (not to one stopping with it).
      plugin.passOnPushes();
    });
  }

  /**
   * Stops and starts a plugin as one operation: no other operation on it, and no load of its name,
   * comes between. A plugin with several instances restarts them one after another, so the others
   * keep serving its calls.
   */
  async restart(idOrName: string): Promise<PluginInfo> {
    return this.operate(
      idOrName,
      async (plugin) => {
        await this.stopNow(plugin);
        await this.startNow(plugin);
      },
      true,
    );
  }

  /** Stops a plugin and forgets it; its name is free again. By id, only that instance goes (the name is free once none is left). */
  async unload(idOrName: string): Promise<void> {
    await this.operate(idOrName, async (plugin) => {
      this.sparePool.discardOwn(plugin.id);
      await this.stopNow(plugin);
      // Pushes meant for any one instance go to another that serves; the rest is reported lost.
      plugin.passOnPushes();
      plugin.outbox.clear();
      this.registry.remove(plugin);
      this.events$.emit({ type: 'unloaded', ...plugin.ref });
    });
  }

  /**
   * Replaces a running plugin with a new version without refusing a call: starts `spec`'s
   * instances beside the old ones, and once every one of them is running sends new calls (and
   * pushes) by name to them; the old instances finish their calls in flight within `graceMs`, then
   * stop, and the pushes they had not acknowledged go to the new instances (at-least-once). If the
   * new version cannot start, it is stopped, the old one keeps serving, and the upgrade rejects with
   * UpgradeFailedError (its `cause` says why). Resolves with the new instances' info.
   */
  async upgrade(name: string, pathOrSpec: string | PluginSpec, opts: UpgradeOptions = {}): Promise<PluginInfo[]> {
    const spec: PluginSpec = typeof pathOrSpec === 'string' ? { path: pathOrSpec } : { ...pathOrSpec };
    const addressed = this.registry.target(name);
    const first = addressed instanceof ManagedPlugin ? addressed.group! : addressed;
    if (first.instances.some((p) => p.isRemote)) throw new RemotePluginOperationError(REMOTE_OPERATION(first.name, 'upgrade'), { plugin: first.name });
    return first.operations.run(async () => {
      const current = latest(first);
      if (!this.registry.holds(current)) throw new UnknownPluginError(PLUGIN_UNLOADED(current.name), { plugin: current.name });
      const pluginName = current.name;
      if (spec.name !== undefined && spec.name !== pluginName) throw new InvalidArgumentError(UPGRADE_NAME_MISMATCH(pluginName, spec.name));
      const next = this.newGroup({ ...spec, name: pluginName }, current.operations);
      next.replaces = current;
      this.registry.addPending(next);
      try {
        this.launcher.checkEntry(next.instances[0].spec);
        await this.eachInstance(next.instances, (p) => this.launcher.start(p));
      } catch (err) {
        await Promise.all(next.instances.map((p) => this.stopNow(p, 0).catch(() => undefined)));
        this.registry.removePending(next);
        const reason = (err as Error)?.message ?? String(err);
        const failed = new UpgradeFailedError(UPGRADE_FAILED(pluginName, reason), { plugin: pluginName, reason });
        failed.cause = err;
        throw failed;
      }
      const from = current.representative()?.version ?? '';
      this.registry.replace(current, next);
      for (const p of next.instances) this.events$.emit({ type: 'ready', ...p.ref, pid: p.pid ?? 0 });
      const head = next.instances[0];
      this.events$.emit({ type: 'upgraded', ...head.ref, from, to: head.version, ids: next.instances.map((p) => p.id) });
      this.logger.log(`Plugin "${pluginName}" upgraded from ${from || '?'} to ${head.version || '?'}; the old instances drain.`);
      const graceMs = opts.graceMs ?? this.options.shutdownGraceMs ?? DEFAULT_GRACE_MS;
      await Promise.all(current.instances.map((p) => p.operations.run(() => this.retire(p, next, graceMs))));
      return next.instances.map((p) => p.info());
    });
  }

  /** An old instance after an upgrade: finishes its calls (within `graceMs`), stops, hands its pushes over, and is forgotten. */
  private async retire(plugin: ManagedPlugin, next: PluginGroup, graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    await this.router.drained(plugin, graceMs);
    await this.stopNow(plugin, Math.max(0, deadline - Date.now()));
    const heir = next.instances[plugin.instance % next.size];
    plugin.outbox.handOver(heir.outbox, heir.state === 'running' ? heir.channel : undefined);
    this.registry.remove(plugin);
    this.events$.emit({ type: 'unloaded', ...plugin.ref });
  }

  /**
   * Runs `op` on what `idOrName` names now, after the operations queued on it before: on one
   * instance by id, on every instance by name (all at once, or one after another when `oneByOne`).
   */
  private operate(idOrName: string, op: (plugin: ManagedPlugin) => Promise<void>, oneByOne = false): Promise<PluginInfo> {
    const addressed = this.registry.target(idOrName);
    const group = addressed instanceof ManagedPlugin ? addressed.group! : addressed;
    // Remote plugins are started and stopped by their orchestrator, never by the host.
    if ((addressed instanceof ManagedPlugin ? [addressed] : group.instances).some((p) => p.isRemote)) {
      return Promise.reject(new RemotePluginOperationError(REMOTE_OPERATION(group.name, 'start, stop, restart or unload'), { plugin: group.name }));
    }
    return group.operations.run(async () => {
      // A name queued behind an upgrade acts on the set that serves it now.
      const instances = addressed instanceof ManagedPlugin ? [addressed] : [...latest(group).instances];
      const run = (p: ManagedPlugin) =>
        p.operations.run(async () => {
          this.assertLoaded(p);
          await op(p);
        });
      if (!instances.length) throw new UnknownPluginError(PLUGIN_UNLOADED(group.name), { plugin: group.name });
      if (oneByOne) for (const p of instances) await run(p);
      else await this.eachInstance(instances, (p) => (this.assertLoaded(p), op(p)));
      return instances[0].info();
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
    this.events$.emit({ type: 'ready', ...plugin.ref, pid: plugin.pid ?? 0 });
  }

  private async stopNow(plugin: ManagedPlugin, graceMs?: number): Promise<void> {
    this.supervisor.cancelRestart(plugin);
    const wasStopped = plugin.state === 'stopped';
    await this.launcher.stop(plugin, graceMs);
    // No process was left to exit: one waiting for its restart backoff, or failed, is now stopped.
    if (plugin.state !== 'stopped') plugin.lifecycle.moveTo('stopped');
    if (!wasStopped) this.events$.emit({ type: 'stopped', ...plugin.ref });
  }

  /** Every plugin instance with its state (a plugin with several instances has one entry per instance). */
  list(): PluginInfo[] {
    return this.registry.all().map((p) => p.info());
  }

  /** One plugin by id or name, or undefined; by the name of a plugin with several instances, a running one if any. */
  get(idOrName: string): PluginInfo | undefined {
    return this.registry.find(idOrName)?.info();
  }

  /**
   * Calls a plugin function and resolves with its result. By name, the call goes to the running
   * instance with the fewest calls in flight; by id, to that instance.
   */
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

  /**
   * Pushes a message on `topic` to one plugin, or to all with '*': to each of a plugin's instances,
   * or to one (`{ to: 'one' }`, default the spec's `pushTo`). Returns how many instances it was queued for.
   */
  push(target: string, topic: string, payload: unknown, opts?: PushOptions): number {
    return this.router.push(target, topic, payload, opts);
  }

  /** Pushes every value of `source$` until it completes or the returned subscription is ended. */
  pushStream(target: string, topic: string, source$: Observable<unknown>, opts?: PushOptions): Subscription {
    return this.router.pushStream(target, topic, source$, opts);
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

  /** Throws unless the plugin (by name: one of its instances) is running (for health checks and guards). */
  assertRunning(idOrName: string): void {
    const target = this.registry.target(idOrName);
    if (target.state !== 'running') throw new PluginNotRunningError(NOT_RUNNING(target.name, target.state), { state: target.state });
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

/** How many instances a spec asks for; InvalidArgumentError for anything but a positive integer or 'auto'. */
function instanceCount(spec: PluginSpec): number {
  const n = spec.instances ?? 1;
  if (n === 'auto') return availableParallelism();
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(BAD_INSTANCES(spec.name ?? spec.path ?? spec.command ?? '?', n), { instances: n });
  return n;
}
