import { defaultIfEmpty, from, isObservable, lastValueFrom, mergeMap, Observable, of, Subscription } from 'rxjs';
import {
  CallCancelledError,
  DeadlineExceededError,
  errorFromWire,
  errorToWire,
  MessageTooLargeError,
  ProtocolError,
  WwPluginError,
} from '../errors/wwplugin.errors.js';
import { DEADLINE_EXCEEDED, MESSAGE_TOO_LARGE } from '../wwplugin.messages.js';
import type { CallInfo } from './call-context.js';
import type { CallFrame, Frame } from './frames.js';
import { decodeValue, encodeArgs, encodeValue, type Parameter, type WireParameter } from './parameters.js';
import { frameCodec, type FrameCodec } from './proto-definition.js';

/** Frames that may be larger than this go in chunks, so small frames can pass between the pieces. */
export const CHUNK_OVER_BYTES = 256 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** Chunked frames a peer may have in progress at once; more is a misbehaving peer. */
const MAX_REASSEMBLIES = 16;

/** The part of a grpc-js duplex stream (client or server side) the channel uses. */
export interface FrameStream {
  write(frame: Frame, cb?: () => void): boolean;
  end(): void;
  on(event: 'data', cb: (frame: Frame) => void): unknown;
  on(event: 'drain', cb: () => void): unknown;
}

/** A result that is already in wire form: relayed as is, without decoding and encoding again. */
export class WireValue {
  constructor(readonly param: WireParameter | undefined) {}
}

/**
 * Cancellation of one call the peer made. Its AbortSignal is made only when someone reads it:
 * making one costs microseconds, more than the rest of a call's bookkeeping.
 */
export class IncomingCall {
  private controller?: AbortController;
  private reason?: Error;
  private listeners?: Array<(reason: Error) => void>;

  /** Fires when the caller cancels, the deadline passes or the session ends. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  /** Runs `cb` once when the call is aborted (at once if it was), without making a signal. */
  onAbort(cb: (reason: Error) => void): void {
    if (this.reason) cb(this.reason);
    else (this.listeners ??= []).push(cb);
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const cb of listeners) cb(reason);
  }
}

/** The CallInfo of an incoming call, for its handler's context: the signal is made when read. */
export class IncomingCallInfo implements CallInfo {
  constructor(
    readonly fn: string,
    readonly caller: string,
    readonly parameters: Parameter[],
    readonly plugin: CallInfo['plugin'],
    private readonly incoming: IncomingCall,
  ) {}

  get signal(): AbortSignal {
    return this.incoming.signal;
  }
}

/** Handles a call the peer made; returns a value, a Promise or an Observable. */
export type IncomingCallHandler = (call: CallFrame, incoming: IncomingCall) => unknown;

export interface CallOptions {
  /** Deadline in milliseconds; 0 or undefined means none. */
  timeoutMs?: number;
  /** Route through the host to another plugin (plugin side only). */
  target?: string;
  /** Aborting rejects the call with CallCancelledError and cancels it at the peer. */
  signal?: AbortSignal;
  /** The incoming call this one serves (a relay): cancelling that cancels this one, as `signal` would. */
  parent?: IncomingCall;
  /** Name of the plugin on whose behalf the host relays the call. */
  caller?: string;
}

export interface SessionChannelOptions {
  /** Who is on the other end, for error messages: a plugin's name, or 'host'. */
  peer: string;
  /** Largest frame this side sends; larger arguments or results fail with MessageTooLargeError. */
  maxMessageBytes: number;
  onCall: IncomingCallHandler;
  /** Frames that are not part of a call (hello, push, emit, ping, pong, shutdown...). */
  onFrame: (frame: Frame) => void;
}

interface Pending {
  fn: string;
  target: string;
  timeoutMs: number;
  /** Date.now() past which the call fails; 0 = none. */
  deadline: number;
  raw: boolean;
  resolve?: (value: unknown) => void;
  reject?: (err: Error) => void;
  next?: (value: unknown) => void;
  complete?: () => void;
  error?: (err: Error) => void;
  unlinkSignal?: () => void;
}

interface Incoming {
  abort: IncomingCall;
  fn: string;
  timeoutMs: number;
  /** Date.now() past which the handler is aborted; 0 = none. */
  deadline: number;
  sub?: Subscription;
}

/**
 * Calls in both directions over one session stream, matched by id. Shared by host and plugin:
 * each side owns one channel per session and only adds what it does with incoming calls.
 */
