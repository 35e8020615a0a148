import { Inject, Injectable, Logger } from '@nestjs/common';
import { catchError, EMPTY, Observable, Subscription, tap } from 'rxjs';
import {
  CallCancelledError,
  DeadlineExceededError,
  PluginBusyError,
  PluginCallForbiddenError,
  PluginNotRunningError,
  UnknownFunctionError,
} from '../errors/wwplugin.errors.js';
import type { PluginMessage, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import type { CallFrame, Frame } from '../protocol/frames.js';
import { decodeValue, encodeValue } from '../protocol/parameters.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/protocol.constants.js';
import { idleDeadline } from '../protocol/idle-deadline.js';
import type { RemoteCallOptions, StreamCallOptions } from '../protocol/remote-proxy.js';
import { assertMessageSize, type IncomingCall } from '../protocol/session-channel.js';
import {
  ABORTED_WHILE_WAITING,
  BUSY,
  DEADLINE_EXCEEDED,
  FORBIDDEN_CALL,
  NOT_RUNNING,
  PUSH_STREAM_ENDED,
  QUEUE_FULL,
  UNKNOWN_FUNCTION,
  UNKNOWN_HOST_FUNCTION,
} from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { HostEvents } from './host-events.js';
import { CallSlots } from './call-slots.js';
import { HostFunctionRegistry } from './host-function.registry.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { PluginRegistry } from './plugin.registry.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_IN_FLIGHT = 1024;
const DEFAULT_MAX_QUEUED = 1024;
/** States in which a plugin is expected back soon: calls may wait for it. */
const COMING_BACK = new Set(['starting', 'restarting', 'unresponsive', 'disconnected']);

/**
 * Every call and message that crosses the host: host→plugin calls, streams and pushes, and what
 * plugins send (calls to host functions, calls relayed to other plugins, emits, heartbeat answers).
 */
@Injectable()
export class CallRouter {
  private readonly logger = new Logger('WwPluginHost');
  private readonly defaultTimeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly waitWhenBusy: boolean;
  private readonly maxMessageBytes: number;
  private readonly slots = new WeakMap<ManagedPlugin, CallSlots>();

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly hostFunctions: HostFunctionRegistry,
    private readonly events: HostEvents,
  ) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? 0;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.waitWhenBusy = (options.whenBusy ?? 'reject') === 'wait';
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** host → plugin: resolves with the function's result (a streaming function's last value). */
  call(idOrName: string, fn: string, args?: unknown, opts: RemoteCallOptions = {}): Promise<unknown> {
    let plugin: ManagedPlugin;
    try {
      plugin = this.registry.resolve(idOrName);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const slots = this.slotsOf(plugin);
    // The fast path stays synchronous: no await unless the plugin is away or busy.
    if (plugin.state === 'running' && plugin.functions.has(fn) && slots.tryAcquire()) {
      return this.holding(slots, plugin.channel!.call(fn, args, { timeoutMs, signal: opts.signal }));
    }
    return this.callSlow(plugin, fn, args, timeoutMs, opts.signal);
  }

  private async callSlow(plugin: ManagedPlugin, fn: string, args: unknown, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const deadlineAt = timeoutMs ? Date.now() + timeoutMs : 0;
    const slots = await this.admit(plugin, fn, deadlineAt, timeoutMs, signal);
    const left = deadlineAt ? Math.max(1, deadlineAt - Date.now()) : 0;
    return this.holding(slots, plugin.channel!.call(fn, args, { timeoutMs: left, signal })).catch((err) => {
      throw this.wholeDeadline(err, left, plugin, fn, timeoutMs);
    });
  }

  /** The channel counts what was left after waiting; the caller set (and is told about) the whole deadline. */
  private wholeDeadline(err: unknown, left: number, plugin: ManagedPlugin, fn: string, timeoutMs: number): unknown {
    if (!(err instanceof DeadlineExceededError) || left === timeoutMs || err.details?.timeoutMs !== left) return err;
    return new DeadlineExceededError(DEADLINE_EXCEEDED(plugin.name, fn, timeoutMs), { timeoutMs });
  }

  /**
   * host → plugin: the values of a function; unsubscribing cancels it in the plugin. A streaming
   * function has no whole-call deadline unless one is given, and the idle one; any other function
   * gives one value within the call's deadline, as call() would.
   */
  stream(idOrName: string, fn: string, args?: unknown, opts: StreamCallOptions = {}): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      const plugin = this.registry.resolve(idOrName);
      const waitMs = opts.timeoutMs ?? this.defaultTimeoutMs;
      const deadlineAt = waitMs ? Date.now() + waitMs : 0;
      // Unsubscribing while the stream waits for the plugin or a slot takes it out of the line.
      const left = new AbortController();
      const signal = opts.signal ? AbortSignal.any([opts.signal, left.signal]) : left.signal;
      let slots: CallSlots | undefined;
      const run = (granted: CallSlots, waited: boolean) => {
        if (left.signal.aborted) return granted.release();
        slots = granted;
        const streaming = !!plugin.functions.get(fn)?.stream;
        const whole = streaming && opts.timeoutMs === undefined ? 0 : waitMs;
        const timeoutMs = whole && waited ? Math.max(1, deadlineAt - Date.now()) : whole;
        const idleMs = streaming ? (opts.idleTimeoutMs ?? this.streamIdleTimeoutMs) : 0;
        const values = plugin.channel!.stream(fn, args, { timeoutMs, signal: opts.signal }).pipe(idleDeadline(idleMs, plugin.name, fn));
        subscriber.add(
          values.subscribe({
            next: (v) => subscriber.next(v),
            error: (e) => subscriber.error(this.wholeDeadline(e, timeoutMs, plugin, fn, whole)),
            complete: () => subscriber.complete(),
          }),
        );
      };
      const fast = plugin.state === 'running' && plugin.functions.has(fn) ? this.slotsOf(plugin) : undefined;
      if (fast?.tryAcquire()) run(fast, false);
      else
        this.admit(plugin, fn, deadlineAt, waitMs, signal)
          .then((granted) => run(granted, true))
          .catch((err) => subscriber.error(err));
      return () => {
        left.abort();
        slots?.release();
      };
    });
  }

  /**
   * host → plugin: a function's values, pulled: the plugin sends only what the loop takes. Waits
   * and deadlines as stream(); no idle deadline, since the reader sets the pace.
   */
  iterate(idOrName: string, fn: string, args?: unknown, opts: RemoteCallOptions = {}): AsyncIterable<unknown> {
    return { [Symbol.asyncIterator]: () => this.pull(idOrName, fn, args, opts) };
  }

  private async *pull(idOrName: string, fn: string, args: unknown, opts: RemoteCallOptions): AsyncGenerator<unknown> {
    const plugin = this.registry.resolve(idOrName);
    const waitMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const deadlineAt = waitMs ? Date.now() + waitMs : 0;
    const slots = await this.admit(plugin, fn, deadlineAt, waitMs, opts.signal);
    try {
      const streaming = !!plugin.functions.get(fn)?.stream;
      const whole = streaming && opts.timeoutMs === undefined ? 0 : waitMs;
      const timeoutMs = whole && deadlineAt ? Math.max(1, deadlineAt - Date.now()) : 0;
      yield* plugin.channel!.iterate(fn, args, { timeoutMs, signal: opts.signal });
    } finally {
      slots.release();
    }
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
    // A relayed call never waits for a restarting plugin, nor for a slot: the calling plugin decides what to do.
    if (target.state !== 'running') throw new PluginNotRunningError(NOT_RUNNING(target.name, target.state), { state: target.state });
    const info = target.functions.get(call.function);
    if (!info) throw this.unknownFunction(target, call.function);
    const slots = this.slotsOf(target);
    if (!slots.tryAcquire()) throw new PluginBusyError(BUSY(target.name, slots.limit));
    // The caller cannot know a function returns one value: a stream of one gets the default deadline here.
    const timeoutMs = call.stream && !info.stream && !call.timeoutMs ? this.defaultTimeoutMs : call.timeoutMs;
    const opts = { timeoutMs, parent: incoming, caller: caller.name };
    // Arguments and results pass through in wire form: no decoding in the middle.
    // Pulled, so a calling plugin that reads slowly pauses the target instead of filling the host.
    if (call.stream) return releasing(target.channel!.iterate(call.function, call.args ?? [], opts, true), () => slots.release());
    return this.holding(slots, target.channel!.callRaw(call.function, call.args ?? [], opts));
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

  private slotsOf(plugin: ManagedPlugin): CallSlots {
    let slots = this.slots.get(plugin);
    if (!slots) this.slots.set(plugin, (slots = new CallSlots(this.maxInFlight, this.waitWhenBusy ? this.maxQueued : 0)));
    return slots;
  }

  private busy(plugin: ManagedPlugin, slots: CallSlots): PluginBusyError {
    return slots.maxQueued ? new PluginBusyError(QUEUE_FULL(plugin.name, slots.limit, slots.waiting)) : new PluginBusyError(BUSY(plugin.name, slots.limit));
  }

  /**
   * Waits, within the call's deadline and until its signal fires, for the plugin to run and for a
   * slot; resolves with the slots it holds one of. The slot is given back if the plugin went away meanwhile.
   */
  private async admit(plugin: ManagedPlugin, fn: string, deadlineAt: number, timeoutMs: number, signal?: AbortSignal): Promise<CallSlots> {
    if (signal?.aborted) throw new CallCancelledError(ABORTED_WHILE_WAITING(plugin.name, fn, 'the plugin'));
    await this.ready(plugin, deadlineAt, fn, signal);
    if (!plugin.functions.has(fn)) throw this.unknownFunction(plugin, fn);
    const slots = this.slotsOf(plugin);
    await slots.acquire({
      deadlineAt,
      signal,
      busy: () => this.busy(plugin, slots),
      expired: () => new DeadlineExceededError(DEADLINE_EXCEEDED(plugin.name, fn, timeoutMs), { timeoutMs }),
      aborted: () => new CallCancelledError(ABORTED_WHILE_WAITING(plugin.name, fn, 'a free slot')),
    });
    try {
      await this.ready(plugin, deadlineAt, fn, signal);
      if (deadlineAt && Date.now() >= deadlineAt) throw new DeadlineExceededError(DEADLINE_EXCEEDED(plugin.name, fn, timeoutMs), { timeoutMs });
    } catch (err) {
      slots.release();
      throw err;
    }
    return slots;
  }

  /** Waits for a plugin that is coming back (whileRestarting 'wait'), within the deadline and the signal. */
  private async ready(plugin: ManagedPlugin, deadlineAt: number, fn: string, signal?: AbortSignal): Promise<void> {
    if (plugin.state === 'running') return;
    if (!COMING_BACK.has(plugin.state) || (this.options.whileRestarting ?? 'wait') !== 'wait') {
      throw new PluginNotRunningError(NOT_RUNNING(plugin.name, plugin.state), { state: plugin.state });
    }
    const abortedError = () => new CallCancelledError(ABORTED_WHILE_WAITING(plugin.name, fn, 'the plugin to run'));
    if (signal?.aborted) throw abortedError();
    const running = plugin.whenRunning(deadlineAt ? Math.max(1, deadlineAt - Date.now()) : 0, `Call to ${plugin.name}.${fn}`);
    if (!signal) return running;
    // The wait left behind settles on its own (bounded by the deadline or the plugin's next state).
    running.catch(() => undefined);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortedError());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([running, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Gives the slot back when the call settles, however it does. */
  private holding<T>(slots: CallSlots, p: Promise<T>): Promise<T> {
    const release = () => slots.release();
    p.then(release, release);
    return p;
  }
}

/** The relayed stream's values; its slot is released once it ends, however it ends. */
function releasing<T>(source: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  return (async function* () {
    try {
      yield* source;
    } finally {
      release();
    }
  })();
}
