import type { LogLevel, ModuleMetadata, InjectionToken, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { Registry } from 'prom-client';

/** When a plugin that exits on its own is started again. @publicApi */
export type RestartMode = 'never' | 'on-failure' | 'always';

/** Restart policy, per plugin or as the host's default. @publicApi */
export interface RestartPolicy {
  mode?: RestartMode;
  /** Backoff delay (ms): restart n within windowMs waits initialBackoffMs × 2^(n−1), up to maxBackoffMs, with ±jitter. */
  initialBackoffMs?: number;
  /**
   * Delay (ms) of the first restart after a healthy run (no restart within windowMs). Default 0 (a
   * crash is restarted at once; only a crash loop backs off), or initialBackoffMs where that is set.
   */
  firstBackoffMs?: number;
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

/**
 * Rights of a sandboxed plugin under Node's permission model, on top of what its runtime needs (its
 * own package directory, the node_modules it resolves from, the host's socket). Everything not
 * granted is denied with `ERR_ACCESS_DENIED`. See docs/security.md for what it does not stop. @publicApi
 */
export interface PluginSandboxOptions {
  /** More paths the plugin may read (a directory: everything under it). */
  fsRead?: string[];
  /** Paths the plugin may write (a directory: everything under it). None by default. */
  fsWrite?: string[];
  /** May it spawn processes? Default false. */
  childProcess?: boolean;
  /** May it start worker threads? Default false. */
  worker?: boolean;
  /** May it load native addons? Default false. */
  addons?: boolean;
}

/** Resource limits of a plugin process; a plugin over one is stopped and reported out of memory. @publicApi */
export interface PluginLimits {
  /** V8 old-space heap limit (`--max-old-space-size`), in MiB. */
  maxHeapMiB?: number;
  /** Resident memory limit in MiB, sampled by the host; over it the plugin is killed. */
  maxRssMiB?: number;
  /** How often the host samples the resident memory (ms). Default 1 000. */
  rssSampleMs?: number;
}

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
  /** Run under Node's permission model: `true` for the least rights, or the rights to grant (overrides the host's `sandbox`). */
  sandbox?: boolean | PluginSandboxOptions;
  /** Memory limits (overrides the host's `limits`, field by field). */
  limits?: PluginLimits;
  /** Run the process as this user (name or uid); the host must be allowed to switch users (root). */
  user?: string | number;
  /** Run the process with this group (name or gid); default the user's primary group. */
  group?: string | number;
  /**
   * Which spare process may start this plugin: `true` (default) a ready one of the host's `spares`;
   * `false` none (always a new process); `'own'` a spare of this plugin's own, kept from its first
   * start on, that has already imported the plugin's entry and waits inside bootstrapPlugin (for
   * fast restarts of bundled plugins too; the entry's top-level code runs when the spare warms up).
   */
  spare?: boolean | 'own';
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

/** A plugin that runs elsewhere and joins over the network (see docs/remote-plugins.md). @publicApi */
export interface RemotePluginSpec {
  /** The plugin's name: its client certificate must carry it (common name or a DNS name), and its Hello must say it. */
  name: string;
  /** A bearer token the plugin must present as well (its WWPLUGIN_TOKEN); none by default. */
  token?: string;
  /** This plugin's push delivery (overrides the host's `pushDelivery`). */
  pushDelivery?: PushDelivery;
  /** Replicas connected at once, at most; one more is refused until one leaves. Default 16. */
  maxReplicas?: number;
}

/** The network listener for remote plugins: mutual TLS, plugins allowed by name. @publicApi */
export interface RemotePluginsOptions {
  /** `host:port` to listen on, e.g. '0.0.0.0:7443' ('[::]:7443' for IPv6); port 0 picks a free one. */
  listen: string;
  /** PEM: the CA that signed the plugins' client certificates, and the host's own certificate and key. */
  tls: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer };
  /** The remote plugins allowed in; a certificate for any other name is refused. */
  plugins: RemotePluginSpec[];
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
  /**
   * Prewarmed spare processes kept ready (Node, the framework and Nest loaded): a plugin start
   * (load, restart, a restart after a crash) uses one instead of starting Node, and a new one warms
   * up. Only plugins started from a `path` use them (not a `command`). Each costs a Node process
   * of about 90 MiB RSS while it waits (see BENCHMARKS.md). Default 0.
   */
  spares?: number;
  /**
   * With `spares`: a plugin whose start in a shared spare shows that it runs a copy of the library
   * of its own (a bundle, which the shared spares' preloaded modules do nothing for) keeps a spare
   * of its own from then on, as with `spare: 'own'`: one more waiting process per such plugin.
   * Default true; false leaves bundles to the shared spares.
   */
  bundleSpares?: boolean;
  /** A second listener, for plugins on other machines that authenticate with client certificates. */
  remote?: RemotePluginsOptions;
  /** Level at which an error a @HostFunction threw (and its caller received) is logged; false: never. Default 'debug'. */
  handlerErrorLogLevel?: LogLevel | false;
  /** Sandbox of every plugin whose spec says nothing (see PluginSpec.sandbox). Default false. */
  sandbox?: boolean | PluginSandboxOptions;
  /** Memory limits of every plugin (see PluginSpec.limits). */
  limits?: PluginLimits;
  /** Plugins report each `ERR_ACCESS_DENIED` they meet: an `access-denied` event and a warning here. Default false. */
  logAccessDenials?: boolean;
  /** Prometheus metrics of calls, pushes, emits and plugin processes (prom-client). Off by default. */
  metrics?: boolean | WwPluginMetricsOptions;
}

/** What `metrics` may set in forRoot. @publicApi */
export interface WwPluginMetricsOptions {
  /** Prefix of every metric's name. Default 'wwplugin_'. */
  prefix?: string;
  /** The prom-client registry to register in (to serve them with the app's own); default: one of their own. */
  registry?: Registry;
  /** Upper bounds of the call latency histogram's buckets, in seconds. */
  buckets?: number[];
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
export type PluginState = 'starting' | 'running' | 'unresponsive' | 'restarting' | 'stopping' | 'stopped' | 'failed' | 'disconnected';

/** Where a remote plugin runs, as its connection shows it. @publicApi */
export interface RemotePluginLocation {
  /** The peer address of its connection (`ip:port`), or of its last one while disconnected. */
  peer: string;
  /** The replica's own name (its WWPLUGIN_REPLICA, else its host name: the pod name in Kubernetes). */
  replica: string;
  /** When its current (or last) connection was accepted. */
  connectedAt: Date;
}

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
  /** Set for a remote plugin: where it runs. Absent for plugins the host spawned (they have `pid`). */
  remote?: RemotePluginLocation;
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
  | { type: 'crashed'; plugin: string; id: string; code: number | null; signal: string | null; reason?: 'out-of-memory' }
  | { type: 'out-of-memory'; plugin: string; id: string; limit: 'heap' | 'rss'; limitMiB?: number; rssMiB?: number }
  | { type: 'access-denied'; plugin: string; id: string; permission: string; resource: string; during: string }
  | { type: 'heartbeat-missed'; plugin: string; id: string; missed: number }
  | { type: 'unresponsive'; plugin: string; id: string; missed: number }
  | { type: 'restarting'; plugin: string; id: string; attempt: number; delayMs: number }
  | { type: 'restarted'; plugin: string; id: string; pid: number; attempt: number }
  | { type: 'failed'; plugin: string; id: string; reason: string }
  | { type: 'connected'; plugin: string; id: string; peer: string; replica: string }
  | { type: 'disconnected'; plugin: string; id: string; peer: string; reason: string }
  | { type: 'push-overflow'; plugin: string; id: string; dropped: number; droppedSinceLastEvent: number }
  | { type: 'push-lost'; plugin: string; id: string; first: number; last: number; count: number; pushesLost: number }
  | { type: 'emit-overflow'; plugin: string; id: string; dropped: number; droppedSinceLastEvent: number }
  | { type: 'upgraded'; plugin: string; id: string; from: string; to: string; ids: string[] }
) & {
  /** For a plugin with several instances: the index of the instance concerned. */
  instance?: number;
};