export class SessionChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly incoming = new Map<number, Incoming>();
  // One timer per channel for every deadline, armed for the earliest: a timer per call costs
  // more than the rest of a call's bookkeeping, and almost every call ends long before its deadline.
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineAt = 0;
  private closedWith?: Error;
  private blocked = false;
  // Chunks of large frames waiting to be written, one at a time (see sendSized).
  private readonly bulk: Frame[] = [];
  private bulkWriting = false;
  private nextChunkId = 1;
  private readonly reassembly = new Map<number, { parts: Buffer[]; bytes: number }>();
  private codec?: FrameCodec;
  private readonly drainWaiters: Array<() => void> = [];

  /** Name of the peer in messages; the host learns a plugin's name only from its Hello. */
  peer: string;

  constructor(
    private readonly frames: FrameStream,
    private readonly options: SessionChannelOptions,
  ) {
    this.peer = options.peer;
    frames.on('data', (frame) => this.receive(frame));
    frames.on('drain', () => {
      this.blocked = false;
      for (const cb of this.drainWaiters.splice(0)) cb();
    });
  }

  /** Calls in flight from this side. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Calls from the peer being handled here. */
  get handling(): number {
    return this.incoming.size;
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Adopts the peer's frame size limit once known: a plugin learns the host's from Welcome. */
  setMaxMessageBytes(bytes: number): void {
    this.options.maxMessageBytes = bytes;
  }

  /** True while the stream's buffer is full: buffered senders should wait for `onDrain`. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Runs `cb` once the stream can take more frames. */
  onDrain(cb: () => void): void {
    if (!this.blocked) cb();
    else this.drainWaiters.push(cb);
  }

  /** Writes a frame now. Returns false if the stream's buffer is now full. */
  send(frame: Frame): boolean {
    if (this.closedWith) return false;
    const ok = this.frames.write(frame);
    if (!ok) this.blocked = true;
    return ok;
  }

  /**
   * Sends a frame that may be large. Over CHUNK_OVER_BYTES it is encoded and sent as Chunk frames,
   * written one at a time: the next piece goes only when gRPC has taken the previous one, so a
   * frame sent meanwhile waits behind at most one piece instead of the whole message.
   */
  private sendSized(frame: Frame, upper: number): void {
    if (upper <= CHUNK_OVER_BYTES || this.closedWith) {
      this.send(frame);
      return;
    }
    const bytes = (this.codec ??= frameCodec()).encode(frame);
    const id = this.nextChunkId;
    this.nextChunkId = id >= 0xfffffffe ? 1 : id + 1;
    for (let offset = 0; offset < bytes.length; offset += CHUNK_BYTES) {
      const end = Math.min(bytes.length, offset + CHUNK_BYTES);
      this.bulk.push({ chunk: { id, data: bytes.subarray(offset, end), last: end === bytes.length } });
    }
    this.writeNextChunk();
  }

  private writeNextChunk(): void {
    if (this.bulkWriting || this.closedWith) return;
    const next = this.bulk.shift();
    if (!next) return;
    this.bulkWriting = true;
    const ok = this.frames.write(next, () => {
      this.bulkWriting = false;
      this.writeNextChunk();
    });
    if (!ok) this.blocked = true;
  }

  /** Collects the pieces of a chunked frame; the whole frame is handled as if it came at once. */
  private receiveChunk(chunk: { id: number; data?: Uint8Array; last?: boolean }): void {
    let entry = this.reassembly.get(chunk.id);
    if (!entry) {
      if (this.reassembly.size >= MAX_REASSEMBLIES) return this.rejectChunk(chunk.id, 'too many chunked frames in progress');
      entry = { parts: [], bytes: 0 };
      this.reassembly.set(chunk.id, entry);
    }
    const data = chunk.data ?? new Uint8Array(0);
    entry.bytes += data.byteLength;
    // The receive limit of gRPC no longer applies to the whole frame: apply ours.
    if (entry.bytes > this.options.maxMessageBytes + 65_536) return this.rejectChunk(chunk.id, 'chunked frame over the message size limit');
    entry.parts.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (!chunk.last) return;
    this.reassembly.delete(chunk.id);
    let frame: Frame;
    try {
      frame = (this.codec ??= frameCodec()).decode(Buffer.concat(entry.parts, entry.bytes)) as Frame;
    } catch (err) {
      return this.rejectChunk(chunk.id, `undecodable chunked frame (${(err as Error).message})`);
    }
    if (frame.kind === 'chunk') return this.rejectChunk(chunk.id, 'a chunked frame may not hold another chunk');
    this.receive(frame);
  }

  private rejectChunk(id: number, why: string): void {
    this.reassembly.delete(id);
    this.send({ error: { id: 0, ...errorToWire(new ProtocolError(`Chunk ${id}: ${why}.`)) } });
  }

  /** Calls a function on the peer and resolves with its decoded result. */
  call(fn: string, args?: unknown, opts: CallOptions = {}): Promise<unknown> {
    return this.start(fn, args, opts, false, false);
  }

  /** Like call, with arguments already encoded; resolves with the undecoded result (for relaying). */
  callRaw(fn: string, args: WireParameter[], opts: CallOptions = {}): Promise<WireValue> {
    return this.start(fn, args, opts, false, true) as Promise<WireValue>;
  }

  /** Calls a streaming function on the peer; unsubscribing cancels it there. */
  stream(fn: string, args?: unknown, opts: CallOptions = {}, raw = false): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      let id = 0;
      const p = this.start(fn, args, opts, true, raw, {
        next: (v) => subscriber.next(v),
        complete: () => subscriber.complete(),
        error: (e) => subscriber.error(e),
        onId: (callId) => (id = callId),
      });
      p.catch((e) => subscriber.error(e));
      return () => {
        if (id && this.pending.has(id)) this.cancel(id, 'unsubscribed');
      };
    });
  }

  private start(
    fn: string,
    args: unknown,
    opts: CallOptions,
    stream: boolean,
    raw: boolean,
    sink?: { next(v: unknown): void; complete(): void; error(e: Error): void; onId(id: number): void },
  ): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (opts.signal?.aborted || opts.parent?.aborted) return Promise.reject(new CallCancelledError(`Call to ${fn} was aborted before it started.`));
    let wireArgs: WireParameter[];
    let upper: number;
    try {
      wireArgs = raw && Array.isArray(args) ? (args as WireParameter[]) : encodeArgs(args);
      upper = upperBound(wireArgs);
      if (upper > this.options.maxMessageBytes) this.checkSize(wireArgs);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.allocateId();
    const timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? Math.min(Math.floor(opts.timeoutMs), 0x7fffffff) : 0;
    const target = opts.target ?? '';
    return new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { fn, target, timeoutMs, deadline: timeoutMs ? Date.now() + timeoutMs : 0, raw, resolve, reject };
      if (sink) {
        pending.next = sink.next;
        pending.complete = () => {
          sink.complete();
          resolve(undefined);
        };
        pending.error = (e) => {
          sink.error(e);
          resolve(undefined);
        };
        sink.onId(id);
      }
      if (pending.deadline) this.watchDeadline(pending.deadline);
      if (opts.signal) {
        const onAbort = () => {
          this.fail(id, new CallCancelledError(`Call to ${fn} was aborted.`));
          this.sendCancel(id, 'aborted');
        };
        opts.signal.addEventListener('abort', onAbort, { once: true });
        pending.unlinkSignal = () => opts.signal!.removeEventListener('abort', onAbort);
      }
      opts.parent?.onAbort(() => {
        if (this.pending.get(id) !== pending) return; // settled long ago: nothing to cancel
        this.fail(id, new CallCancelledError(`Call to ${fn} was aborted.`));
        this.sendCancel(id, 'aborted');
      });
      this.pending.set(id, pending);
      this.sendSized({ call: { id, function: fn, args: wireArgs, timeoutMs, target, stream, caller: opts.caller ?? '' } }, upper);
    });
  }

  /** Gives up a call: rejects it here and tells the peer to stop working on it. */
  cancel(id: number, reason: string): void {
    this.fail(id, new CallCancelledError(`Call ${id} was cancelled: ${reason}.`));
    this.sendCancel(id, reason);
  }

  private sendCancel(id: number, reason: string): void {
    this.send({ cancel: { id, reason } });
  }

  /**
   * Ends the channel: every call in flight fails with `reason` (or what `errorFor` builds per call),
   * every incoming call's AbortSignal fires.
   */
  close(reason: Error, errorFor?: (fn: string, target: string) => Error): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    for (const id of [...this.pending.keys()]) {
      const p = this.pending.get(id)!;
      this.fail(id, errorFor ? errorFor(p.fn, p.target) : reason);
    }
    for (const [id, inc] of this.incoming) this.abortIncoming(id, inc);
    for (const cb of this.drainWaiters.splice(0)) cb();
    this.bulk.length = 0;
    this.reassembly.clear();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = 0;
  }

  /** Ends the underlying stream after closing the channel. */
  end(reason: Error): void {
    this.close(reason);
    try {
      this.frames.end();
    } catch {
      // already ended
    }
  }

  private allocateId(): number {
    let id = this.nextId;
    while (this.pending.has(id)) id = id >= 0xfffffffe ? 1 : id + 1;
    this.nextId = id >= 0xfffffffe ? 1 : id + 1;
    return id;
  }

  /** Throws MessageTooLargeError when these values would make a frame over this side's limit. */
  checkSize(args: WireParameter[]): void {
    assertMessageSize(args, this.options.maxMessageBytes);
  }

  private receive(frame: Frame): void {
    switch (frame.kind) {
      case 'call':
        return this.handleCall(frame.call!);
      case 'result':
        return this.settle(frame.result!.id, frame.result!.value);
      case 'item':
        return this.item(frame.item!.id, frame.item!.value);
      case 'end':
        return this.settle(frame.end!.id, undefined, true);
      case 'error': {
        const e = frame.error!;
        return this.fail(e.id, errorFromWire(e.code, e.message, e.name ?? '', e.detailsJson ?? ''));
      }
      case 'cancel': {
        const inc = this.incoming.get(frame.cancel!.id);
        if (inc) this.abortIncoming(frame.cancel!.id, inc);
        return;
      }
      case 'ping':
        this.send({ pong: { seq: frame.ping!.seq } });
        return this.options.onFrame(frame);
      case 'chunk':
        return this.receiveChunk(frame.chunk!);
      default:
        return this.options.onFrame(frame);
    }
  }

  private settle(id: number, value: WireParameter | undefined, streamEnd = false): void {
    const p = this.pending.get(id);
    if (!p) return; // late answer to a call that timed out or was cancelled
    this.release(id, p);
    if (p.complete) return p.complete();
    if (streamEnd) return p.resolve!(null);
    try {
      p.resolve!(p.raw ? new WireValue(value) : decodeValue(value));
    } catch (err) {
      p.reject!(new ProtocolError(`Undecodable result from ${this.peer}: ${(err as Error).message}`));
    }
  }

  private item(id: number, value: WireParameter | undefined): void {
    const p = this.pending.get(id);
    if (!p?.next) return;
    let decoded: unknown;
    try {
      decoded = p.raw ? new WireValue(value) : decodeValue(value);
    } catch (err) {
      // A bad item must fail this stream, never escape into the transport's data handler.
      this.fail(id, new ProtocolError(`Undecodable stream item from ${this.peer}: ${(err as Error).message}`));
      this.sendCancel(id, 'undecodable stream item');
      return;
    }
    p.next(decoded);
  }

  private fail(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.release(id, p);
    if (p.error) p.error(err);
    else p.reject!(err);
  }

  private release(id: number, p: Pending): void {
    this.pending.delete(id);
    p.unlinkSignal?.();
  }

  /** Makes sure the deadline timer fires by `at`. */
  private watchDeadline(at: number): void {
    if (this.deadlineAt && this.deadlineAt <= at) return;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(() => this.expireDeadlines(), Math.max(1, at - Date.now()));
    // The session's stream keeps the process alive while calls are in flight; this timer must not.
    this.deadlineTimer.unref();
  }

  /** Fails outgoing calls and aborts incoming ones whose deadline passed; re-arms for the next. */
  private expireDeadlines(): void {
    this.deadlineTimer = undefined;
    this.deadlineAt = 0;
    const now = Date.now();
    let next = 0;
    for (const [id, p] of this.pending) {
      if (!p.deadline) continue;
      if (p.deadline > now) {
        if (!next || p.deadline < next) next = p.deadline;
        continue;
      }
      this.fail(id, new DeadlineExceededError(DEADLINE_EXCEEDED(p.target || this.peer, p.fn, p.timeoutMs), { timeoutMs: p.timeoutMs }));
      this.sendCancel(id, 'deadline exceeded');
    }
    for (const [id, inc] of this.incoming) {
      if (!inc.deadline) continue;
      if (inc.deadline > now) {
        if (!next || inc.deadline < next) next = inc.deadline;
        continue;
      }
      this.incoming.delete(id);
      inc.sub?.unsubscribe();
      inc.abort.abort(new DeadlineExceededError(DEADLINE_EXCEEDED(this.peer, inc.fn, inc.timeoutMs)));
    }
    if (next && !this.closedWith) this.watchDeadline(next);
  }

  private abortIncoming(id: number, inc: Incoming): void {
    this.incoming.delete(id);
    inc.sub?.unsubscribe();
    inc.abort.abort(new CallCancelledError('The caller cancelled the call.'));
  }

  private handleCall(call: CallFrame): void {
    const { id } = call;
    if (!id) {
      this.send({ error: { id: 0, ...errorToWire(new ProtocolError('A call frame must carry a non-zero id.')) } });
      return;
    }
    const timeoutMs = call.timeoutMs ?? 0;
    const inc: Incoming = { abort: new IncomingCall(), fn: call.function, timeoutMs, deadline: timeoutMs ? Date.now() + timeoutMs : 0 };
    this.incoming.set(id, inc);
    if (inc.deadline) this.watchDeadline(inc.deadline);
    let out: unknown;
    try {
      out = this.options.onCall(call, inc.abort);
    } catch (err) {
      return this.replyError(id, err);
    }
    if (call.stream) {
      // Nest handlers resolve to an Observable: flatten it so every value becomes a StreamItem.
      const source = isObservable(out) ? out : from(Promise.resolve(out)).pipe(mergeMap((v) => (isObservable(v) ? v : of(v))));
      inc.sub = source.subscribe({
        next: (v) => {
          if (!this.incoming.has(id)) return;
          const value = this.encodeResult(id, v);
          if (value) this.sendSized({ item: { id, value } }, paramUpperBound(value));
        },
        error: (err) => this.replyError(id, err),
        complete: () => {
          if (this.finish(id)) this.send({ end: { id } });
        },
      });
      return;
    }
    const promise = isObservable(out) ? lastValueFrom(out.pipe(defaultIfEmpty(null))) : out;
    if (promise && typeof (promise as Promise<unknown>).then === 'function') {
      (promise as Promise<unknown>).then(
        (v) => this.replyValue(id, v),
        (err) => this.replyError(id, err),
      );
    } else {
      this.replyValue(id, promise);
    }
  }

  private replyValue(id: number, v: unknown): void {
    if (!this.incoming.has(id)) return;
    if (isObservable(v)) {
      // A handler that returned Promise<Observable> (Nest does this): answer with its last value.
      lastValueFrom(v.pipe(defaultIfEmpty(null))).then(
        (x) => this.replyValue(id, x),
        (err) => this.replyError(id, err),
      );
      return;
    }
    const value = this.encodeResult(id, v);
    if (value && this.finish(id)) {
      this.sendSized({ result: { id, value } }, paramUpperBound(value));
    }
  }

  private encodeResult(id: number, v: unknown): WireParameter | undefined {
    try {
      const value = v instanceof WireValue ? (v.param ?? { name: 'result' }) : encodeValue('result', v);
      const size = paramUpperBound(value);
      if (size > this.options.maxMessageBytes) {
        const exact = paramExactSize(value);
        if (exact > this.options.maxMessageBytes) throw new MessageTooLargeError(MESSAGE_TOO_LARGE(exact, this.options.maxMessageBytes));
      }
      return value;
    } catch (err) {
      this.replyError(id, err);
      return undefined;
    }
  }

  private replyError(id: number, err: unknown): void {
    if (!this.finish(id)) return;
    this.send({ error: { id, ...errorToWire(err) } });
  }

  /** Marks an incoming call done; false if it was already cancelled or answered. */
  private finish(id: number): boolean {
    const inc = this.incoming.get(id);
    if (!inc) return false;
    this.incoming.delete(id);
    return true;
  }
}

