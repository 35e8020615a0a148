import { Inject, Injectable, Logger } from '@nestjs/common';
import { catchError, defer, EMPTY, Observable, Subscription, tap } from 'rxjs';
import {
  CallCancelledError,
  DeadlineExceededError,
  PluginBusyError,
  PluginCallForbiddenError,
  PluginNotRunningError,
  UnknownFunctionError,
} from '../errors/wwplugin.errors.js';
import type { PluginMessage, PluginState, PushOptions, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import type { CallFrame, Frame } from '../protocol/frames.js';
import { decodeValue, encodeValue } from '../protocol/parameters.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/protocol.constants.js';
import { idleDeadline } from '../protocol/idle-deadline.js';
import { activeTraceFields, consumeMessage } from '../protocol/call-tracing.js';
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
import { CallObservers, type ObservedCall, type ObservedCallKind, type TraceFields } from './call-observers.js';
import { CallSlots } from './call-slots.js';
import { HostFunctionRegistry } from './host-function.registry.js';
import { ManagedPlugin } from './managed-plugin.js';
import { latest, PluginGroup } from './plugin-group.js';
import { PluginRegistry } from './plugin.registry.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_IN_FLIGHT = 1024;
const DEFAULT_MAX_QUEUED = 1024;
/** Options the router passes itself once a call is observed: the trace context for its frame. */
type Observed = { observed?: boolean; trace?: TraceFields };
/** States in which a plugin is expected back soon: calls may wait for it. */
const COMING_BACK = new Set<PluginState>(['starting', 'restarting', 'unresponsive', 'disconnected']);
/** What calls address: one instance (by id) or a name's set of instances. */
type Target = ManagedPlugin | PluginGroup;

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
    private readonly observers: CallObservers,
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
    if (this.observers.active) return this.observed('call', idOrName, fn, (trace) => this.send(idOrName, fn, args, opts, trace));
    return this.send(idOrName, fn, args, opts, undefined);
  }

  /** call() once observed: `trace` is what the frame carries. */
  private send(idOrName: string, fn: string, args: unknown, opts: RemoteCallOptions, trace: TraceFields | undefined): Promise<unknown> {
    let target: Target;
    try {
      target = this.registry.target(idOrName);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const plugin = this.pick(target);
    // The fast path stays synchronous: no await unless the plugin is away or busy.
    if (plugin?.functions.has(fn)) {
      const slots = this.slotsOf(plugin);
      // The channel gives the slot back as the call settles (no Promise chained to it for that).
      if (slots.tryAcquire()) return plugin.channel!.call(fn, args, { timeoutMs, signal: opts.signal, trace, settled: slots.releaser });
    }
    return this.callSlow(target, fn, args, timeoutMs, opts.signal, trace);
  }

  private async callSlow(target: Target, fn: string, args: unknown, timeoutMs: number, signal?: AbortSignal, trace?: TraceFields): Promise<unknown> {
    const deadlineAt = timeoutMs ? Date.now() + timeoutMs : 0;
    const { plugin, slots } = await this.admit(target, fn, deadlineAt, timeoutMs, signal);
    const left = deadlineAt ? Math.max(1, deadlineAt - Date.now()) : 0;
    return this.holding(slots, plugin.channel!.call(fn, args, { timeoutMs: left, signal, trace })).catch((err) => {
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
  stream(idOrName: string, fn: string, args?: unknown, opts: StreamCallOptions & Observed = {}): Observable<unknown> {
    if (this.observers.active && !opts.observed) {
      return defer(() => this.observed('stream', idOrName, fn, (trace) => this.stream(idOrName, fn, args, { ...opts, observed: true, trace })));
    }
    return new Observable<unknown>((subscriber) => {
      const target = this.registry.target(idOrName);
      const waitMs = opts.timeoutMs ?? this.defaultTimeoutMs;
      const deadlineAt = waitMs ? Date.now() + waitMs : 0;
      // Unsubscribing while the stream waits for the plugin or a slot takes it out of the line.
      const left = new AbortController();
      const signal = opts.signal ? AbortSignal.any([opts.signal, left.signal]) : left.signal;
      let slots: CallSlots | undefined;
      const run = (plugin: ManagedPlugin, granted: CallSlots, waited: boolean) => {
        if (left.signal.aborted) return granted.release();
        slots = granted;
        const streaming = !!plugin.functions.get(fn)?.stream;
        const whole = streaming && opts.timeoutMs === undefined ? 0 : waitMs;
        const timeoutMs = whole && waited ? Math.max(1, deadlineAt - Date.now()) : whole;
        const idleMs = streaming ? (opts.idleTimeoutMs ?? this.streamIdleTimeoutMs) : 0;
        const values = plugin.channel!.stream(fn, args, { timeoutMs, signal: opts.signal, trace: opts.trace }).pipe(idleDeadline(idleMs, plugin.name, fn));
        subscriber.add(
          values.subscribe({
            next: (v) => subscriber.next(v),
            error: (e) => subscriber.error(this.wholeDeadline(e, timeoutMs, plugin, fn, whole)),
            complete: () => subscriber.complete(),
          }),
        );
      };
      const picked = this.pick(target);
      const fast = picked?.functions.has(fn) ? this.slotsOf(picked) : undefined;
      if (fast?.tryAcquire()) run(picked!, fast, false);
      else
        this.admit(target, fn, deadlineAt, waitMs, signal)
          .then((granted) => run(granted.plugin, granted.slots, true))
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
    if (this.observers.active) {
      return { [Symbol.asyncIterator]: () => this.observed('iterate', idOrName, fn, (trace) => this.pull(idOrName, fn, args, { ...opts, trace })) };
    }
    return { [Symbol.asyncIterator]: () => this.pull(idOrName, fn, args, opts) };
  }

  private async *pull(idOrName: string, fn: string, args: unknown, opts: RemoteCallOptions & Observed): AsyncGenerator<unknown> {
    const target = this.registry.target(idOrName);
    const waitMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const deadlineAt = waitMs ? Date.now() + waitMs : 0;
    const { plugin, slots } = await this.admit(target, fn, deadlineAt, waitMs, opts.signal);
    try {
      const streaming = !!plugin.functions.get(fn)?.stream;
      const whole = streaming && opts.timeoutMs === undefined ? 0 : waitMs;
      const timeoutMs = whole && deadlineAt ? Math.max(1, deadlineAt - Date.now()) : 0;
      yield* plugin.channel!.iterate(fn, args, { timeoutMs, signal: opts.signal, trace: opts.trace });
    } finally {
      slots.release();
    }
  }

  /**
   * host → plugins: queues a push for one plugin or, with '*', all; a plugin's instances each take
   * it, or one of them (`to`, else the spec's `pushTo`). Returns how many instances take it.
   */
  push(target: string, topic: string, payload: unknown, opts: PushOptions = {}): number {
    const wire = encodeValue('payload', payload);
    assertMessageSize([wire], this.maxMessageBytes);
    const found = target === '*' ? undefined : this.registry.target(target);
    const trace = this.observers.tracer ? activeTraceFields() : undefined;
    // One instance, the usual push: no list of targets made.
    const one = found instanceof PluginGroup ? (found.instances.length === 1 ? found.instances[0] : undefined) : found;
    if (one) {
      one.outbox.enqueue(topic, wire, one.state === 'running' ? one.channel : undefined, trace);
      return 1;
    }
    const instances: ManagedPlugin[] = [];
    if (!found) {
      for (const group of this.registry.allGroups()) {
        const live = group.instances.filter((p) => p.state !== 'stopped' && p.state !== 'failed');
        if (live.length) instances.push(...this.pushTargets(live, opts));
      }
    } else instances.push(...this.pushTargets((found as PluginGroup).instances, opts));
    // A full buffer counts what it drops and reports it itself (push-overflow, rate-limited, exact).
    for (const plugin of instances) plugin.outbox.enqueue(topic, wire, plugin.state === 'running' ? plugin.channel : undefined, trace);
    return instances.length;
  }

  /** Every instance, or the one with the fewest pushes pending (a running one when any runs). */
  private pushTargets(instances: ManagedPlugin[], opts: PushOptions): ManagedPlugin[] {
    if (instances.length < 2 || (opts.to ?? instances[0].spec.pushTo ?? 'all') === 'all') return instances;
    const running = instances.filter((p) => p.state === 'running');
    const pool = running.length ? running : instances;
    let best = pool[0];
    for (const p of pool) if (p.outbox.size + p.outbox.unacked < best.outbox.size + best.outbox.unacked) best = p;
    return [best];
  }

  /** Forwards every value of `source$` as a push until it completes or the subscription ends. */
  pushStream(target: string, topic: string, source$: Observable<unknown>, opts: PushOptions = {}): Subscription {
    // An unknown target is the caller's mistake: say so now, not on the first value.
    if (target !== '*') this.registry.target(target);
    return source$
      .pipe(
        tap((value) => this.push(target, topic, value, opts)),
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
  fromPlugin(caller: ManagedPlugin, call: CallFrame, incoming: IncomingCall, trace?: TraceFields): unknown {
    if (this.observers.active && !trace) return this.observedFromPlugin(caller, call, incoming);
    if (call.target) return this.relay(caller, call, incoming, trace);
    const plugin = { id: caller.id, name: caller.name, version: caller.version };
    return this.hostFunctions.invoke(call, incoming, { caller: caller.name, plugin }, UNKNOWN_HOST_FUNCTION);
  }

  private relay(caller: ManagedPlugin, call: CallFrame, incoming: IncomingCall, trace?: TraceFields): unknown {
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
    const addressed = this.registry.target(call.target!);
    // A relayed call never waits for a restarting plugin, nor for a slot: the calling plugin decides what to do.
    const target = this.pick(addressed);
    if (!target) throw new PluginNotRunningError(NOT_RUNNING(targetName, addressed.state), { state: addressed.state });
    const info = target.functions.get(call.function);
    if (!info) throw this.unknownFunction(target, call.function);
    const slots = this.slotsOf(target);
    if (!slots.tryAcquire()) throw new PluginBusyError(BUSY(target.name, slots.limit));
    // The caller cannot know a function returns one value: a stream of one gets the default deadline here.
    const timeoutMs = call.stream && !info.stream && !call.timeoutMs ? this.defaultTimeoutMs : call.timeoutMs;
    // Without tracing here, the caller's trace context passes through, so the target's span nests under the caller's.
    const opts = {
      timeoutMs,
      parent: incoming,
      caller: caller.name,
      trace: trace ?? (call.traceparent ? { traceparent: call.traceparent, tracestate: call.tracestate } : undefined),
    };
    // Arguments and results pass through in wire form: no decoding in the middle.
    // Pulled, so a calling plugin that reads slowly pauses the target instead of filling the host.
    if (call.stream) return releasing(target.channel!.iterate(call.function, call.args ?? [], opts, true), () => slots.release());
    return this.holding(slots, target.channel!.callRaw(call.function, call.args ?? [], opts));
  }

  /** Frames from a plugin that are not calls: emits and heartbeat answers. */
  onPluginFrame(plugin: ManagedPlugin, frame: Frame): void {
    if (frame.kind === 'emit') {
      const e = frame.emit!;
      const message: PluginMessage = {
        plugin: plugin.name,
        pluginId: plugin.id,
        instance: plugin.instance,
        topic: e.topic,
        payload: decodeValue(e.payload),
        at: new Date(),
      };
      const tracer = this.observers.tracer;
      if (tracer && e.traceparent) consumeMessage(tracer, 'emit', plugin.name, e.topic, e, () => this.events.messages$.next(message));
      else this.events.messages$.next(message);
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

  /** The instance a call goes to now: the addressed one if it runs, else the set's running one with the fewest calls in flight. */
  private pick(target: Target): ManagedPlugin | undefined {
    if (target instanceof ManagedPlugin) return target.state === 'running' ? target : undefined;
    return latest(target).pick(this.load);
  }

  /** Calls holding a slot of the instance, and those waiting for one (whenBusy 'wait'): queues stay even too. */
  private readonly load = (plugin: ManagedPlugin): number => {
    const slots = this.slots.get(plugin);
    return slots ? slots.running + slots.waiting : 0;
  };

  /** Resolves once no call holds a slot of the instance or waits for one, or after `ms`: true when it drained. */
  async drained(plugin: ManagedPlugin, ms: number): Promise<boolean> {
    const slots = this.slots.get(plugin);
    if (!slots) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([slots.idle().then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits, within the call's deadline and until its signal fires, for the plugin to run and for a
   * slot; resolves with the instance and the slots it holds one of. The slot is given back if the
   * instance went away meanwhile.
   */
  private async admit(
    target: Target,
    fn: string,
    deadlineAt: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ plugin: ManagedPlugin; slots: CallSlots }> {
    if (signal?.aborted) throw new CallCancelledError(ABORTED_WHILE_WAITING(target.name, fn, 'the plugin'));
    // Observers hear how long a call waited, when it had to wait (for its plugin or for a slot).
    const picked = this.observers.active ? this.pick(target) : undefined;
    const waitedSince = this.observers.active && (!picked || this.slotsOf(picked).running >= this.slotsOf(picked).limit) ? performance.now() : undefined;
    const plugin = await this.ready(target, deadlineAt, fn, signal);
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
    if (waitedSince !== undefined) this.observers.waited(plugin, fn, performance.now() - waitedSince);
    return { plugin, slots };
  }

  /** Seen by the observers from start to end; `run` makes the call with the trace context they chose for its frame. */
  private observed<T>(kind: ObservedCallKind, idOrName: string, fn: string, run: (trace: TraceFields | undefined) => T): T {
    const plugin = this.registry.find(idOrName);
    // An unknown plugin is the caller's mistake, reported by the call itself: nothing to observe.
    if (!plugin) return run(undefined);
    const call: ObservedCall = { plugin: plugin.name, pluginId: plugin.id, fn, kind };
    return this.observers.observe(call, () => run(call.outgoing));
  }

  /** fromPlugin() seen by the observers, with the trace context the calling plugin sent. */
  private observedFromPlugin(caller: ManagedPlugin, frame: CallFrame, incoming: IncomingCall): unknown {
    const trace = { traceparent: frame.traceparent, tracestate: frame.tracestate };
    const target = frame.target ? this.registry.find(frame.target) : undefined;
    const call: ObservedCall = frame.target
      ? { plugin: target?.name ?? frame.target, pluginId: target?.id ?? '', fn: frame.function, kind: 'relay', caller: caller.name, incoming: trace }
      : { plugin: caller.name, pluginId: caller.id, fn: frame.function, kind: 'host', incoming: trace };
    return this.observers.observe(call, () => this.fromPlugin(caller, frame, incoming, call.outgoing ?? trace));
  }

  /**
   * Resolves with the instance to call: at once while one runs; else waits for one that is coming
   * back (whileRestarting 'wait'), within the deadline and the signal. A set replaced by an upgrade
   * meanwhile hands the wait over to its successor.
   */
  private async ready(target: Target, deadlineAt: number, fn: string, signal?: AbortSignal): Promise<ManagedPlugin> {
    for (;;) {
      if (target instanceof PluginGroup) target = latest(target);
      const running = this.pick(target);
      if (running) return running;
      const state = target.state;
      if (!COMING_BACK.has(state) || (this.options.whileRestarting ?? 'wait') !== 'wait') {
        throw new PluginNotRunningError(NOT_RUNNING(target.name, state), { state });
      }
      try {
        await this.whenRunning(target, deadlineAt, fn, signal);
      } catch (err) {
        // Its instances stopped because an upgrade replaced them: the new set serves the call.
        if (target instanceof PluginGroup && latest(target) !== target && !(err instanceof CallCancelledError) && !(err instanceof DeadlineExceededError)) {
          continue;
        }
        throw err;
      }
    }
  }

  private async whenRunning(target: Target, deadlineAt: number, fn: string, signal?: AbortSignal): Promise<void> {
    const abortedError = () => new CallCancelledError(ABORTED_WHILE_WAITING(target.name, fn, 'the plugin to run'));
    if (signal?.aborted) throw abortedError();
    const running = target.whenRunning(deadlineAt ? Math.max(1, deadlineAt - Date.now()) : 0, `Call to ${target.name}.${fn}`);
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
