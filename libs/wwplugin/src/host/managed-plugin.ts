import { Logger } from '@nestjs/common';
import type { ChildProcess } from 'node:child_process';
import type {
  PluginEvent,
  PluginInfo,
  PluginSpec,
  PluginState,
  PushDelivery,
  RemotePluginLocation,
  RestartPolicy,
} from '../interfaces/host-options.interface.js';
import type { FunctionInfoFrame, Frame, HelloFrame } from '../protocol/frames.js';
import type { SessionChannel } from '../protocol/session-channel.js';
import { latest, pushPick, type PluginGroup } from './plugin-group.js';
import { PluginLifecycle } from './plugin-lifecycle.js';
import { PluginOperations } from './plugin-operations.js';
import { signalGroup } from './process-group.js';
import { PushOutbox } from './push-outbox.js';
import { RestartTracker } from './supervision/restart-policy.js';

const STDERR_TAIL_LINES = 20;
/** Bytes of pushes held per plugin (queued and unacknowledged) unless the host's options say otherwise. */
export const DEFAULT_PUSH_BUFFER_BYTES = 64 * 1024 * 1024;
/** How long the exit may lag behind the end of the session before calls in flight fail anyway. */
// Generous enough for a loaded machine, where the exit event can trail the socket by tens of ms.
const SESSION_END_TO_EXIT_MS = 250;
/** How long the end of the session may lag behind the exit before calls in flight fail anyway. */
const EXIT_TO_SESSION_END_MS = 50;
/** A process still alive this long after its session ended (and not stopping) is killed. */
const SESSIONLESS_KILL_MS = 2_000;
const lifecycleLogger = new Logger('WwPluginLifecycle');

/** Everything the host knows about one plugin instance, across its restarts. */
export class ManagedPlugin {
  name: string;
  /** The set of instances serving its name (set by the registry). */
  group?: PluginGroup;
  /** Its index in that set: 0 for a plugin with one instance; kept across restarts. */
  instance = 0;
  version = '';
  description = '';
  functions = new Map<string, FunctionInfoFrame>();
  child?: ChildProcess;
  /** Secret of the current process; a session must present it. */
  token = '';
  channel?: SessionChannel;
  lastExit?: PluginInfo['lastExit'];
  lastHeartbeatMs?: number;
  /** Why the host refused this process's session, if it did: the load fails with it. */
  refusedWith?: Error;
  /** A plugin that joins over the network: the host never starts, stops nor restarts it. */
  isRemote = false;
  /** Where a remote plugin runs (its current or last connection). */
  remote?: RemotePluginLocation;
  /** Set by stop()/unload(): the next exit is expected and never restarted. */
  stopRequested = false;
  readonly heartbeat = { seq: 0, outstandingSeq: 0, sentAt: 0, missed: 0 };
  readonly outbox: PushOutbox;
  /** Emits dropped by this plugin's processes before the current one, and by the current one. */
  private readonly emitsDropped = { before: 0, current: 0 };
  readonly restart: RestartTracker;
  private readonly stderr: string[] = [];
  /** Sessions whose stream has ended, and the closers of exited processes waiting for that end. */
  private readonly endedSessions = new WeakSet<SessionChannel>();
  private readonly exitClosers = new WeakMap<SessionChannel, () => void>();
  /** The one place its state changes: every class asks it to move. An illegal move is logged, never thrown at the host. */
  readonly lifecycle = new PluginLifecycle(
    () => this.name,
    (err) => lifecycleLogger.error(err.message, err.stack),
  );
  /** Its start, stop, restart and unload, one at a time. */
  readonly operations = new PluginOperations();
  private readonly onEvent: (event: PluginEvent) => void;

  constructor(
    readonly id: string,
    readonly spec: PluginSpec,
    defaults: {
      restart?: RestartPolicy;
      pushBufferSize: number;
      pushOverflow: 'drop-oldest' | 'drop-newest';
      pushBufferBytes?: number;
      pushDelivery?: PushDelivery;
      /** Where this plugin's delivery events go (push-overflow, push-lost, emit-overflow). */
      onEvent?: (event: PluginEvent) => void;
    },
  ) {
    this.name = spec.name ?? id;
    const report = (this.onEvent = defaults.onEvent ?? (() => undefined));
    this.outbox = new PushOutbox({
      capacity: defaults.pushBufferSize,
      maxBytes: defaults.pushBufferBytes ?? DEFAULT_PUSH_BUFFER_BYTES,
      overflow: defaults.pushOverflow,
      delivery: spec.pushDelivery ?? defaults.pushDelivery ?? 'at-least-once',
      onOverflow: (dropped, droppedSinceLastEvent) => report({ type: 'push-overflow', ...this.ref, dropped, droppedSinceLastEvent }),
      onLost: (first, last, count) => report({ type: 'push-lost', ...this.ref, first, last, count, pushesLost: this.outbox.lost }),
    });
    this.restart = new RestartTracker(spec.restart, defaults.restart);
  }

  get state(): PluginState {
    return this.lifecycle.state;
  }

