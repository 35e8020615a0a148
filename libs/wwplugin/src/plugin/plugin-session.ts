import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { defer, filter, Observable, Subject } from 'rxjs';
import type { Tracer } from '@opentelemetry/api';
import type { TracedCall } from '../protocol/call-tracing.js';
import { HandshakeRefusedError, PluginConfigurationError, ProtocolError, WwPluginError } from '../errors/wwplugin.errors.js';
import type { FunctionInfoFrame, Frame, LogFrame, ShutdownFrame, WelcomeFrame } from '../protocol/frames.js';
import { decodeValue, encodeValue } from '../protocol/parameters.js';
import { pluginHostService } from '../protocol/proto-definition.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ENV_ADDRESS,
  ENV_PLUGIN_ID,
  ENV_TLS,
  META_PLUGIN_ID,
  META_TOKEN,
  PROTOCOL_VERSION,
  WireErrorCode,
} from '../protocol/protocol.constants.js';
import { assertMessageSize, SessionChannel, type CallOptions, type IncomingCallHandler } from '../protocol/session-channel.js';
import { NO_HOST_ADDRESS, PROTOCOL_MISMATCH, SESSION_CLOSED } from '../wwplugin.messages.js';
import { WWPLUGIN_PLUGIN_OPTIONS, WWPLUGIN_REMOTE_OPTIONS } from '../wwplugin.constants.js';
import type { PushMessage, WwPluginOptions } from '../interfaces/plugin-options.interface.js';
import { TLS_SERVER_NAME, tlsFromEnv } from '../protocol/tls.js';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { idleDeadline } from '../protocol/idle-deadline.js';
import { EmitOutbox } from './emit-outbox.js';
import { RemoteConnector, remoteHostFrom, type RemoteHost, type RemoteHostOptions } from './remote-connector.js';
import { PushAcker } from './push-acker.js';
import { takeHostSecret } from './host-secret.js';
import { loadTracing, type PluginTracing } from './plugin-tracing.js';
import { releasePreconnected, SESSION_CHANNEL_OPTIONS } from './session-preconnect.js';

/** Bytes of messages (emits, logs) that may wait behind a full transport before log records go to stdout/stderr. */
const MAX_QUEUED_LOG_BYTES = 4 * 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * The plugin's end of its one session with the host: dials the address the host gave in the
 * environment, authenticates, says Hello, and carries calls, pushes and emits until it ends.
 */
@Injectable()
export class PluginSession implements OnApplicationShutdown {
  private readonly logger = new Logger('WwPluginSession');
  private channel?: SessionChannel;
  private client?: grpc.Client;
  /** Settles when the host has ended its side of the session (or the session failed). */
  private hostEnded?: Promise<void>;
  private readonly pushes$ = new Subject<PushMessage>();
  private readonly shutdown$ = new Subject<ShutdownFrame>();
  private readonly lost$ = new Subject<Error>();
  private readonly welcomed$ = new Subject<void>();
  private welcome?: WelcomeFrame;
  // Emits wait here, bounded, while the host reads slowly or has not welcomed us yet.
  private readonly emits: EmitOutbox;
  private acker?: PushAcker;
  /** Set once our last PushAck is sent: later pushes are the host's to send to our next process. */
  private pushesClosed = false;
  private ending = false;
  /** Set by the first close(): later ones wait for the same end. */
  private closed?: Promise<void>;
  /** Set once the plugin's app ran its shutdown hooks (Nest would run them again on another close). */
  private shutDown = false;
  readonly id: string;
  private address?: string;
  private readonly token: string;
  private readonly tlsEnv?: string;
  /** Set when the plugin's app registered an OpenTelemetry SDK before it connected. */
  tracing?: PluginTracing;
  /** Set when this plugin joins a remote host (WWPLUGIN_HOST or bootstrapPlugin's `remote`). */
  private remote?: RemoteHost;
  private connector?: RemoteConnector;

  constructor(
    @Inject(WWPLUGIN_PLUGIN_OPTIONS) readonly options: WwPluginOptions,
    @Optional() @Inject(WWPLUGIN_REMOTE_OPTIONS) remote?: RemoteHostOptions,
  ) {
    this.address = process.env[ENV_ADDRESS];
    this.id = process.env[ENV_PLUGIN_ID] ?? '';
    // The secret is for this process only: children the plugin spawns must not inherit it.
    this.token = takeHostSecret();
    // Same for the client certificate's private key.
    this.tlsEnv = process.env[ENV_TLS];
    delete process.env[ENV_TLS];
    this.emits = new EmitOutbox(options);
    this.remote = remoteHostFrom(remote, process.env, this.token);
  }

  /** True when this plugin joins a remote host (and reconnects by itself) rather than being spawned by one. */
  get isRemote(): boolean {
    return !!this.remote;
  }