/** Throws MessageTooLargeError when `values` would make a frame over `max` bytes. */
export function assertMessageSize(values: WireParameter[], max: number): void {
  let upper = 0;
  for (const v of values) upper += paramUpperBound(v);
  if (upper <= max) return;
  let exact = 0;
  for (const v of values) exact += paramExactSize(v);
  if (exact > max) throw new MessageTooLargeError(MESSAGE_TOO_LARGE(exact, max));
}

function upperBound(values: WireParameter[]): number {
  let n = 0;
  for (const v of values) n += paramUpperBound(v);
  return n;
}

// An upper bound on a parameter's encoded size that costs nothing to compute (UTF-16 unit <= 3 bytes).
function paramUpperBound(p: WireParameter): number {
  let n = 16 + p.name.length * 3;
  if (p.stringValue) n += p.stringValue.length * 3;
  if (p.jsonValue) n += p.jsonValue.length * 3;
  if (p.bytesValue) n += p.bytesValue.byteLength;
  return n;
}

function paramExactSize(p: WireParameter): number {
  let n = 16 + Buffer.byteLength(p.name);
  if (p.stringValue) n += Buffer.byteLength(p.stringValue);
  if (p.jsonValue) n += Buffer.byteLength(p.jsonValue);
  if (p.bytesValue) n += p.bytesValue.byteLength;
  return n;
}

/** Narrows unknown errors for callers that want a WwPluginError. */
export function isWwPluginError(err: unknown): err is WwPluginError {
  return err instanceof WwPluginError;
}
