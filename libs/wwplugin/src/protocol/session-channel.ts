import type { Observable } from 'rxjs';
import { errorFromWire, errorToWire, ProtocolError, WwPluginError } from '../errors/wwplugin.errors.js';
import { ChunkAssembler } from './chunk-assembler.js';
import { assertMessageSize, paramSize } from './frame-size.js';
import { CHUNK_BYTES, FrameWriter, MESSAGE_LANE, type FrameSink, type TransportWindow } from './frame-writer.js';
import type { Frame } from './frames.js';
import { IncomingCalls, type IncomingCallHandler } from './incoming-calls.js';
import { OutgoingCalls, WireValue, type CallOptions } from './outgoing-calls.js';
import type { WireParameter } from './parameters.js';
import { frameCodec, type FrameCodec } from './proto-definition.js';
import { DEFAULT_STREAM_BUFFER, type StreamBufferOptions } from './stream-producer.js';

export { IncomingCall, IncomingCallInfo } from './incoming-call.js';
export { WireValue } from './outgoing-calls.js';
export type { CallOptions, TraceFields } from './outgoing-calls.js';
export type { IncomingCallHandler } from './incoming-calls.js';
export { assertMessageSize } from './frame-size.js';

/** Frames over this size travel in chunks (docs/protocol.md, Chunk). */
export const CHUNK_OVER_BYTES = CHUNK_BYTES;
/** A chunked frame that gets no piece for this long is dropped by its receiver. */
export const DEFAULT_CHUNK_IDLE_MS = 30_000;
/** How long a graceful end may take to write what is queued before the stream ends anyway. */
const END_FLUSH_MS = 10_000;

/** The grpc-js duplex stream (client or server side) a channel runs on. */
export interface FrameStream extends FrameSink {
  on(event: 'data', cb: (frame: Frame) => void): unknown;
  on(event: 'drain', cb: () => void): unknown;
}

export interface SessionChannelOptions {
  /** Who is on the other end, for error messages: a plugin's name, or 'host'. */
  peer: string;
  /** Largest frame this side sends or accepts; larger arguments or results fail with MessageTooLargeError. */
  maxMessageBytes: number;
  onCall: IncomingCallHandler;
  /** Frames that are not part of a call (hello, push, emit, ping, pong, shutdown...). */
  onFrame: (frame: Frame) => void;
  /** What a streaming call's Observable may have waiting to be sent. */
  streamBuffer?: StreamBufferOptions;
  /** A chunked frame that gets no piece for this long is dropped (default 30 s). */
  chunkIdleMs?: number;
  /** What the transport may hold unconfirmed (default 256 frames, 256 KiB). */
  transportWindow?: TransportWindow;
}

/**
 * Calls in both directions over one session stream, matched by id. Shared by host and plugin: each
 * side owns one channel per session. It composes the ordered frame writer, the table of calls this
 * side made, the dispatcher of the calls the peer made, and the reassembly of chunked frames.
 */
export class SessionChannel {
  private readonly writer: FrameWriter;
  private readonly outgoing: OutgoingCalls;
  private readonly incoming: IncomingCalls;
  private readonly chunks: ChunkAssembler;
  // One timer per channel for every deadline, armed for the earliest: a timer per call costs
  // more than the rest of a call's bookkeeping, and almost every call ends long before its deadline.
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineAt = 0;
  private closedWith?: Error;
  private codec?: FrameCodec;

  /** Name of the peer in messages; the host learns a plugin's name only from its Hello. */
  peer: string;