  /** Stops reconnecting to a remote host (the plugin is stopping). */
  stopReconnecting(): void {
    this.connector?.stop();
  }

  /**
   * A remote plugin that is going tells the host first: no new calls come, the calls in flight
   * finish (bootstrapPlugin drains them), then the session ends.
   */
  announceDraining(graceMs: number): void {
    this.connector?.stop();
    this.ending = true;
    if (this.channel && !this.channel.isClosed) this.channel.send({ draining: { graceMs } });
  }

  /** Emits dropped so far because the emit buffer was full (emitOverflow). */
  get emitsDropped(): number {
    return this.emits.dropped;
  }

  /** Emits waiting in the buffer for the host to read them. */
  get emitsQueued(): number {
    return this.emits.queued;
  }

  get name(): string {
    return this.options.name;
  }

  get isConnected(): boolean {
    return !!this.channel && !this.channel.isClosed;
  }

  /** True once the host welcomed the current session, until the plugin starts to leave. */
  /** The tracer of the app's OpenTelemetry SDK, when it registered one before this plugin connected. */
  get tracer(): Tracer | undefined {
    return this.tracing?.tracer;
  }

  get isWelcomed(): boolean {
    return !!this.welcome && !this.ending;
  }

  /** Calls the plugin is handling right now. */
  get handling(): number {
    return this.channel?.handling ?? 0;
  }

  /** Pushes from the host, in the order it sent them. */
  messages(topic?: string): Observable<PushMessage> {
    return topic && topic !== '*' ? this.pushes$.pipe(filter((m) => m.topic === topic)) : this.pushes$.asObservable();
  }

  /** Fires when the host asks this plugin to stop. */
  get shutdownRequests(): Observable<ShutdownFrame> {
    return this.shutdown$.asObservable();
  }

  /** Fires once the host has welcomed this plugin. */
  get welcomed(): Observable<void> {
    return this.welcomed$.asObservable();
  }

  /** Sends one log record to the host; false when the host cannot take it now (not welcomed, gone, or too old to know Log frames). */
  sendLog(record: LogFrame): boolean {
    const channel = this.channel;
    if (!this.welcome?.acceptsLogs || !channel || channel.isClosed) return false;
    // A plugin logging faster than the host reads must not fill its memory: past the bound, records
    // go to stdout/stderr (read by the host line by line, capped) instead of waiting here.
    if (channel.messageBacklogBytes > MAX_QUEUED_LOG_BYTES) return false;
    channel.send({ log: record });
    return true;
  }

  /** Fires when the session ends without being asked to (the host died or dropped us). */
  get lost(): Observable<Error> {
    return this.lost$.asObservable();
  }

  /**
   * Dials the host, registers the functions and resolves once the host welcomed us. A remote
   * plugin dials until welcomed, and again whenever the session is lost.
   */
  async connect(functions: FunctionInfoFrame[], topics: string[], onCall: IncomingCallHandler): Promise<WelcomeFrame> {
    const remote = this.remote;
    if (!remote) return this.dial(functions, topics, onCall);
    this.connector ??= new RemoteConnector(remote, () => this.dial(functions, topics, onCall));
    return this.connector.connect();
  }

