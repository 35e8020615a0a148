import type { LogLevel, ModuleMetadata, InjectionToken, OptionalFactoryDependency, Type } from '@nestjs/common';

/** When a plugin that exits on its own is started again. @publicApi */
export type RestartMode = 'never' | 'on-failure' | 'always';

/** Restart policy, per plugin or as the host's default. @publicApi */
export interface RestartPolicy {
  mode?: RestartMode;
  /** First backoff delay (ms); doubles each restart up to maxBackoffMs, with ±jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Fraction of random spread on each delay (0..1). */
  jitter?: number;
  /** Crash-loop limit: more than maxRestarts within windowMs marks the plugin `failed`. */
  maxRestarts?: number;
  windowMs?: number;
}

/** Heartbeat settings: a plugin missing `misses` beats in a row is unresponsive and is killed. @publicApi */
export interface HeartbeatOptions {
  intervalMs?: number;
  /** How long a ping may go unanswered before it counts as missed. */
  timeoutMs?: number;
  misses?: number;
}

/** What happens to pushes a plugin had not acknowledged when its session ended. @publicApi */
export type PushDelivery = 'at-least-once' | 'at-most-once';

/** How to start one plugin. A bare string is `{ path }`. @publicApi */
export interface PluginSpec {
  /** A JavaScript entry file, run with this Node (`process.execPath`). */
  path?: string;
  /** Or any command (a plugin in another language, or Node with flags). */
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Expected plugin name; the load fails if the plugin says otherwise. */
  name?: string;
  restart?: RestartPolicy;
  /** SHA-256 (hex) of the entry file: the plugin is refused when its file differs. */
  sha256?: string;
  /** Time allowed from spawn to a completed handshake. */
  startTimeoutMs?: number;
  /** In `forRoot({ plugins })`: the application fails to bootstrap when this plugin cannot start. */
  required?: boolean;
  /** This plugin's push delivery (overrides the host's `pushDelivery`). */
  pushDelivery?: PushDelivery;
  /**
   * Processes of this plugin to run, each supervised on its own; calls by name go to the running
   * one with the fewest calls in flight. `'auto'`: one per CPU core (`os.availableParallelism()`). Default 1.
   */
  instances?: number | 'auto';
  /** Where a push by name goes when `push()` does not say: every instance (default) or one. */
  pushTo?: PushTarget;
}

/** A push by name reaches every instance of the plugin, or one (the running one with the fewest pushes pending). @publicApi */
export type PushTarget = 'all' | 'one';

/** Options of `push()` and `pushStream()`. @publicApi */
export interface PushOptions {
  /** Every instance of the plugin, or one; default: the plugin spec's `pushTo`, else 'all'. */
  to?: PushTarget;
}

/** Options of `upgrade()`. @publicApi */
export interface UpgradeOptions {
  /** How long the old instances may take to finish their calls in flight before they are stopped (ms). Default: the host's `shutdownGraceMs`. */
  graceMs?: number;
}

/** TLS for a TCP listener beyond loopback. @publicApi */
export interface HostTlsOptions {
  /** 'auto' makes a one-off CA and certificates at start (mutual TLS). */
  mode: 'auto' | 'manual';
  /** For 'manual': PEM of the CA that signed plugin certificates, the host's certificate and key. */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** For 'manual': the client certificate and key handed to spawned plugins. */
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
}

/** Options of WwPluginModule.forRoot. @publicApi */
export interface WwPluginHostOptions {
  /** TCP port to listen on; 0 picks a free one. Absent on Linux/macOS: a private unix socket. */
  port?: number;
  /** Address to bind with TCP (default 127.0.0.1). */
  host?: string;
  /** Listen on a unix socket at this path instead of a private temporary one. */
  socketPath?: string;
  tls?: HostTlsOptions;
  /** Log each plugin's output at debug level, and start plugins with verbose logs. */
  debug?: boolean;
  /** Plugins loaded when the application bootstraps. */
  plugins?: Array<string | PluginSpec>;
  /** How many of `plugins` start at the same time at bootstrap. Default 4. */
  startConcurrency?: number;
  /** Default deadline of a call (ms); 0 for none. Default 30 000. */
  defaultTimeoutMs?: number;
  /** Maximum size of one message (bytes). Default 16 MiB. */
  maxMessageBytes?: number;
  /** Calls one plugin may have in flight; further calls get PluginBusyError or wait. Default 1024. */
  maxInFlight?: number;
  /** What calls over maxInFlight do. Default 'reject'. */
  whenBusy?: 'reject' | 'wait';
  /** With whenBusy 'wait': calls that may wait for a slot per plugin; past it PluginBusyError. Default 1024. */
  maxQueued?: number;
  /** Idle deadline of a streaming call that sets none (ms without an item); 0 for none. Default 0. */
  streamIdleTimeoutMs?: number;
  /** What calls to a restarting plugin do: wait for it (up to their deadline) or fail at once. */
  whileRestarting?: 'wait' | 'fail';
  /** Time from spawn to a completed handshake before the load fails (ms). Default 20 000. */
  startTimeoutMs?: number;
  /** Grace period for a stopping plugin to finish its calls (ms). Default 5 000. */
  shutdownGraceMs?: number;
  restart?: RestartPolicy;
  heartbeat?: HeartbeatOptions | false;
  /** Pushes buffered per plugin while it cannot keep up or is restarting. Default 10 000. */
  pushBufferSize?: number;
  /** What a full push buffer does. Default 'drop-oldest'. */
  pushOverflow?: 'drop-oldest' | 'drop-newest';
  /** What a streaming host function's Observable may have waiting to be sent (see WwPluginOptions.streamBuffer). */
  streamBuffer?: { items: number; bytes: number };
  /** A chunked frame from a plugin that gets no piece for this long is dropped and its memory released. Default 30 000. */
  chunkIdleTimeoutMs?: number;
  /** Bytes of pushes buffered per plugin (queued and unacknowledged). Default 64 MiB. */
  pushBufferBytes?: number;
  /**
   * Pushes a plugin had not acknowledged when its session ended: redelivered to its next process
   * with their original seq ('at-least-once', the default), or counted in `pushesLost` and reported
   * by a `push-lost` event ('at-most-once').
   */
  pushDelivery?: PushDelivery;
  /** May plugins call each other through the host? A function decides per call. Default true. */
  allowPluginCalls?: boolean | ((caller: string, target: string, fn: string) => boolean);
  /** Level at which an error a @HostFunction threw (and its caller received) is logged; false: never. Default 'debug'. */
  handlerErrorLogLevel?: LogLevel | false;
}

