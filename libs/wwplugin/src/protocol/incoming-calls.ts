import { isObservable, type Subscription } from 'rxjs';
import { CallCancelledError, DeadlineExceededError, errorToWire, MessageTooLargeError, ProtocolError, StreamOverflowError } from '../errors/wwplugin.errors.js';
import { DEADLINE_EXCEEDED, MESSAGE_TOO_LARGE, STREAM_OVERFLOW } from '../wwplugin.messages.js';
import type { FrameWriter } from './frame-writer.js';
import { paramSize } from './frame-size.js';
import type { CallFrame } from './frames.js';
import { IncomingCall } from './incoming-call.js';
import { WireValue } from './outgoing-calls.js';
import { encodeValue } from './parameters.js';
import { StreamProducer, type EncodedValue, type StreamBufferOptions, type StreamOutlet } from './stream-producer.js';

/** Handles a call the peer made; returns a value, a Promise, an Observable or an async iterable. */
export type IncomingCallHandler = (call: CallFrame, incoming: IncomingCall) => unknown;

export interface IncomingCallsContext {
  writer: FrameWriter;
  peer: () => string;
  maxMessageBytes: () => number;
  watchDeadline: (at: number) => void;
  onCall: IncomingCallHandler;
  streamBuffer: StreamBufferOptions;
}

interface Incoming {
  abort: IncomingCall;
  fn: string;
  timeoutMs: number;
  /** Date.now() past which the handler is aborted; 0 = none. */
  deadline: number;
  producer?: StreamProducer;
  /** A one-value call answered by an Observable: unsubscribed when the call is given up. */
  sub?: Subscription;
}

/**
 * The calls the peer made that this side is serving: runs their handlers and writes each answer
 * (result, items then end, or error) into the call's own lane, so they leave in the order produced.
 * Every call is answered at most once; nothing is written for a call the caller gave up.
 */
