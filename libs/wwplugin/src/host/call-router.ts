import { Inject, Injectable, Logger } from '@nestjs/common';
import { catchError, defer, EMPTY, from, Observable, Subscription, switchMap, tap } from 'rxjs';
import {
  PluginBusyError,
  PluginCallForbiddenError,
  PluginNotRunningError,
  UnknownFunctionError,
} from '../errors/wwplugin.errors.js';
import type { PluginMessage, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import type { CallFrame, Frame } from '../protocol/frames.js';
import { decodeValue, encodeValue } from '../protocol/parameters.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/protocol.constants.js';
import type { RemoteCallOptions } from '../protocol/remote-proxy.js';
import { assertMessageSize, type IncomingCall } from '../protocol/session-channel.js';
import { BUSY, FORBIDDEN_CALL, NOT_RUNNING, PUSH_STREAM_ENDED, UNKNOWN_FUNCTION, UNKNOWN_HOST_FUNCTION } from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { HostEvents } from './host-events.js';
import { HostFunctionRegistry } from './host-function.registry.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { PluginRegistry } from './plugin.registry.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_IN_FLIGHT = 1024;
/** States in which a plugin is expected back soon: calls may wait for it. */
const COMING_BACK = new Set(['starting', 'restarting', 'unresponsive']);

/**
 * Every call and message that crosses the host: host→plugin calls, streams and pushes, and what
 * plugins send (calls to host functions, calls relayed to other plugins, emits, heartbeat answers).
 */
@Injectable()
export class CallRouter {
  private readonly logger = new Logger('WwPluginHost');
  private readonly defaultTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxMessageBytes: number;
  private readonly slotWaiters = new Map<ManagedPlugin, Array<() => void>>();

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly hostFunctions: HostFunctionRegistry,
    private readonly events: HostEvents,
  ) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** host → plugin: resolves with the function's result. */
  call(idOrName: string, fn: string, args?: unknown, opts: RemoteCallOptions = {}): Promise<unknown> {
    let plugin: ManagedPlugin;
    try {
      plugin = this.registry.resolve(idOrName);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    // The fast path stays synchronous: no await unless the plugin is away or busy.
    if (plugin.state === 'running' && plugin.channel!.inFlight < this.maxInFlight) {
      if (!plugin.functions.has(fn)) return Promise.reject(this.unknownFunction(plugin, fn));
      return this.track(plugin, plugin.channel!.call(fn, args, { timeoutMs, signal: opts.signal }));
    }
    return this.callSlow(plugin, fn, args, timeoutMs, opts.signal);
  }

  private async callSlow(plugin: ManagedPlugin, fn: string, args: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const started = Date.now();
    await this.ready(plugin, timeoutMs, fn);
    if (!plugin.functions.has(fn)) throw this.unknownFunction(plugin, fn);
    await this.slot(plugin);
    const left = timeoutMs ? Math.max(1, timeoutMs - (Date.now() - started)) : 0;
    await this.ready(plugin, left, fn);
    return this.track(plugin, plugin.channel!.call(fn, args, { timeoutMs: left, signal }));
  }

  /** host → plugin: the values of a streaming function; unsubscribing cancels it in the plugin. */
  stream(idOrName: string, fn: string, args?: unknown, opts: RemoteCallOptions = {}): Observable<unknown> {
    return defer(() => {
      const plugin = this.registry.resolve(idOrName);
      const timeoutMs = opts.timeoutMs ?? 0;
      return from(this.ready(plugin, timeoutMs || this.defaultTimeoutMs, fn)).pipe(
        switchMap(() => {
          if (!plugin.functions.has(fn)) throw this.unknownFunction(plugin, fn);
          return plugin.channel!.stream(fn, args, { timeoutMs, signal: opts.signal });
        }),
      );
    });
  }

  /** host → plugins: queues a push for one plugin or, with '*', all; returns how many take it. */
  push(target: string, topic: string, payload: unknown): number {
    const wire = encodeValue('payload', payload);
    assertMessageSize([wire], this.maxMessageBytes);
    const targets = target === '*' ? this.registry.all().filter((p) => p.state !== 'stopped' && p.state !== 'failed') : [this.registry.resolve(target)];
    // A full buffer counts what it drops and reports it itself (push-overflow, rate-limited, exact).
    for (const plugin of targets) plugin.outbox.enqueue(topic, wire, plugin.state === 'running' ? plugin.channel : undefined);
    return targets.length;
  }

  /** Forwards every value of `source$` as a push until it completes or the subscription ends. */
  pushStream(target: string, topic: string, source$: Observable<unknown>): Subscription {
    // An unknown target is the caller's mistake: say so now, not on the first value.
    if (target !== '*') this.registry.resolve(target);
    return source$
      .pipe(
        tap((value) => this.push(target, topic, value)),
        // A failing source, a value that cannot be sent or an unloaded target ends the forwarding;
        // left unhandled, rxjs would rethrow it on a timer and take the whole host down.
        catchError((err: unknown) => {
          this.logger.warn(PUSH_STREAM_ENDED(target, topic, (err as Error)?.message ?? String(err)));
          return EMPTY;
        }),
      )
      .subscribe();
  }

  /** plugin → host: a call to a host function, or to another plugin through the host. */
  fromPlugin(caller: ManagedPlugin, call: CallFrame, incoming: IncomingCall): unknown {
    if (call.target) return this.relay(caller, call, incoming);
    const plugin = { id: caller.id, name: caller.name, version: caller.version };
    return this.hostFunctions.invoke(call, incoming, { caller: caller.name, plugin }, UNKNOWN_HOST_FUNCTION);
  }

  private relay(caller: ManagedPlugin, call: CallFrame, incoming: IncomingCall): unknown {
    // The policy always sees the target's name, however the caller addressed it (name or id).
    const found = this.registry.find(call.target!);
    const targetName = found?.name ?? call.target!;
    const allow = this.options.allowPluginCalls ?? true;
    const allowed = typeof allow === 'function' ? allow(caller.name, targetName, call.function) : allow;
    if (!allowed) {
      throw new PluginCallForbiddenError(FORBIDDEN_CALL(caller.name, targetName, call.function), {
        caller: caller.name,
        target: targetName,
        function: call.function,
      });
    }
    const target = found ?? this.registry.resolve(targetName);
    // A relayed call never waits for a restarting plugin: the calling plugin decides what to do.
    if (target.state !== 'running') throw new PluginNotRunningError(NOT_RUNNING(target.name, target.state), { state: target.state });
    if (!target.functions.has(call.function)) throw this.unknownFunction(target, call.function);
    const opts = { timeoutMs: call.timeoutMs, parent: incoming, caller: caller.name };
    // Arguments and results pass through in wire form: no decoding in the middle.
    if (call.stream) return target.channel!.stream(call.function, call.args ?? [], opts, true);
    return target.channel!.callRaw(call.function, call.args ?? [], opts);
  }

  /** Frames from a plugin that are not calls: emits and heartbeat answers. */
  onPluginFrame(plugin: ManagedPlugin, frame: Frame): void {
    if (frame.kind === 'emit') {
      const e = frame.emit!;
      const message: PluginMessage = { plugin: plugin.name, pluginId: plugin.id, topic: e.topic, payload: decodeValue(e.payload), at: new Date() };
      this.events.messages$.next(message);
    } else if (frame.kind === 'ack' || frame.kind === 'emitOverflow') {
      plugin.deliveryFrame(frame);
    } else if (frame.kind === 'pong') {
      const hb = plugin.heartbeat;
      if (frame.pong!.seq === hb.outstandingSeq) {
        plugin.lastHeartbeatMs = Date.now() - hb.sentAt;
        hb.outstandingSeq = 0;
        hb.missed = 0;
      }
    }
  }

  private unknownFunction(plugin: ManagedPlugin, fn: string): UnknownFunctionError {
    const available = [...plugin.functions.keys()];
    return new UnknownFunctionError(UNKNOWN_FUNCTION(plugin.name, fn, available), { plugin: plugin.name, available });
  }

  private async ready(plugin: ManagedPlugin, timeoutMs: number, fn: string): Promise<void> {
    if (plugin.state === 'running') return;
    if (COMING_BACK.has(plugin.state) && (this.options.whileRestarting ?? 'wait') === 'wait') {
      return plugin.whenRunning(timeoutMs, `Call to ${plugin.name}.${fn}`);
    }
    throw new PluginNotRunningError(NOT_RUNNING(plugin.name, plugin.state), { state: plugin.state });
  }

  private async slot(plugin: ManagedPlugin): Promise<void> {
    if ((plugin.channel?.inFlight ?? 0) < this.maxInFlight) return;
    if ((this.options.whenBusy ?? 'reject') === 'reject') throw new PluginBusyError(BUSY(plugin.name, this.maxInFlight));
    await new Promise<void>((resolve) => {
      const list = this.slotWaiters.get(plugin) ?? [];
      list.push(resolve);
      this.slotWaiters.set(plugin, list);
    });
  }

  /** Wakes one caller waiting for a slot when a call settles (only when someone waits). */
  private track<T>(plugin: ManagedPlugin, p: Promise<T>): Promise<T> {
    if ((this.options.whenBusy ?? 'reject') !== 'wait') return p;
    const wake = () => {
      const list = this.slotWaiters.get(plugin);
      const next = list?.shift();
      if (list && !list.length) this.slotWaiters.delete(plugin);
      next?.();
    };
    p.then(wake, wake);
    return p;
  }
}
