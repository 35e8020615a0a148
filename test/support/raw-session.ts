// A raw client of the Session RPC, built from the .proto with grpc-js alone (not the library's
// plugin side): it plays rogue clients and broken plugins. It can send well-formed frames, raw
// bytes the host must decode, and any metadata or TLS credentials.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A frame as proto-loader decodes it: `kind` names the member that is set. */
export type RawFrame = { kind?: string } & Record<string, any>;

export interface RawSessionOptions {
  /** What the host's `address()` returns: `unix:/path` or `host:port`. */
  address: string;
  /** Sent as x-wwplugin-token when given. */
  token?: string;
  /** Sent as x-wwplugin-plugin-id when given. */
  pluginId?: string;
  /** PEM material; with it the client speaks TLS (`ca` alone: no client certificate). */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
}

/** How the session ended, as grpc-js reports it. */
export interface RawEnd {
  code: grpc.status;
  details: string;
}

const SESSION_PATH = '/wwplugin.v1.PluginHost/Session';

// Walks up from this file (in test/ or dist/test/) to the repository's proto directory.
function protoFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto/wwplugin/v1/wwplugin.proto');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error('proto/wwplugin/v1/wwplugin.proto not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

let methods: protoLoader.MethodDefinition<object, object> | undefined;
function sessionMethod(): protoLoader.MethodDefinition<object, object> {
  if (!methods) {
    const definition = protoLoader.loadSync(protoFile(), { keepCase: false, longs: String, enums: Number, defaults: false, oneofs: true });
    const service = definition['wwplugin.v1.PluginHost'] as protoLoader.ServiceDefinition;
    methods = service.Session as protoLoader.MethodDefinition<object, object>;
  }
  return methods;
}

/** Encodes a frame object as the bytes of one protobuf Frame message. */
export function encodeFrame(frame: RawFrame): Buffer {
  return sessionMethod().requestSerialize(frame);
}

/**
 * One Session stream opened by hand. Frames received are kept in `frames` and can be awaited with
 * `next()`; `ended` resolves with the final status (OK or not), never rejects.
 */
export class RawSession {
  readonly frames: RawFrame[] = [];
  readonly ended: Promise<RawEnd>;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, RawFrame>;
  private readonly waiters = new Set<() => void>();
  private readonly listeners: Array<(frame: RawFrame) => void> = [];
  private endedWith?: RawEnd;

  constructor(options: RawSessionOptions) {
    const method = sessionMethod();
    const tls = options.tls;
    const credentials = tls
      ? grpc.credentials.createSsl(
          tls.ca ? Buffer.from(tls.ca) : null,
          tls.key ? Buffer.from(tls.key) : null,
          tls.cert ? Buffer.from(tls.cert) : null,
          // The one-off CA is the trust anchor; host names are not part of what is checked.
          { checkServerIdentity: () => undefined },
        )
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(options.address, credentials, {
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      // As the library's plugins do: TLS refuses an IP address as the server name (Node 26 throws).
      ...(tls ? { 'grpc.ssl_target_name_override': 'localhost' } : {}),
    });
    const metadata = new grpc.Metadata();
    if (options.token !== undefined) metadata.set('x-wwplugin-token', options.token);
    if (options.pluginId !== undefined) metadata.set('x-wwplugin-plugin-id', options.pluginId);
    // Bytes go out as given: callers decide whether they are a valid Frame.
    this.call = this.client.makeBidiStreamRequest(
      SESSION_PATH,
      (b: Buffer) => b,
      (b: Buffer) => method.responseDeserialize(b) as RawFrame,
      metadata,
    );
    this.ended = new Promise<RawEnd>((resolve) => {
      const done = (end: RawEnd) => {
        if (this.endedWith) return;
        this.endedWith = end;
        this.wake();
        resolve(end);
      };
      this.call.on('status', (s: grpc.StatusObject) => done({ code: s.code, details: s.details }));
      this.call.on('error', (e: grpc.ServiceError) => done({ code: e.code, details: e.details }));
    });
    this.call.on('data', (frame: RawFrame) => {
      this.frames.push(frame);
      for (const l of this.listeners) l(frame);
      this.wake();
    });
  }

  /** True once the host ended the stream (or the connection failed). */
  get isEnded(): boolean {
    return this.endedWith !== undefined;
  }

  /** Sends a well-formed frame. */
  send(frame: RawFrame): void {
    this.call.write(encodeFrame(frame));
  }

  /** Sends arbitrary bytes as one gRPC message (the host will try to decode them as a Frame). */
  sendBytes(bytes: Buffer): void {
    this.call.write(bytes);
  }

  /** Calls `cb` with every frame received from now on. */
  onFrame(cb: (frame: RawFrame) => void): void {
    this.listeners.push(cb);
  }

  /**
   * Waits for the first frame matching `predicate` among those received from index `from` on
   * (default: all, including frames already received).
   */
  async next(predicate: (f: RawFrame) => boolean, ms = 10_000, what = 'a frame', from = 0): Promise<RawFrame> {
    const deadline = Date.now() + ms;
    let seen = from;
    for (;;) {
      for (; seen < this.frames.length; seen++) if (predicate(this.frames[seen])) return this.frames[seen];
      if (this.endedWith) throw new Error(`Session ended (${this.endedWith.code}: ${this.endedWith.details}) before ${what} arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No ${what} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(wake);
      });
    }
  }

  /** Ends our side and closes the connection. */
  close(): void {
    try {
      this.call.end();
    } catch {
      // already ended
    }
    this.call.cancel();
    this.client.close();
  }

  private wake(): void {
    const list = [...this.waiters];
    this.waiters.clear();
    for (const w of list) w();
  }
}
