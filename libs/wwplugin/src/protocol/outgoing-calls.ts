import { Observable } from 'rxjs';
import { CallCancelledError, DeadlineExceededError, ProtocolError, StreamOverflowError } from '../errors/wwplugin.errors.js';
import { DEADLINE_EXCEEDED, MESSAGE_TOO_LARGE, STREAM_IGNORED_CREDIT } from '../wwplugin.messages.js';
import { MessageTooLargeError } from '../errors/wwplugin.errors.js';
import type { FrameWriter } from './frame-writer.js';
import type { CallFrame } from './frames.js';
import { sizeOver } from './frame-size.js';
import { decodeValue, encodeArgs, type WireParameter } from './parameters.js';
import type { IncomingCall } from './incoming-call.js';

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
  /** W3C trace context to send in the Call frame (set by tracing). */
  trace?: TraceFields;
  /**
   * Runs once when the call settles, however it does (before its Promise settles): the host gives
   * its slot back here, without a second Promise chained to every call.
   */
  settled?: () => void;
}

/** W3C trace context as it travels in Call, Push and Emit frames. */
export interface TraceFields {
  traceparent?: string;
  tracestate?: string;
}

/** A result that is already in wire form: relayed as is, without decoding and encoding again. */
export class WireValue {
  constructor(readonly param: WireParameter | undefined) {}
}

interface StreamSink {
  next(v: unknown): void;
  complete(): void;
  error(e: Error): void;
}

interface Pending {
  fn: string;
  target: string;
  timeoutMs: number;
  /** Date.now() past which the call fails; 0 = none. */
  deadline: number;
  raw: boolean;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  sink?: StreamSink;
  /** Items consumed since credit was last granted; granted on delivery unless `pulled`. */
  consumed: number;
  pulled: boolean;
  unlinkSignal?: () => void;
  settled?: () => void;
}

export interface OutgoingCallsContext {
  writer: FrameWriter;
  peer: () => string;
  maxMessageBytes: () => number;
  /** Makes sure expire() runs by `at`. */
  watchDeadline: (at: number) => void;
  closedWith: () => Error | undefined;
}

/**
 * Items of a stream this side lets be on their way at once (Call.credit); more are granted as
 * they are consumed, half a window at a time.
 */
export const STREAM_WINDOW = 64;

/** Lane of this side's call `id` in the writer: negative, apart from the answers to the peer's calls. */
const lane = (id: number) => -id;

/**
 * The calls this side made and is waiting for: ids, deadlines, cancellation, and the matching of
 * results, items, ends and errors to them. Every call settles exactly once.
 */
export class OutgoingCalls {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Waiting for the moment no call is in flight (whenIdle); undefined while nobody waits. */
  private idlers?: Array<() => void>;

  constructor(private readonly ctx: OutgoingCallsContext) {}

  get size(): number {
    return this.pending.size;
  }

  /** Runs `cb` once no call from this side is in flight: at once when none is. */
  whenIdle(cb: () => void): void {
    if (!this.pending.size) return cb();
    (this.idlers ??= []).push(cb);
  }

  has(id: number): boolean {
    return this.pending.has(id);
  }