  /** How events name this instance: `instance` only in a set of several, so a lone plugin's events keep their shape. */
  get ref(): { plugin: string; id: string; instance?: number } {
    return this.group && this.group.size > 1 ? { plugin: this.name, id: this.id, instance: this.instance } : { plugin: this.name, id: this.id };
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Adopts a session whose Hello the host accepted. */
  adopt(channel: SessionChannel, hello: HelloFrame): void {
    this.channel = channel;
    this.name = hello.name;
    channel.peer = hello.name;
    this.version = hello.version ?? '';
    this.description = hello.description ?? '';
    this.functions = new Map((hello.functions ?? []).map((f) => [f.name, f]));
    this.heartbeat.outstandingSeq = 0;
    this.heartbeat.missed = 0;
    this.refusedWith = undefined;
    this.lifecycle.moveTo('running');
    // Pushes the last process left unacknowledged, then those that waited while the plugin was
    // (re)starting, go out first, in order.
    this.outbox.attach(channel, hello.acksPushes === true);
    this.emitsDropped.before += this.emitsDropped.current;
    this.emitsDropped.current = 0;
  }

  /** Delivery frames from the plugin: push acknowledgements and its emit buffer's drop counts. */
  deliveryFrame(frame: Frame): void {
    if (frame.kind === 'ack') return this.outbox.acknowledge(frame.ack!.seq >>> 0);
    if (frame.kind !== 'emitOverflow') return;
    const before = this.emitsDropped.before + this.emitsDropped.current;
    this.emitsDropped.current = Math.max(this.emitsDropped.current, frame.emitOverflow!.dropped >>> 0);
    const dropped = this.emitsDropped.before + this.emitsDropped.current;
    if (dropped > before) this.onEvent({ type: 'emit-overflow', ...this.ref, dropped, droppedSinceLastEvent: dropped - before });
  }

  /**
   * The session ended. The process exit usually follows at once and closes the channel with its
   * exit code; if the process lingers, calls in flight must not wait for it, and a process left
   * without a session can serve nothing: it is killed, and its restart policy decides.
   */
  sessionEnded(channel: SessionChannel, reason: Error, crashed: (how: string) => Error): void {
    // Every frame of the session has been read: its acknowledgements are final.
    this.outbox.detach(channel);
    const afterExit = this.exitClosers.get(channel);
    if (afterExit) return afterExit(); // the exit came first: its errors, now that every frame is read
    this.endedSessions.add(channel);
    if (this.channel !== channel) return channel.close(reason);
    const child = this.child;
    setTimeout(() => {
      if (!channel.isClosed) channel.close(reason, () => crashed('its session ended'));
    }, SESSION_END_TO_EXIT_MS).unref();
    setTimeout(() => {
      if (this.channel === channel && this.child === child && this.state === 'running' && child) signalGroup(child, 'SIGKILL');
    }, SESSIONLESS_KILL_MS).unref();
  }

  /**
   * The process exited: its channel is closed with `reason` (per call: `errorFor`). Not before its
   * session has ended, though: a plugin that answered a call and then exited has its answer in the
   * socket still, and the host may see the exit first. The wait is bounded by EXIT_TO_SESSION_END_MS.
   */
  closeAfterExit(channel: SessionChannel, reason: Error, errorFor: () => Error): void {
    if (channel.isClosed) return;
    const close = () => channel.close(reason, errorFor);
    if (this.endedSessions.has(channel)) return close();
    this.exitClosers.set(channel, close);
    setTimeout(close, EXIT_TO_SESSION_END_MS).unref();
  }

  /**
   * It is gone until started by hand (stopped, failed): its pushes meant for any one instance go to
   * another instance of its name that runs or is coming back (PushOutbox.passOnOnes); returns how many moved now.
   * `runningOnly`: a disconnected remote replica, which may be back at any time, hands them only to one that serves now.
   */
  passOnPushes(runningOnly = false): number {
    return this.outbox.passOnOnes(() => {
      const siblings = this.group ? latest(this.group).instances.filter((p) => p !== this && (!runningOnly || p.state === 'running')) : [];
      const heir = pushPick(siblings, true);
      return heir ? { outbox: heir.outbox, channel: heir.state === 'running' ? heir.channel : undefined } : undefined;
    });
  }

  /** Resolves when the plugin is running; rejects when it stops or fails, or after `timeoutMs`. */
  whenRunning(timeoutMs: number, what: string): Promise<void> {
    return this.lifecycle.whenRunning(timeoutMs, what);
  }

  noteStderr(line: string): void {
    this.stderr.push(line);
    if (this.stderr.length > STDERR_TAIL_LINES) this.stderr.shift();
  }

  stderrTail(): string {
    return this.stderr.join('\n');
  }

  clearStderr(): void {
    this.stderr.length = 0;
  }

  info(): PluginInfo {
    return {
      id: this.id,
      name: this.name,
      instance: this.instance,
      instances: this.group?.size ?? 1,
      version: this.version,
      description: this.description,
      state: this.state,
      pid: this.pid,
      functions: [...this.functions.keys()],
      restarts: this.restart.count,
      lastExit: this.lastExit,
      lastHeartbeatMs: this.lastHeartbeatMs,
      pushesDropped: this.outbox.dropped,
      pushesQueued: this.outbox.size,
      pushesUnacked: this.outbox.unacked,
      pushesLost: this.outbox.lost,
      emitsDropped: this.emitsDropped.before + this.emitsDropped.current,
      inFlight: this.channel?.inFlight ?? 0,
      spec: this.spec,
      ...(this.remote ? { remote: { ...this.remote } } : {}),
    };
  }
}
