import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorFromWire, errorToWire, PluginCrashedError, ProtocolError, WwPluginError } from '../errors/wwplugin.errors.js';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import type { Frame, HelloFrame } from '../protocol/frames.js';
import { pluginHostService } from '../protocol/proto-definition.js';
import { sessionBytes } from './metrics/session-bytes.js';
import { DEFAULT_MAX_MESSAGE_BYTES, META_PLUGIN_ID, META_TOKEN, PROTOCOL_VERSION, WireErrorCode } from '../protocol/protocol.constants.js';
import { SessionChannel } from '../protocol/session-channel.js';
import {
  BAD_FRAME,
  CRASHED,
  HELLO_ID_MISMATCH,
  INSECURE_REMOTE_LISTENER,
  MALFORMED_FRAME,
  NAME_TAKEN,
  NOT_RUNNING,
  PROTOCOL_MISMATCH,
  SESSION_CLOSED,
  UNAUTHENTICATED_SESSION,
  UNEXPECTED_FRAME,
} from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { CallRouter } from './call-router.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { PluginLogRelay } from './plugin-log.relay.js';
import { PluginRegistry } from './plugin.registry.js';
import { HostTls } from './host-tls.js';

/** How long a dialled session may take to say Hello. */
const HELLO_TIMEOUT_MS = 10_000;
/** Frame kinds a plugin may send that are not part of a call (those the channel handles itself). */
const FROM_PLUGIN = new Set(['hello', 'emit', 'ping', 'pong', 'ack', 'emitOverflow', 'log', 'draining']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Which Hello may take a plugin's entry, and what the end of its session means. */
export interface SessionAdmission {
  /** The instance this Hello takes, when it is not the one the session authenticated for. */
  choose?(plugin: ManagedPlugin, hello: HelloFrame): ManagedPlugin;
  /** Why this Hello may not take `plugin` now; undefined when it may. */
  refusal(plugin: ManagedPlugin, hello: HelloFrame): { code: WireErrorCode; reason: string } | undefined;
  /** The host welcomed the session and the plugin adopted it. */
  adopted?(plugin: ManagedPlugin, channel: SessionChannel, hello: HelloFrame): void;
  /** The plugin said it is going (a remote plugin on SIGTERM): no new calls for it. */
  draining?(plugin: ManagedPlugin, channel: SessionChannel): void;
  /** The session's stream ended or failed (called once or more per session). */
  ended(plugin: ManagedPlugin, channel: SessionChannel, reason: Error): void;
}

/** What the tolerant deserializer hands over instead of a frame it could not decode. */
interface MalformedFrame extends Frame {
  malformed?: string;
}

/**
 * The only listener: a gRPC server with one bidirectional `Session` per plugin. It authenticates
 * each session with the secret of the plugin process it claims to be, checks the Hello, and hands
 * the session's channel to the plugin's record.
 */
@Injectable()
export class HostServer implements OnApplicationShutdown {
  private readonly logger = new Logger('WwPluginHost');
  private server?: grpc.Server;
  private listening?: Promise<string>;
  private socketDir?: string;
  private readonly maxBytes: number;
  /** The secret each plugin process last opened a session with: a secret admits one session only. */
  private readonly usedTokens = new WeakMap<ManagedPlugin, string>();
  private readonly removeSocketDir = () => {
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
    this.socketDir = undefined;
  };

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly router: CallRouter,
    private readonly tls: HostTls,
    private readonly logs: PluginLogRelay,
  ) {
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Starts listening (once) and resolves with the address plugins dial. */
  listen(): Promise<string> {
    this.listening ??= this.bind().catch((err) => {
      this.listening = undefined;
      throw err;
    });
    return this.listening;
  }

  private async bind(): Promise<string> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxBytes + 65536,
      'grpc.max_send_message_length': -1,
      // A rogue or broken client must not hold resources for long.
      'grpc.max_concurrent_streams': 1024,
    });
    server.addService(tolerantService(), {
      Session: (stream: grpc.ServerDuplexStream<Frame, Frame>) => this.accept(stream),
    });
    const credentials = await this.tls.serverCredentials();
    const { bindAddress, dialAddress } = this.chooseAddress();
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) => server.bindAsync(bindAddress, credentials, (err, p) => (err ? reject(err) : resolve(p))));
    } catch (err) {
      this.removeSocketDir();
      server.forceShutdown();
      throw err;
    }
    this.server = server;
    const address = dialAddress(port);
    const host = this.options.host;
    if (host && !LOOPBACK.has(host) && !this.tls.enabled) this.logger.warn(INSECURE_REMOTE_LISTENER(address));
    if (this.options.debug) this.logger.debug(`Listening for plugins on ${address}`);
    return address;
  }

  private chooseAddress(): { bindAddress: string; dialAddress: (port: number) => string } {
    const tcp = this.options.port !== undefined || this.options.host !== undefined || this.options.tls || process.platform === 'win32';
    if (!tcp) {
      let path = this.options.socketPath;
      if (!path) {
        // A directory only this user can enter (mkdtemp makes it 0700): other users cannot dial in.
        this.socketDir = mkdtempSync(join(tmpdir(), 'wwplugin-'));
        chmodSync(this.socketDir, 0o700);
        // Even a host that never closes (crash, process.exit) leaves no socket directory behind.
        process.once('exit', this.removeSocketDir);
        path = join(this.socketDir, 'host.sock');
      }
      return { bindAddress: `unix:${path}`, dialAddress: () => `unix:${path}` };
    }
    const host = this.options.host ?? '127.0.0.1';
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return { bindAddress: `${hostPart}:${this.options.port ?? 0}`, dialAddress: (port) => `${hostPart}:${port}` };
  }

  private accept(stream: grpc.ServerDuplexStream<Frame, Frame>): void {
    const plugin = this.authenticate(stream.metadata);
    if (!plugin) {
      // Nothing is revealed: the same answer for an unknown id, a wrong or used secret, or none.
      this.logger.warn(`Refused a session from ${stream.getPeer() || 'a local client'}: ${UNAUTHENTICATED_SESSION}.`);
      stream.emit('error', { code: grpc.status.UNAUTHENTICATED, details: UNAUTHENTICATED_SESSION });
      return;
    }
    this.serve(stream, plugin, this.spawned);
  }

  /** A spawned plugin's session: its process's Hello, while the host waits for it. */
  private readonly spawned: SessionAdmission = {
    refusal: (plugin, hello) => {
      if (hello.pluginId && hello.pluginId !== plugin.id) return { code: WireErrorCode.PROTOCOL, reason: HELLO_ID_MISMATCH(hello.pluginId, plugin.id) };
      if (plugin.spec.name && hello.name !== plugin.spec.name) {
        return { code: WireErrorCode.PROTOCOL, reason: `expected a plugin named "${plugin.spec.name}", this one says "${hello.name}"` };
      }
      // A stop may have begun while the Hello was on its way: the host no longer waits for this process.
      if (plugin.state !== 'starting' && plugin.state !== 'restarting')
        return { code: WireErrorCode.NOT_RUNNING, reason: NOT_RUNNING(plugin.name, plugin.state) };
      // A name is held by one entry in any state (a stopped or failed one too, until it is unloaded).
      const clash = this.registry.holder(hello.name, plugin);
      if (clash) return { code: WireErrorCode.DUPLICATE_PLUGIN, reason: NAME_TAKEN(hello.name, clash.id, clash.state) };
      return undefined;
    },
    ended: (plugin, channel, reason) => plugin.sessionEnded(channel, reason, (how) => new PluginCrashedError(CRASHED(plugin.name, how))),
  };

  /**
   * Serves one authenticated session for `plugin`: the Hello (which `admission` may refuse), then
   * every frame until the session ends. Spawned and remote plugins share it.
   */
  serve(stream: grpc.ServerDuplexStream<Frame, Frame>, first: ManagedPlugin, admission: SessionAdmission): void {
    // A remote session learns which instance it is from its Hello (admission.choose).
    let plugin = first;
    let hello: HelloFrame | undefined;
    const helloTimer = setTimeout(() => refuse(WireErrorCode.PROTOCOL, 'no Hello within the handshake timeout'), HELLO_TIMEOUT_MS);
    const channel = new SessionChannel(stream, {
      peer: plugin.name,
      maxMessageBytes: this.maxBytes,
      streamBuffer: this.options.streamBuffer,
      chunkIdleMs: this.options.chunkIdleTimeoutMs,
      onCall: (call, incoming) => {
        if (!hello || plugin.channel !== channel) throw new ProtocolError('A call arrived before the handshake completed.');
        return this.router.fromPlugin(plugin, call, incoming);
      },
      onFrame: (frame: MalformedFrame) => {
        if (frame.malformed !== undefined) {
          if (!hello) return refuse(WireErrorCode.PROTOCOL, MALFORMED_FRAME(frame.malformed));
          return complain(MALFORMED_FRAME(frame.malformed));
        }
        if (frame.kind === 'hello') {
          if (hello) return complain('A second Hello was ignored.');
          hello = frame.hello!;
          clearTimeout(helloTimer);
          plugin = admission.choose?.(plugin, hello) ?? plugin;
          return this.welcome(plugin, channel, hello, refuse, admission);
        }
        if (!hello) return refuse(WireErrorCode.PROTOCOL, `expected Hello, got ${frame.kind ?? 'a frame of an unknown kind'}`);
        // A plugin's complaint about a frame of ours: logged, never answered (two peers could loop).
        if (frame.kind === 'error') return this.logger.warn(`Plugin "${plugin.name}" reported: ${frame.error!.message}`);
        // Unknown kinds are ignored, but the plugin's author is told (docs/protocol.md section 5).
        if (!frame.kind || !FROM_PLUGIN.has(frame.kind)) return complain(UNEXPECTED_FRAME(frame.kind));
        if (plugin.channel !== channel) return;
        try {
          if (frame.kind === 'log') return this.logs.relay(plugin.name, frame.log!);
          if (frame.kind === 'draining') return admission.draining?.(plugin, channel);
          this.router.onPluginFrame(plugin, frame);
        } catch (err) {
          // A bad payload in an emit must cost the plugin that message, never the host.
          complain(BAD_FRAME(frame.kind, (err as Error)?.message ?? String(err)));
        }
      },
    });
    // Frames that belong to no call are answered with an Error frame of id 0: the plugin learns
    // what was wrong, and the session goes on.
    const complain = (message: string) => channel.send({ error: { id: 0, ...errorToWire(new ProtocolError(message)) } });
    const refuse = (code: WireErrorCode, reason: string) => {
      clearTimeout(helloTimer);
      plugin.refusedWith = errorFromWire(code, reason, '', '');
      channel.send({ refuse: { code, reason } });
      void channel.end(new WwPluginError(reason));
    };
    const onGone = (err?: Error) => {
      clearTimeout(helloTimer);
      const reason = err ?? new WwPluginError(SESSION_CLOSED(`plugin "${plugin.name}"`));
      admission.ended(plugin, channel, reason);
    };
    stream.on('error', (err: Error) => onGone(err));
    stream.on('end', () => {
      onGone();
      // Half-close in turn, after whatever is still queued for the plugin.
      void channel.endWrites();
    });
    stream.on('close', () => onGone());
  }

  private authenticate(metadata: grpc.Metadata): ManagedPlugin | undefined {
    const id = String(metadata.get(META_PLUGIN_ID)[0] ?? '');
    const token = String(metadata.get(META_TOKEN)[0] ?? '');
    const plugin = id ? this.registry.byId(id) : undefined;
    // Compare digests so the comparison takes the same time whatever the lengths.
    const expected = createHash('sha256')
      .update(plugin?.token || 'no-plugin')
      .digest();
    const given = createHash('sha256').update(token).digest();
    const match = timingSafeEqual(expected, given);
    if (!plugin || !plugin.token || !match) return undefined;
    // Only while the host waits for this process's handshake, and only once per secret: a copied
    // secret cannot open a second session beside (or after) the real plugin's.
    if (plugin.state !== 'starting' && plugin.state !== 'restarting') return undefined;
    if (this.usedTokens.get(plugin) === token) return undefined;
    this.usedTokens.set(plugin, token);
    return plugin;
  }

  private welcome(
    plugin: ManagedPlugin,
    channel: SessionChannel,
    hello: HelloFrame,
    refuse: (code: WireErrorCode, reason: string) => void,
    admission: SessionAdmission,
  ): void {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      return refuse(WireErrorCode.PROTOCOL_VERSION, PROTOCOL_MISMATCH(hello.protocolVersion, PROTOCOL_VERSION));
    }
    if (!hello.name) return refuse(WireErrorCode.PROTOCOL, 'Hello must carry the plugin name');
    const refusal = admission.refusal(plugin, hello);
    if (refusal) return refuse(refusal.code, refusal.reason);
    channel.send({
      welcome: {
        protocolVersion: PROTOCOL_VERSION,
        pluginId: plugin.id,
        hostVersion: '0.1.0',
        maxMessageBytes: this.maxBytes,
        defaultTimeoutMs: this.options.defaultTimeoutMs ?? 30_000,
        streamIdleTimeoutMs: this.options.streamIdleTimeoutMs ?? 0,
        ...plugin.outbox.ackSettings,
        acceptsLogs: true,
      },
    });
    plugin.adopt(channel, hello);
    admission.adopted?.(plugin, channel, hello);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.listening = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    this.removeSocketDir();
    process.removeListener('exit', this.removeSocketDir);
  }
}

/**
 * The Session service with a deserializer that never throws: grpc-js would end the whole session
 * on one undecodable message; this hands the channel a marker instead, so only that frame is lost.
 */
export function tolerantService(): grpc.ServiceDefinition {
  const service = pluginHostService().service;
  const session = service.Session;
  return {
    ...service,
    Session: {
      ...session,
      requestDeserialize: (bytes: Buffer): MalformedFrame => {
        sessionBytes.in += bytes.length;
        try {
          return session.requestDeserialize(bytes) as Frame;
        } catch (err) {
          return { malformed: (err as Error)?.message ?? String(err) };
        }
      },
      responseSerialize: (frame: Frame): Buffer => {
        const bytes = session.responseSerialize(frame);
        sessionBytes.out += bytes.length;
        return bytes;
      },
    },
  };
}