  private async dial(functions: FunctionInfoFrame[], topics: string[], onCall: IncomingCallHandler): Promise<WelcomeFrame> {
    // Awaited before the session's state is touched: from the clean slate to the new stream, nothing else runs.
    const tracing = await loadTracing();
    const remote = this.remote;
    if (remote) this.address = remote.address;
    if (!this.address) throw new PluginConfigurationError(NO_HOST_ADDRESS(ENV_ADDRESS));
    // A new session (a remote plugin's reconnect) starts from a clean slate.
    this.client?.close();
    this.welcome = undefined;
    this.acker = undefined;
    this.pushesClosed = false;
    this.tracing = tracing;
    const Ctor = pluginHostService();
    const maxBytes = DEFAULT_MAX_MESSAGE_BYTES;
    const tls = remote ? undefined : tlsFromEnv(this.tlsEnv);
    // Newer Node lines refuse an IP address as the TLS server name: send a name, check the IP ourselves.
    const dialsIp = !!remote && isIP(remote.servername) !== 0;
    const credentials = remote
      ? // The host's certificate must be signed by our CA and carry the name we dial (or WWPLUGIN_TLS_SERVERNAME).
        grpc.credentials.createSsl(
          remote.ca,
          remote.key,
          remote.cert,
          dialsIp ? { checkServerIdentity: (_sni, cert) => checkServerIdentity(remote.servername, cert) } : undefined,
        )
      : tls
        ? grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: () => undefined })
        : grpc.credentials.createInsecure();
    this.client = new Ctor(this.address, credentials, {
      ...SESSION_CHANNEL_OPTIONS,
      // Over a network a dead link shows only by unanswered pings: notice it within seconds, then
      // reconnect. A spawned plugin sends none: the end of its stream and of stdin say the host is
      // gone, and every ping would wake the host (with many plugins, an idle host's main cost).
      ...(remote ? { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000, 'grpc.keepalive_permit_without_calls': 1 } : {}),
      // The address is an IP, which TLS may not send as the server name (DEP0123): name the host instead.
      ...(tls ? { 'grpc.ssl_target_name_override': tls.servername } : {}),
      ...(dialsIp ? { 'grpc.ssl_target_name_override': TLS_SERVER_NAME } : {}),
      ...(remote && !dialsIp && remote.servername !== remote.address.replace(/:\d+$/, '') ? { 'grpc.ssl_target_name_override': remote.servername } : {}),
    });
    const metadata = new grpc.Metadata();
    metadata.set(META_TOKEN, remote ? remote.token : this.token);
    metadata.set(META_PLUGIN_ID, this.id);
    const stream = (this.client as unknown as { Session(md: grpc.Metadata): grpc.ClientDuplexStream<Frame, Frame> }).Session(metadata);
    this.hostEnded = new Promise<void>((resolve) => {
      for (const event of ['end', 'error', 'status', 'close']) stream.once(event, () => resolve());
    });

    return new Promise<WelcomeFrame>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => finish(new ProtocolError(`The host did not answer the handshake within ${HANDSHAKE_TIMEOUT_MS} ms.`)),
        HANDSHAKE_TIMEOUT_MS,
      );
      const finish = (err?: Error, welcome?: WelcomeFrame) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          void channel.end(err);
          reject(err);
        } else resolve(welcome!);
      };
      const channel = new SessionChannel(stream, {
        peer: 'host',
        maxMessageBytes: maxBytes,
        streamBuffer: this.options.streamBuffer,
        onCall,
        onFrame: (frame) => {
          switch (frame.kind) {
            case 'welcome': {
              const w = frame.welcome!;
              if (w.protocolVersion !== PROTOCOL_VERSION) {
                return finish(new HandshakeRefusedError(PROTOCOL_MISMATCH(w.protocolVersion, PROTOCOL_VERSION), WireErrorCode.PROTOCOL_VERSION));
              }
              this.welcome = w;
              // Frames over the host's limit would end the session: fail such a call alone instead.
              if (w.maxMessageBytes) channel.setMaxMessageBytes(w.maxMessageBytes);
              finish(undefined, w);
              releasePreconnected();
              // A host that sets push_ack_every understands PushAck and EmitOverflow frames.
              if (w.pushAckEvery) this.acker = new PushAcker(channel, w.pushAckEvery, w.pushAckDelayMs || 20);
              this.emits.attach(channel, !!w.pushAckEvery);
              this.welcomed$.next();
              return;
            }
            case 'refuse':
              return finish(new HandshakeRefusedError(`The host refused this plugin: ${frame.refuse!.reason}`, frame.refuse!.code));
            case 'push': {
              const p = frame.push!;
              if (this.pushesClosed) return;
              const message = { topic: p.topic, payload: decodeValue(p.payload), seq: p.seq ?? 0 };
              if (this.tracing && p.traceparent)
                this.tracing.api.consumeMessage(this.tracing.tracer, 'push', this.name, p.topic, p, () => this.pushes$.next(message));
              else this.pushes$.next(message);
              // Acknowledged once its subscribers have run: a process killed after the ack has seen it.
              return this.acker?.received(p.seq ?? 0);
            }
            case 'shutdown':
              this.ending = true;
              return this.shutdown$.next(frame.shutdown!);
            case 'ping':
              return;
            default:
              // Unknown or misplaced frames are ignored: a newer host may send kinds we do not know.
              return;
          }
        },
      });
      this.channel = channel;
      const onGone = (err?: Error) => {
        const reason = err ?? new WwPluginError(SESSION_CLOSED('the host'));
        channel.close(reason);
        if (!settled) return finish(reason);
        if (this.ending) return;
        // A remote plugin outlives its host's sessions: it joins again. A spawned one leaves with its host.
        if (this.connector) this.connector.lost(reason);
        else this.lost$.next(reason);
      };
      stream.on('error', (err: grpc.ServiceError) => {
        const refused = err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED;
        onGone(
          refused
            ? new HandshakeRefusedError(`The host refused this plugin: ${err.details}`)
            : new WwPluginError(`Session with the host failed: ${err.details ?? err.message}`),
        );
      });
      stream.on('end', () => onGone());
      channel.send({
        hello: {
          protocolVersion: PROTOCOL_VERSION,
          pluginId: this.id,
          name: this.options.name,
          version: this.options.version,
          description: this.options.description ?? '',
          functions,
          pid: process.pid,
          topics,
          acksPushes: true,
          ...(remote ? { replica: remote.replica } : {}),
        },
      });
    });
  }

  /** Calls a host function, or (with opts.target) another plugin's function through the host. */
  call(fn: string, args?: unknown, opts?: CallOptions): Promise<unknown> {
    const tracing = this.tracing;
    if (tracing && !opts?.trace) return tracing.api.callTraced(tracing.tracer, this.traced(fn, opts), (trace) => this.call(fn, args, { ...opts, trace }));
    // Without a deadline of its own, a call gets the host's default, as host→plugin calls do.
    const timeoutMs = opts?.timeoutMs ?? this.welcome?.defaultTimeoutMs;
    return this.requireChannel().call(fn, args, timeoutMs === opts?.timeoutMs ? opts : { ...opts, timeoutMs });
  }

  /**
   * Streams a host or plugin function's values. Without an idle deadline of its own, it gets the
   * host's (Welcome); the host gives a stream of a function that is not streaming its whole-call default.
   */
  stream(fn: string, args?: unknown, opts: CallOptions & { idleTimeoutMs?: number } = {}): Observable<unknown> {
    const tracing = this.tracing;
    if (tracing && !opts.trace)
      return defer(() => tracing.api.callTraced(tracing.tracer, this.traced(fn, opts), (trace) => this.stream(fn, args, { ...opts, trace })));
    const { idleTimeoutMs = this.welcome?.streamIdleTimeoutMs, ...callOpts } = opts;
    return this.requireChannel()
      .stream(fn, args, callOpts)
      .pipe(idleDeadline(idleTimeoutMs, opts.target || 'host', fn));
  }

  /** Pulls a host or plugin function's values (see PluginHostService.iterate). */
  iterate(fn: string, args?: unknown, opts?: CallOptions): AsyncIterable<unknown> {
    const tracing = this.tracing;
    if (tracing && !opts?.trace) {
      const channel = this.requireChannel();
      return {
        [Symbol.asyncIterator]: () =>
          tracing.api.callTraced(tracing.tracer, this.traced(fn, opts), (trace) => channel.iterate(fn, args, { ...opts, trace }))[Symbol.asyncIterator](),
      };
    }
    return this.requireChannel().iterate(fn, args, opts);
  }

  /** A call this plugin makes, as its span names it: the serving plugin (or the host) and the function. */
  private traced(fn: string, opts?: CallOptions): TracedCall {
    return { plugin: opts?.target || 'host', fn, kind: opts?.target ? 'relay' : 'host', caller: this.name };
  }

  /** Sends a message to the host on `topic`. */
  emit(topic: string, payload: unknown): void {
    const wire = encodeValue('payload', payload);
    // Over the host's limit, the frame would end the whole session: refuse this message alone.
    // Providers may emit during bootstrap, before the host welcomed us: those wait in the same
    // bounded buffer, checked against the default limit until the host tells us its own.
    // A remote plugin between sessions keeps emitting into the buffer too: it reconnects.
    const channel = this.channel;
    if ((this.welcome || this.ending) && !(this.connector && channel?.isClosed)) this.requireChannel().checkSize([wire]);
    else assertMessageSize([wire], DEFAULT_MAX_MESSAGE_BYTES);
    this.emits.emit(topic, wire, this.tracing?.api.activeTraceFields());
  }

  /**
   * Ends the session (the host sees the stream end). Resolves once the host ended its side too, or
   * after `timeoutMs`: the host ends it only after reading every frame we sent, and closing the
   * connection before that would discard the last results on their way.
   */
  close(timeoutMs = 1_000): Promise<void> {
    return (this.closed ??= this.end(timeoutMs));
  }

  /** The session ends with the plugin's app, however it is closed (its own code, a signal, the host). */
  onApplicationShutdown(): Promise<void> {
    this.shutDown = true;
    return this.close();
  }

  /** True once the plugin's app has been shut down. */
  get appShutDown(): boolean {
    return this.shutDown;
  }

  private async end(timeoutMs: number): Promise<void> {
    this.ending = true;
    // Buffered emits and the last push acknowledgement go out before the session ends, and every
    // answer already produced (chunked ones too) is written before our side of the stream ends.
    await this.emits.close(timeoutMs);
    if (this.acker) {
      this.acker.flush();
      this.pushesClosed = true;
    }
    await this.channel?.end(new WwPluginError(SESSION_CLOSED('the host')));
    if (this.hostEnded) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.hostEnded, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.client?.close();
  }

  private requireChannel(): SessionChannel {
    if (!this.channel || this.channel.isClosed) throw new WwPluginError(SESSION_CLOSED('the host'));
    return this.channel;
  }

  /** Logs through Nest, used by bootstrap on fatal session errors. */
  logFatal(message: string): void {
    this.logger.error(message);
  }
}