  constructor(
    private readonly frames: FrameStream,
    private readonly options: SessionChannelOptions,
  ) {
    this.peer = options.peer;
    const codec = () => (this.codec ??= frameCodec());
    const maxMessageBytes = () => this.options.maxMessageBytes;
    // What the receiver of chunked frames may hold at once: two frames of the largest size.
    const budget = () => 2 * (this.options.maxMessageBytes + 65_536);
    // Follows the limit the peer announced (a plugin adopts the host's from Welcome).
    const chunkBudgetBytes = () => 2 * this.options.maxMessageBytes;
    this.writer = new FrameWriter(frames, { codec, chunkBudgetBytes, window: options.transportWindow });
    const watchDeadline = (at: number) => this.watchDeadline(at);
    const peer = () => this.peer;
    this.outgoing = new OutgoingCalls({ writer: this.writer, peer, maxMessageBytes, watchDeadline, closedWith: () => this.closedWith });
    this.incoming = new IncomingCalls({
      writer: this.writer,
      peer,
      maxMessageBytes,
      watchDeadline,
      onCall: options.onCall,
      streamBuffer: options.streamBuffer ?? DEFAULT_STREAM_BUFFER,
    });
    this.chunks = new ChunkAssembler({
      codec,
      maxFrameBytes: maxMessageBytes,
      budgetBytes: budget,
      idleMs: options.chunkIdleMs ?? DEFAULT_CHUNK_IDLE_MS,
      onFrame: (frame) => this.receive(frame),
      onReject: (id, why) => this.protocolError(`Chunk ${id}: ${why}.`),
    });
    frames.on('data', (frame) => this.receive(frame));
    frames.on('drain', () => this.writer.drained());
  }

  /** Calls in flight from this side. */
  get inFlight(): number {
    return this.outgoing.size;
  }

  /** Runs `cb` once no call from this side is in flight (at once when none is; a closed channel has none). */
  whenIdle(cb: () => void): void {
    this.outgoing.whenIdle(cb);
  }