  /** Sends a call; resolves with its result (a stream: once it ended, with items going to `sink`). */
  start(
    fn: string,
    args: unknown,
    opts: CallOptions,
    stream: boolean,
    raw: boolean,
    sink?: StreamSink,
    onId?: (id: number) => void,
    pulled = false,
  ): Promise<unknown> {
    const closed = this.ctx.closedWith();
    if (closed) return this.refuse(opts, closed);
    if (opts.signal?.aborted || opts.parent?.aborted) return this.refuse(opts, new CallCancelledError(`Call to ${fn} was aborted before it started.`));
    let wireArgs: WireParameter[];
    let size: number;
    try {
      wireArgs = raw && Array.isArray(args) ? (args as WireParameter[]) : encodeArgs(args);
      const max = this.ctx.maxMessageBytes();
      size = sizeOver(wireArgs, Math.min(max, 64 * 1024));
      if (size > max) throw new MessageTooLargeError(MESSAGE_TOO_LARGE(size, max));
    } catch (err) {
      return this.refuse(opts, err);
    }
    const id = this.allocateId();
    onId?.(id);
    const timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? Math.min(Math.floor(opts.timeoutMs), 0x7fffffff) : 0;
    const target = opts.target ?? '';
    return new Promise<unknown>((resolve, reject) => {
      const deadline = timeoutMs ? Date.now() + timeoutMs : 0;
      const pending: Pending = { fn, target, timeoutMs, deadline, raw, resolve, reject, sink, consumed: 0, pulled, settled: opts.settled };
      if (pending.deadline) this.ctx.watchDeadline(pending.deadline);
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = () => this.cancel(id, 'aborted', new CallCancelledError(`Call to ${fn} was aborted.`));
        signal.addEventListener('abort', onAbort, { once: true });
        pending.unlinkSignal = () => signal.removeEventListener('abort', onAbort);
      }
      opts.parent?.onAbort(() => {
        if (this.pending.get(id) !== pending) return; // settled long ago: nothing to cancel
        this.cancel(id, 'aborted', new CallCancelledError(`Call to ${fn} was aborted.`));
      });
      this.pending.set(id, pending);
      const credit = stream ? STREAM_WINDOW : 0;
      const call: CallFrame = { id, function: fn, args: wireArgs, timeoutMs, target, stream, caller: opts.caller ?? '', credit };
      if (opts.trace) {
        call.traceparent = opts.trace.traceparent ?? '';
        call.tracestate = opts.trace.tracestate ?? '';
      }
      this.ctx.writer.enqueue(lane(id), { call }, size);
    });
  }

  /** A streaming call as an Observable: unsubscribing cancels it at the peer. */
  stream(fn: string, args: unknown, opts: CallOptions, raw: boolean): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      let id = 0;
      const p = this.start(fn, args, opts, true, raw, subscriber, (callId) => (id = callId));
      p.catch((e: Error) => subscriber.error(e));
      return () => {
        if (id && this.pending.has(id)) this.cancel(id, 'unsubscribed');
      };
    });
  }

  /**
   * A streaming call as an async iterable: the peer is granted credit only as values are taken,
   * so at most STREAM_WINDOW values wait here. Leaving the loop early cancels the call.
   */
  iterate(fn: string, args: unknown, opts: CallOptions, raw: boolean): AsyncIterable<unknown> {
    return { [Symbol.asyncIterator]: () => this.iterator(fn, args, opts, raw) };
  }

  private iterator(fn: string, args: unknown, opts: CallOptions, raw: boolean): AsyncIterator<unknown> {
    const queue: unknown[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let id = 0;
    let started = false;
    const sink: StreamSink = {
      next: (v) => {
        queue.push(v);
        // A callee that ignores credit must not fill this queue: the stream fails loudly instead.
        if (queue.length > 2 * STREAM_WINDOW && id) {
          this.cancel(id, 'credit ignored', new StreamOverflowError(STREAM_IGNORED_CREDIT(this.ctx.peer(), fn, STREAM_WINDOW)));
        }
        wake?.();
      },
      complete: () => {
        done = true;
        wake?.();
      },
      error: (e) => {
        failure ??= e;
        done = true;
        wake?.();
      },
    };
    return {
      next: async () => {
        if (!started) {
          started = true;
          this.start(fn, args, opts, true, raw, sink, (callId) => (id = callId), true).catch((e: Error) => sink.error(e));
        }
        while (!queue.length && !done) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (queue.length) {
          const value = queue.shift();
          this.consumed(id);
          return { value, done: false };
        }
        if (failure) throw failure;
        return { value: undefined, done: true };
      },
      return: async () => {
        done = true;
        if (id && this.pending.has(id)) this.cancel(id, 'iteration stopped');
        wake?.();
        return { value: undefined, done: true };
      },
    };
  }

  /** One value of stream `id` was taken: every half window, the peer may send that many more. */
  private consumed(id: number): void {
    const p = this.pending.get(id);
    if (!p || ++p.consumed < STREAM_WINDOW / 2) return;
    this.ctx.writer.sendControl({ credit: { id, items: p.consumed } });
    p.consumed = 0;
  }

  /** Gives up a call: it fails here with `err`, and the peer is told to stop working on it. */
  cancel(id: number, reason: string, err: Error = new CallCancelledError(`Call ${id} was cancelled: ${reason}.`)): void {
    if (!this.pending.has(id)) return;
    this.fail(id, err);
    const writer = this.ctx.writer;
    // A call the peer has not seen yet is simply not sent; one it has seen part of is finished
    // first, so the cancel arrives after it.
    if (writer.backlog(lane(id)) > 0) {
      writer.dropLane(lane(id));
      if (writer.backlog(lane(id)) > 0) writer.enqueue(lane(id), { cancel: { id, reason } }, 0);
      return;
    }
    writer.sendControl({ cancel: { id, reason } });
  }

  result(id: number, value: WireParameter | undefined): void {
    const p = this.take(id);
    if (!p) return; // late answer to a call that timed out or was cancelled
    if (p.sink) return this.endStream(p);
    try {
      p.resolve(p.raw ? new WireValue(value) : decodeValue(value));
    } catch (err) {
      p.reject(new ProtocolError(`Undecodable result from ${this.ctx.peer()}: ${(err as Error).message}`));
    }
  }

  item(id: number, value: WireParameter | undefined): void {
    const p = this.pending.get(id);
    if (!p?.sink) return;
    let decoded: unknown;
    try {
      decoded = p.raw ? new WireValue(value) : decodeValue(value);
    } catch (err) {
      // A bad item must fail this stream, never escape into the transport's data handler.
      return this.cancel(id, 'undecodable stream item', new ProtocolError(`Undecodable stream item from ${this.ctx.peer()}: ${(err as Error).message}`));
    }
    p.sink.next(decoded);
    // Delivered to an Observable subscriber: taken at once (a slow subscriber holds the event loop).
    if (!p.pulled) this.consumed(id);
  }

  end(id: number): void {
    const p = this.take(id);
    if (!p) return;
    if (p.sink) return this.endStream(p);
    p.resolve(p.raw ? new WireValue(undefined) : null);
  }

  fail(id: number, err: Error): void {
    const p = this.take(id);
    if (!p) return;
    if (p.sink) {
      p.sink.error(err);
      p.resolve(undefined);
    } else p.reject(err);
  }

  /** Fails every call in flight (the session ended); calls not yet sent are not sent. */
  failAll(errorFor: (fn: string, target: string) => Error): void {
    for (const [id, p] of [...this.pending]) {
      this.fail(id, errorFor(p.fn, p.target));
      this.ctx.writer.dropLane(lane(id));
    }
  }

  /** Fails the calls whose deadline passed; returns the next deadline, or 0. */
  expire(now: number): number {
    let next = 0;
    for (const [id, p] of this.pending) {
      if (!p.deadline) continue;
      if (p.deadline > now) {
        if (!next || p.deadline < next) next = p.deadline;
        continue;
      }
      const err = new DeadlineExceededError(DEADLINE_EXCEEDED(p.target || this.ctx.peer(), p.fn, p.timeoutMs), { timeoutMs: p.timeoutMs });
      this.cancel(id, 'deadline exceeded', err);
    }
    return next;
  }

  private endStream(p: Pending): void {
    p.sink!.complete();
    p.resolve(undefined);
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.unlinkSignal?.();
    p.settled?.();
    if (this.idlers && !this.pending.size) {
      const idlers = this.idlers;
      this.idlers = undefined;
      for (const cb of idlers) cb();
    }
    return p;
  }

  /** A call that fails before it is sent. */
  private refuse(opts: CallOptions, err: unknown): Promise<never> {
    opts.settled?.();
    return Promise.reject(err);
  }

  private allocateId(): number {
    let id = this.nextId;
    while (this.pending.has(id)) id = id >= 0xfffffffe ? 1 : id + 1;
    this.nextId = id >= 0xfffffffe ? 1 : id + 1;
    return id;
  }
}
