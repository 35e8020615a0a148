import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorFromWire, PluginCrashedError, ProtocolError, WwPluginError } from '../errors/wwplugin.errors.js';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import type { Frame, HelloFrame } from '../protocol/frames.js';
import { pluginHostService } from '../protocol/proto-definition.js';
import { DEFAULT_MAX_MESSAGE_BYTES, META_PLUGIN_ID, META_TOKEN, PROTOCOL_VERSION, WireErrorCode } from '../protocol/protocol.constants.js';
import { SessionChannel } from '../protocol/session-channel.js';
import { CRASHED, DUPLICATE_PLUGIN, PROTOCOL_MISMATCH, SESSION_CLOSED } from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { CallRouter } from './call-router.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { PluginRegistry } from './plugin.registry.js';
import { HostTls } from './host-tls.js';

/** How long a dialled session may take to say Hello. */
const HELLO_TIMEOUT_MS = 10_000;

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

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly router: CallRouter,
    private readonly tls: HostTls,
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
    server.addService(pluginHostService().service, {
      Session: (stream: grpc.ServerDuplexStream<Frame, Frame>) => this.accept(stream),
    });
    const { bindAddress, dialAddress } = this.chooseAddress();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(bindAddress, this.tls.serverCredentials(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    const address = dialAddress(port);
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
      // Nothing is revealed: the same answer for an unknown id, a wrong secret or no secret.
      stream.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'invalid or missing plugin credentials' });
      return;
    }
    let hello: HelloFrame | undefined;
    const helloTimer = setTimeout(() => refuse(WireErrorCode.PROTOCOL, 'no Hello within the handshake timeout'), HELLO_TIMEOUT_MS);
    const channel = new SessionChannel(stream, {
      peer: plugin.name,
      maxMessageBytes: this.maxBytes,
      onCall: (call, signal) => {
        if (!hello || plugin.channel !== channel) throw new ProtocolError('A call arrived before the handshake completed.');
        return this.router.fromPlugin(plugin, call, signal);
      },
      onFrame: (frame) => {
        if (frame.kind === 'hello') {
          if (hello) return; // a second Hello is ignored
          hello = frame.hello!;
          clearTimeout(helloTimer);
          return this.welcome(plugin, channel, hello, refuse);
        }
        if (!hello) return refuse(WireErrorCode.PROTOCOL, `expected Hello, got ${frame.kind ?? 'an empty frame'}`);
        if (plugin.channel === channel) this.router.onPluginFrame(plugin, frame);
      },
    });
    const refuse = (code: WireErrorCode, reason: string) => {
      clearTimeout(helloTimer);
      plugin.refusedWith = errorFromWire(code, reason, '', '');
      channel.send({ refuse: { code, reason } });
      channel.end(new WwPluginError(reason));
    };
    const onGone = (err?: Error) => {
      clearTimeout(helloTimer);
      const reason = err ?? new WwPluginError(SESSION_CLOSED(`plugin "${plugin.name}"`));
      plugin.sessionEnded(channel, reason, (how) => new PluginCrashedError(CRASHED(plugin.name, how)));
    };
    stream.on('error', (err: Error) => onGone(err));
    stream.on('end', () => {
      onGone();
      stream.end();
    });
    stream.on('close', () => onGone());
  }

  private authenticate(metadata: grpc.Metadata): ManagedPlugin | undefined {
    const id = String(metadata.get(META_PLUGIN_ID)[0] ?? '');
    const token = String(metadata.get(META_TOKEN)[0] ?? '');
    const plugin = id ? this.registry.byId(id) : undefined;
    // Compare digests so the comparison takes the same time whatever the lengths.
    const expected = createHash('sha256').update(plugin?.token || 'no-plugin').digest();
    const given = createHash('sha256').update(token).digest();
    const match = timingSafeEqual(expected, given);
    if (!plugin || !plugin.token || !match || plugin.state !== 'starting') return undefined;
    return plugin;
  }

  private welcome(plugin: ManagedPlugin, channel: SessionChannel, hello: HelloFrame, refuse: (code: WireErrorCode, reason: string) => void): void {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      return refuse(WireErrorCode.PROTOCOL_VERSION, PROTOCOL_MISMATCH(hello.protocolVersion, PROTOCOL_VERSION));
    }
    if (!hello.name) return refuse(WireErrorCode.PROTOCOL, 'Hello must carry the plugin name');
    if (plugin.spec.name && hello.name !== plugin.spec.name) {
      return refuse(WireErrorCode.PROTOCOL, `expected a plugin named "${plugin.spec.name}", this one says "${hello.name}"`);
    }
    const clash = this.registry.all().find((p) => p !== plugin && p.name === hello.name && p.state !== 'stopped' && p.state !== 'failed');
    if (clash) return refuse(WireErrorCode.DUPLICATE_PLUGIN, DUPLICATE_PLUGIN(hello.name));
    channel.send({
      welcome: {
        protocolVersion: PROTOCOL_VERSION,
        pluginId: plugin.id,
        hostVersion: '0.1.0',
        maxMessageBytes: this.maxBytes,
        defaultTimeoutMs: this.options.defaultTimeoutMs ?? 30_000,
      },
    });
    plugin.adopt(channel, hello);
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
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
    this.socketDir = undefined;
  }
}