/** Builds the host options for forRootAsync's useClass / useExisting. @publicApi */
export interface WwPluginHostOptionsFactory {
  createWwPluginOptions(): WwPluginHostOptions | Promise<WwPluginHostOptions>;
}

/** forRootAsync options, in the shape of every official Nest module. @publicApi */
export interface WwPluginHostAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: any[]) => WwPluginHostOptions | Promise<WwPluginHostOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useClass?: Type<WwPluginHostOptionsFactory>;
  useExisting?: Type<WwPluginHostOptionsFactory>;
}

/** A plugin's life cycle state. @publicApi */
export type PluginState = 'starting' | 'running' | 'unresponsive' | 'restarting' | 'stopping' | 'stopped' | 'failed';

/** What list() and get() report about a plugin. @publicApi */
export interface PluginInfo {
  /** This instance's id: calls by id go to this instance only. */
  id: string;
  name: string;
  /** Its index among the plugin's instances (0 for a plugin with one). */
  instance: number;
  /** How many instances its set has. */
  instances: number;
  version: string;
  description: string;
  state: PluginState;
  pid?: number;
  functions: string[];
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: Date };
  /** Round trip of the last answered heartbeat (ms). */
  lastHeartbeatMs?: number;
  /** Pushes dropped because the plugin's buffer was full. */
  pushesDropped: number;
  /** Pushes waiting in the buffer. */
  pushesQueued: number;
  /** Pushes sent to the current process that it has not acknowledged yet (they count against pushBufferSize). */
  pushesUnacked: number;
  /** Pushes given up without an acknowledgement (at-most-once after a session ended, or unload). */
  pushesLost: number;
  /** Emits this plugin's processes dropped because their emit buffer was full, as they reported. */
  emitsDropped: number;
  inFlight: number;
  spec: PluginSpec;
}

/** A message a plugin emitted. @publicApi */
export interface PluginMessage<T = unknown> {
  plugin: string;
  /** The id of the instance that emitted it. */
  pluginId: string;
  /** The index of that instance among the plugin's instances (0 for a plugin with one). */
  instance: number;
  topic: string;
  payload: T;
  at: Date;
}

/** Lifecycle and supervision events; `id` and `instance` name the instance concerned. @publicApi */
export type PluginEvent = (
  | { type: 'loaded'; plugin: string; id: string }
  | { type: 'ready'; plugin: string; id: string; pid: number }
  | { type: 'stopped'; plugin: string; id: string }
  | { type: 'exited'; plugin: string; id: string; code: number | null; signal: string | null }
  | { type: 'unloaded'; plugin: string; id: string }
  | { type: 'crashed'; plugin: string; id: string; code: number | null; signal: string | null }
  | { type: 'heartbeat-missed'; plugin: string; id: string; missed: number }
  | { type: 'unresponsive'; plugin: string; id: string; missed: number }
  | { type: 'restarting'; plugin: string; id: string; attempt: number; delayMs: number }
  | { type: 'restarted'; plugin: string; id: string; pid: number; attempt: number }
  | { type: 'failed'; plugin: string; id: string; reason: string }
  | { type: 'push-overflow'; plugin: string; id: string; dropped: number; droppedSinceLastEvent: number }
  | { type: 'push-lost'; plugin: string; id: string; first: number; last: number; count: number; pushesLost: number }
  | { type: 'emit-overflow'; plugin: string; id: string; dropped: number; droppedSinceLastEvent: number }
  | { type: 'upgraded'; plugin: string; id: string; from: string; to: string; ids: string[] }
) & {
  /** For a plugin with several instances: the index of the instance concerned. */
  instance?: number;
};
