import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { HostConfigurationError, PluginDisconnectedError, PluginNotRunningError } from '../errors/wwplugin.errors.js';
import type { RemotePluginSpec, RemotePluginsOptions, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import type { Frame } from '../protocol/frames.js';
import { DEFAULT_MAX_MESSAGE_BYTES, META_TOKEN, WireErrorCode } from '../protocol/protocol.constants.js';
import type { SessionChannel } from '../protocol/session-channel.js';
import {
  NOT_RUNNING,
  REMOTE_BAD_LISTEN,
  REMOTE_DISCONNECTED,
  REMOTE_NAME_TAKEN,
  REMOTE_REFUSED,
  REMOTE_TLS_MISSING,
  REMOTE_TOO_MANY,
} from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { HostEvents } from './host-events.js';
import { HostServer, tolerantService, type SessionAdmission } from './host-server.js';
import { ManagedPlugin } from './managed-plugin.js';
import { PluginRegistry } from './plugin.registry.js';
import { RemoteAuthenticator } from './remote-authenticator.js';

/** Replicas of one remote plugin connected at once, unless its spec says otherwise. */
const DEFAULT_MAX_REPLICAS = 16;

/** The gRPC stream of each remote session, to cut it when its plugin stops answering heartbeats. */
interface RemoteSession {
  stream: grpc.ServerDuplexStream<Frame, Frame>;
  peer: string;
  /** Why the host cut it, when it did. */
  cutFor?: string;
}

/**
 * The listener for remote plugins: a second gRPC server, mutual TLS only, that accepts a plugin
 * whose client certificate the CA signed and names an allowed plugin. The host never starts or
 * restarts a remote plugin (its orchestrator does): it notices loss (heartbeat, connection end),
 * fails the calls in flight, marks it `disconnected`, and takes it back when it reconnects.
 */
@Injectable()
export class RemoteListener implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('WwPluginRemote');
  private readonly remote?: RemotePluginsOptions;
  private server?: grpc.Server;
  private authenticator?: RemoteAuthenticator;
  /** The allowed remote plugins, by name. */
  private readonly specs = new Map<string, RemotePluginSpec>();
  private readonly sessions = new Map<SessionChannel, RemoteSession>();
  private readonly watches = new Subscription();
  private closing = false;

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly hostServer: HostServer,
    private readonly events: HostEvents,
  ) {
    this.remote = options.remote;
  }

  // At module init, before any plugin is spawned: a listener that cannot bind fails the bootstrap with nothing left behind.
  async onModuleInit(): Promise<void> {
    const remote = this.remote;
    if (!remote) return;
    const listen = parseListen(remote.listen);
    const missing = (['ca', 'cert', 'key'] as const).filter((k) => !remote.tls?.[k]);
    if (missing.length) throw new HostConfigurationError(REMOTE_TLS_MISSING(missing), { missing });
    this.authenticator = new RemoteAuthenticator(remote.plugins ?? []);
    for (const spec of remote.plugins ?? []) this.register(spec);
    const maxBytes = this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': maxBytes + 65536,
      'grpc.max_send_message_length': -1,
      'grpc.max_concurrent_streams': 1024,
      // Plugins ping every 10 s to notice a dead link; the host must not call that abuse.
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    });
    server.addService(tolerantService(), { Session: (stream: grpc.ServerDuplexStream<Frame, Frame>) => this.accept(stream) });
    const { ca, cert, key } = remote.tls;
    // true: a client without a certificate signed by `ca` is refused during the TLS handshake.
    const credentials = grpc.ServerCredentials.createSsl(Buffer.from(ca), [{ cert_chain: Buffer.from(cert), private_key: Buffer.from(key) }], true);
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) => server.bindAsync(listen.bind, credentials, (err, p) => (err ? reject(err) : resolve(p))));
    } catch (err) {
      server.forceShutdown();
      this.unregister();
      throw new HostConfigurationError(`Cannot listen for remote plugins on ${remote.listen}: ${(err as Error).message}`, { listen: remote.listen });
    }
    this.server = server;
    this.logger.log(`Listening for remote plugins on ${listen.host}:${port} (mutual TLS): ${[...this.specs.keys()].join(', ')}.`);
  }

  /** An entry per allowed remote plugin, `disconnected` until it connects: calls to it wait per whileRestarting. */
  private register(spec: RemotePluginSpec): void {
    if (this.specs.has(spec.name) || this.registry.holder(spec.name)) throw new HostConfigurationError(REMOTE_NAME_TAKEN(spec.name), { plugin: spec.name });
    this.specs.set(spec.name, spec);
    const plugin = this.newInstance(spec);
    this.events.emit({ type: 'loaded', ...plugin.ref });
  }

  /** One more instance of a remote plugin (a replica): joins the set serving its name, disconnected. */
  private newInstance(spec: RemotePluginSpec): ManagedPlugin {
    const id = `${spec.name.replace(/[^\w.-]/g, '_')}-remote-${randomUUID().slice(0, 8)}`;
    const plugin = new ManagedPlugin(
      id,
      { name: spec.name, pushDelivery: spec.pushDelivery },
      {
        pushBufferSize: this.options.pushBufferSize ?? 10_000,
        pushOverflow: this.options.pushOverflow ?? 'drop-oldest',
        pushBufferBytes: this.options.pushBufferBytes,
        pushDelivery: this.options.pushDelivery,
        onEvent: (event) => this.events.emit(event),
      },
    );
    plugin.isRemote = true;
    this.registry.join(spec.name, plugin);
    plugin.lifecycle.moveTo('disconnected');
    // A plugin that stops answering heartbeats is cut off: its orchestrator, not the host, restarts it.
    this.watches.add(
      plugin.lifecycle.changes.subscribe((state) => {
        const channel = plugin.channel;
        // After the heartbeat scheduler's own event: cut in the next microtask.
        if (state === 'unresponsive' && channel) queueMicrotask(() => this.cut(channel, `missed ${plugin.heartbeat.missed} heartbeats`));
      }),
    );
    return plugin;
  }

  /**
   * The instance a connecting replica takes: the one it had (same replica name, disconnected), else
   * one whose replica is gone (a pod replaced by its orchestrator), else a new one beside the others.
   */
  private instanceFor(name: string, replica: string): ManagedPlugin | undefined {
    const remote = (this.registry.group(name)?.instances ?? []).filter((p) => p.isRemote);
    const free = remote.filter((p) => p.state === 'disconnected' && !p.channel);
    const spec = this.specs.get(name)!;
    const taken = free.find((p) => p.remote?.replica === replica) ?? free.find((p) => !p.remote) ?? free[0];
    if (taken) return taken;
    // Every entry is held by a connected replica: a new one joins beside them, up to the limit.
    return remote.length < (spec.maxReplicas ?? DEFAULT_MAX_REPLICAS) ? this.newInstance(spec) : undefined;
  }

  private unregister(): void {
    for (const name of this.specs.keys()) for (const p of [...(this.registry.group(name)?.instances ?? [])]) if (p.isRemote) this.registry.remove(p);
    this.specs.clear();
  }

  private accept(stream: grpc.ServerDuplexStream<Frame, Frame>): void {
    const peer = stream.getPeer() || 'an unknown peer';
    if (this.closing) return refuse(grpc.status.UNAVAILABLE, 'the host is shutting down');
    const certificate = stream.getAuthContext()?.sslPeerCertificate;
    const identity = this.authenticator!.identify(certificate, String(stream.metadata.get(META_TOKEN)[0] ?? ''));
    if ('refused' in identity) {
      this.logger.warn(REMOTE_REFUSED(peer, identity.refused));
      return refuse(identity.status === 'unauthenticated' ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, identity.refused);
    }
    const session: RemoteSession = { stream, peer };
    let full = false;
    const admission: SessionAdmission = {
      // Which replica this is shows only in its Hello.
      choose: (first, hello) => {
        if (!identity.names.includes(hello.name)) return first;
        const chosen = this.instanceFor(hello.name, hello.replica ?? '');
        full = !chosen;
        return chosen ?? first;
      },
      refusal: (plugin, hello) => {
        const why = this.authenticator!.helloRefusal(identity, hello.name);
        if (why) return { code: WireErrorCode.UNAUTHENTICATED, reason: why };
        const max = this.specs.get(hello.name)?.maxReplicas ?? DEFAULT_MAX_REPLICAS;
        if (full) return { code: WireErrorCode.DUPLICATE_PLUGIN, reason: REMOTE_TOO_MANY(hello.name, max) };
        if (plugin.state !== 'disconnected' || plugin.channel)
          return { code: WireErrorCode.DUPLICATE_PLUGIN, reason: `plugin "${plugin.name}" is already connected (state: ${plugin.state})` };
        return undefined;
      },
      adopted: (plugin, channel, hello) => {
        this.sessions.set(channel, session);
        plugin.remote = { peer, replica: hello.replica ?? '', connectedAt: new Date() };
        this.logger.log(`Remote plugin "${plugin.name}" connected from ${peer}${hello.replica ? ` (${hello.replica})` : ''}.`);
        this.events.emit({ type: 'connected', ...plugin.ref, peer, replica: hello.replica ?? '' });
        this.events.emit({ type: 'ready', ...plugin.ref, pid: 0 });
      },
      draining: (plugin, channel) => {
        if (plugin.channel !== channel || plugin.state !== 'running') return;
        // New calls go to the other replicas, or wait for the next connection; the calls in flight finish on this one.
        session.cutFor = 'it is shutting down';
        plugin.lifecycle.moveTo('disconnected');
        // Its pushes for any one instance go to a replica that serves, once this session's acknowledgements are final.
        plugin.passOnPushes(true);
        // The answer: every call sent on this session came before it, so the plugin knows what to finish.
        channel.send({ shutdown: { graceMs: 0, reason: 'draining' } });
        this.events.emit({ type: 'disconnected', ...plugin.ref, peer, reason: session.cutFor });
      },
      ended: (plugin, channel, reason) => this.ended(plugin, channel, session, reason),
    };
    // Before its Hello the session stands for the name's first instance; choose() picks the real one.
    this.hostServer.serve(stream, this.registry.group(identity.names[0]!)!.instances[0]!, admission);

    function refuse(code: grpc.status, details: string): void {
      stream.emit('error', { code, details });
    }
  }

  /** The session is over: its calls fail at once (no process exit to wait for), and the instance waits for its next connection. */
  private ended(plugin: ManagedPlugin, channel: SessionChannel, session: RemoteSession, reason: Error): void {
    plugin.outbox.detach(channel);
    if (channel.isClosed) return;
    const why = session.cutFor ?? (reason.message || 'connection closed');
    const lost = this.closing
      ? new PluginNotRunningError(NOT_RUNNING(plugin.name, 'stopped'), { state: 'stopped' })
      : new PluginDisconnectedError(REMOTE_DISCONNECTED(plugin.name, session.peer, why), { peer: session.peer });
    channel.close(lost);
    if (!this.sessions.delete(channel) || plugin.channel !== channel) return;
    plugin.channel = undefined;
    if (this.closing) return;
    this.logger.warn(lost.message);
    if (plugin.state === 'disconnected') return; // it said it was going
    plugin.lifecycle.moveTo('disconnected');
    // No telling when it is back: what was pushed to any one instance goes to a replica that serves.
    plugin.passOnPushes(true);
    this.events.emit({ type: 'disconnected', ...plugin.ref, peer: session.peer, reason: why });
  }

  /** Ends a session from the host's side (the plugin will reconnect when it can). */
  private cut(channel: SessionChannel, why: string): void {
    const session = this.sessions.get(channel);
    if (!session) return;
    session.cutFor = why;
    session.stream.emit('error', { code: grpc.status.UNAVAILABLE, details: why });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.watches.unsubscribe();
    for (const channel of [...this.sessions.keys()]) this.cut(channel, 'the host is shutting down');
    for (const plugin of this.registry.all()) if (plugin.isRemote && plugin.state !== 'stopped') plugin.lifecycle.moveTo('stopped');
    const server = this.server;
    this.server = undefined;
    // Remote plugins keep running: they reconnect when a host listens again.
    server?.forceShutdown();
  }
}

/** Splits 'host:port' / '[v6]:port' into what grpc binds and what logs show. */
function parseListen(listen: string): { bind: string; host: string } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(listen ?? '');
  if (!match || Number(match[2]) > 65_535) throw new HostConfigurationError(REMOTE_BAD_LISTEN(listen), { listen });
  return { bind: listen, host: match[1]! };
}