  /** Calls from the peer being handled here, counting answers not yet fully written. */
  get handling(): number {
    return this.incoming.size + this.writer.answersInProgress;
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Bytes held by chunked frames the peer has not finished. */
  get reassemblyBytes(): number {
    return this.chunks.heldBytes;
  }

  /** Adopts the peer's frame size limit once known: a plugin learns the host's from Welcome. */
  setMaxMessageBytes(bytes: number): void {
    this.options.maxMessageBytes = bytes;
  }

  /** True while pushes and emits should wait: the transport is full or earlier messages wait to be written. */
  get isBlocked(): boolean {
    return this.writer.isBlocked || this.writer.backlog(MESSAGE_LANE) > 0;
  }

  /** Bytes of pushes, emits and logs queued behind a full transport. */
  get messageBacklogBytes(): number {
    return this.writer.backlogBytes(MESSAGE_LANE);
  }

  /** Runs `cb` once messages can be sent again (see isBlocked). */
  onDrain(cb: () => void): void {
    this.writer.whenRoom(MESSAGE_LANE, cb);
  }

  /**
   * Sends a frame that belongs to no call: control frames go ahead of all data; pushes, emits and
   * logs keep their order in the message lane. Returns false if the session should be given time.
   */
  send(frame: Frame): boolean {
    if (this.closedWith) return false;
    // Messages keep their order among themselves; everything else sent here is control.
    if (frame.push || frame.emit || 'log' in frame) this.writer.enqueue(MESSAGE_LANE, frame, messageSize(frame));
    else this.writer.sendControl(frame);
    return !this.isBlocked;
  }

  /** Calls a function on the peer and resolves with its decoded result. */
  call(fn: string, args?: unknown, opts: CallOptions = {}): Promise<unknown> {
    return this.outgoing.start(fn, args, opts, false, false);
  }

  /** Like call, with arguments already encoded; resolves with the undecoded result (for relaying). */
  callRaw(fn: string, args: WireParameter[], opts: CallOptions = {}): Promise<WireValue> {
    return this.outgoing.start(fn, args, opts, false, true) as Promise<WireValue>;
  }

  /** Calls a streaming function on the peer; unsubscribing cancels it there. */
  stream(fn: string, args?: unknown, opts: CallOptions = {}, raw = false): Observable<unknown> {
    return this.outgoing.stream(fn, args, opts, raw);
  }

  /**
   * Calls a streaming function on the peer and pulls its values: the peer sends only as many as
   * this side has asked for, so a slow consumer pauses the producer instead of filling memory.
   */
  iterate(fn: string, args?: unknown, opts: CallOptions = {}, raw = false): AsyncIterable<unknown> {
    return this.outgoing.iterate(fn, args, opts, raw);
  }

  /** Gives up a call: rejects it here and tells the peer to stop working on it. */
  cancel(id: number, reason: string): void {
    this.outgoing.cancel(id, reason);
  }

  /** Throws MessageTooLargeError when these values would make a frame over this side's limit. */
  checkSize(args: WireParameter[]): void {
    assertMessageSize(args, this.options.maxMessageBytes);
  }

  /** Resolves once every answer in progress is written and nothing is queued (or the channel closed). */
  async drained(): Promise<void> {
    if (!this.closedWith) await this.incoming.whenIdle();
    await this.writer.flushed();
  }

  /**
   * Ends the channel at once: every call in flight fails with `reason` (or what `errorFor` builds per
   * call), every incoming call's AbortSignal fires, and nothing more is written.
   */
  close(reason: Error, errorFor?: (fn: string, target: string) => Error): void {
    // After a graceful end() the writer may still be flushing: a close stops that too.
    this.writer.close();
    if (this.closedWith) return;
    this.closedWith = reason;
    this.shutDownCalls(reason, errorFor);
  }

  /**
   * Ends the session gracefully: calls fail as in close(), but what is already queued (answers
   * produced, chunks under way) is written before the stream ends.
   */
  end(reason: Error): Promise<void> {
    if (this.closedWith) return Promise.resolve();
    this.closedWith = reason;
    this.shutDownCalls(reason);
    return this.writer.end(END_FLUSH_MS);
  }

  /** The peer ended its side: write what is queued, then end ours; calls are left to close(). */
  endWrites(): Promise<void> {
    return this.writer.end(END_FLUSH_MS);
  }

  private shutDownCalls(reason: Error, errorFor?: (fn: string, target: string) => Error): void {
    this.outgoing.failAll(errorFor ?? (() => reason));
    this.incoming.abortAll();
    this.chunks.clear();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = 0;
  }

  private receive(frame: Frame): void {
    if (this.closedWith) return;
    switch (frame.kind) {
      case 'call':
        return this.incoming.handle(frame.call!);
      case 'result':
        return this.outgoing.result(frame.result!.id, frame.result!.value);
      case 'item':
        return this.outgoing.item(frame.item!.id, frame.item!.value);
      case 'end':
        return this.outgoing.end(frame.end!.id);
      case 'error': {
        const e = frame.error!;
        if (!e.id) return this.options.onFrame(frame);
        return this.outgoing.fail(e.id, errorFromWire(e.code, e.message, e.name ?? '', e.detailsJson ?? ''));
      }
      case 'cancel':
        return this.incoming.cancel(frame.cancel!.id);
      case 'credit':
        return this.incoming.credit(frame.credit!.id, frame.credit!.items);
      case 'ping':
        this.writer.sendControl({ pong: { seq: frame.ping!.seq } });
        return this.options.onFrame(frame);
      case 'chunk':
        return this.chunks.receive(frame.chunk!);
      default:
        return this.options.onFrame(frame);
    }
  }

  private protocolError(message: string): void {
    this.writer.sendControl({ error: { id: 0, ...errorToWire(new ProtocolError(message)) } });
  }

  /** Makes sure the deadline timer fires by `at`. */
  private watchDeadline(at: number): void {
    if (this.deadlineAt && this.deadlineAt <= at) return;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    // Node fires a timer over 2^31-1 ms at once: a peer's huge timeout must not make it spin.
    this.deadlineTimer = setTimeout(() => this.expireDeadlines(), Math.min(0x7fffffff, Math.max(1, at - Date.now())));
    // The session's stream keeps the process alive while calls are in flight; this timer must not.
    this.deadlineTimer.unref();
  }

  private expireDeadlines(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = 0;
    const now = Date.now();
    const a = this.outgoing.expire(now);
    const b = this.incoming.expire(now);
    const next = a && b ? Math.min(a, b) : a || b;
    if (next && !this.closedWith) this.watchDeadline(next);
  }
}

/** Size of a push or emit frame's payload, for the chunking decision. */
function messageSize(frame: Frame): number {
  const payload = frame.push?.payload ?? frame.emit?.payload;
  if (payload) return paramSize(payload);
  const log = frame.log;
  return log ? 32 + (log.message.length + (log.stack?.length ?? 0) + (log.context?.length ?? 0)) * 3 : 0;
}

/** Narrows unknown errors for callers that want a WwPluginError. */
export function isWwPluginError(err: unknown): err is WwPluginError {
  return err instanceof WwPluginError;
}