export class IncomingCalls {
  private readonly incoming = new Map<number, Incoming>();
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly ctx: IncomingCallsContext) {}

  get size(): number {
    return this.incoming.size;
  }

  /** Resolves once no call is being served. */
  whenIdle(): Promise<void> {
    if (!this.incoming.size) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  handle(call: CallFrame): void {
    const { id } = call;
    if (!id || this.incoming.has(id)) {
      const why = id ? `Call id ${id} is already in flight.` : 'A call frame must carry a non-zero id.';
      this.ctx.writer.sendControl({ error: { id: 0, ...errorToWire(new ProtocolError(why)) } });
      return;
    }
    // A new call under an id whose old answer may still be queued: that answer is not for it.
    this.ctx.writer.dropLane(id);
    const timeoutMs = call.timeoutMs ?? 0;
    const inc: Incoming = { abort: new IncomingCall(), fn: call.function, timeoutMs, deadline: timeoutMs ? Date.now() + timeoutMs : 0 };
    this.incoming.set(id, inc);
    if (inc.deadline) this.ctx.watchDeadline(inc.deadline);
    let out: unknown;
    try {
      out = this.ctx.onCall(call, inc.abort);
    } catch (err) {
      return this.replyError(id, inc, err);
    }
    if (call.stream) {
      inc.producer = new StreamProducer(this.outlet(id, inc), this.ctx.streamBuffer, call.credit ?? 0);
      return inc.producer.start(out);
    }
    this.answer(id, inc, out);
  }

  /** The caller accepts more items of a stream. */
  credit(id: number, items: number): void {
    this.incoming.get(id)?.producer?.grant(items);
  }

  /**
   * The caller cancelled: the handler is aborted and nothing more is sent for the call, including
   * an answer already produced and still queued.
   */
  cancel(id: number): void {
    const inc = this.incoming.get(id);
    if (inc) this.abort(id, inc, new CallCancelledError('The caller cancelled the call.'));
    else this.ctx.writer.dropLane(id);
  }

  /** The session ended: every handler's signal fires. */
  abortAll(): void {
    for (const [id, inc] of [...this.incoming]) this.abort(id, inc, new CallCancelledError('The caller cancelled the call.'));
  }

  /** Aborts the handlers whose deadline passed; returns the next deadline, or 0. */
  expire(now: number): number {
    let next = 0;
    for (const [id, inc] of this.incoming) {
      if (!inc.deadline) continue;
      if (inc.deadline > now) {
        if (!next || inc.deadline < next) next = inc.deadline;
        continue;
      }
      this.abort(id, inc, new DeadlineExceededError(DEADLINE_EXCEEDED(this.ctx.peer(), inc.fn, inc.timeoutMs)));
    }
    return next;
  }

  private abort(id: number, inc: Incoming, reason: Error): void {
    this.forget(id);
    inc.producer?.stop();
    inc.sub?.unsubscribe();
    this.ctx.writer.dropLane(id);
    inc.abort.abort(reason);
  }

  /** A one-value answer; a handler's Observable (Nest returns them) answers with its last value. */
  private answer(id: number, inc: Incoming, out: unknown): void {
    if (isObservable(out)) {
      let last: unknown = null;
      inc.sub = out.subscribe({
        next: (v) => (last = v),
        error: (err) => this.replyError(id, inc, err),
        complete: () => this.reply(id, inc, last),
      });
      return;
    }
    if (out && typeof (out as PromiseLike<unknown>).then === 'function') {
      (out as PromiseLike<unknown>).then(
        (v) => this.answer(id, inc, v),
        (err) => this.replyError(id, inc, err),
      );
      return;
    }
    this.reply(id, inc, out);
  }

  private reply(id: number, inc: Incoming, v: unknown): void {
    if (this.incoming.get(id) !== inc) return; // given up, or the id now names another call
    const encoded = this.encode(id, inc, v);
    if (encoded && this.finish(id, inc)) this.ctx.writer.enqueue(id, { result: { id, value: encoded.value } }, encoded.size);
  }

  private replyError(id: number, inc: Incoming, err: unknown): void {
    if (!this.finish(id, inc)) return;
    const wire = boundedError(err);
    // In the call's lane, behind its items: an error never overtakes what came before it.
    this.ctx.writer.enqueue(id, { error: { id, ...wire } }, 64 + wire.message.length * 3 + wire.detailsJson.length * 3);
  }

  private outlet(id: number, inc: Incoming): StreamOutlet {
    const writer = this.ctx.writer;
    return {
      encode: (v) => (this.incoming.get(id) === inc ? this.encode(id, inc, v) : undefined),
      send: (encoded) => {
        if (this.incoming.get(id) !== inc) return false;
        writer.enqueue(id, { item: { id, value: encoded.value } }, encoded.size);
        return true;
      },
      end: () => {
        if (this.finish(id, inc)) writer.enqueue(id, { end: { id } }, 0);
      },
      error: (err) => this.replyError(id, inc, err),
      backlog: () => ({ items: writer.backlog(id), bytes: writer.backlogBytes(id) }),
      room: () => new Promise<void>((resolve) => writer.whenRoom(id, resolve)),
      overflow: () => {
        if (this.incoming.get(id) !== inc) return;
        const { items, bytes } = this.ctx.streamBuffer;
        // What waits unsent is dropped: the caller gets the error now, not after the backlog.
        writer.dropLane(id);
        this.replyError(id, inc, new StreamOverflowError(STREAM_OVERFLOW(this.ctx.peer(), inc.fn, items, bytes), { items, bytes }));
      },
    };
  }

  /** The value in wire form with its size; over the size limit the call is answered with the error. */
  private encode(id: number, inc: Incoming, v: unknown): EncodedValue | undefined {
    try {
      const value = v instanceof WireValue ? (v.param ?? { name: 'result' }) : encodeValue('result', v);
      const size = paramSize(value);
      const max = this.ctx.maxMessageBytes();
      if (size > max) throw new MessageTooLargeError(MESSAGE_TOO_LARGE(size, max));
      return { value, size };
    } catch (err) {
      this.replyError(id, inc, err);
      return undefined;
    }
  }

  /** Marks a call answered; false if it was already answered or given up. */
  private finish(id: number, inc: Incoming): boolean {
    if (this.incoming.get(id) !== inc) return false;
    this.forget(id);
    inc.producer?.stop();
    return true;
  }

  private forget(id: number): void {
    this.incoming.delete(id);
    if (!this.incoming.size && this.idleWaiters.length) for (const cb of this.idleWaiters.splice(0)) cb();
  }
}

/** Longest error message and details a peer is sent: an error is never the frame that breaks a session. */
const MAX_ERROR_TEXT = 16 * 1024;

function boundedError(err: unknown): ReturnType<typeof errorToWire> {
  const wire = errorToWire(err);
  if (wire.message.length > MAX_ERROR_TEXT) wire.message = `${wire.message.slice(0, MAX_ERROR_TEXT)}… (${wire.message.length} characters)`;
  if (wire.detailsJson.length > MAX_ERROR_TEXT) wire.detailsJson = JSON.stringify({ truncated: true, length: wire.detailsJson.length });
  return wire;
}
