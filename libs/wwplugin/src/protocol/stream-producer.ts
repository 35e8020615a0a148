import { isObservable, takeWhile, type Subscription } from 'rxjs';
import type { WireParameter } from './parameters.js';

/** Bounds of what a streaming call may have waiting to be sent when its producer cannot be paused. */
export interface StreamBufferOptions {
  /** Items. */
  items: number;
  /** Bytes (encoded, as estimated before sending). */
  bytes: number;
}

export const DEFAULT_STREAM_BUFFER: StreamBufferOptions = { items: 65_536, bytes: 32 * 1024 * 1024 };

/** Items a pulled source may have queued in the writer before the next pull waits for room. */
const PULL_AHEAD = 8;
/**
 * Pulls between two turns of the event loop. A source that never waits (a generator) would
 * otherwise hold the loop while the transport keeps taking frames, and starve heartbeats.
 */
const PULLS_PER_TURN = 256;

/** A value in wire form and its size (exact over a chunk). */
export interface EncodedValue {
  value: WireParameter;
  size: number;
}

/** What a producer writes to: one call's lane of the session writer. */
export interface StreamOutlet {
  /** The value in wire form; undefined when it cannot be (the call was answered with the error). */
  encode(value: unknown): EncodedValue | undefined;
  /** Queues one encoded item; false when the call is over. */
  send(encoded: EncodedValue): boolean;
  end(): void;
  error(err: unknown): void;
  /** Items and bytes queued and not yet written. */
  backlog(): { items: number; bytes: number };
  /** Resolves once the queue is empty and the transport has room. */
  room(): Promise<void>;
  /** The bound was passed: the call ends with this error. */
  overflow(): void;
}

type Job = { item: EncodedValue } | { pull: AsyncIterable<unknown> | Iterable<unknown> } | { end: true } | { error: unknown };

/** An async iterable or a generator: a source that waits to be asked for its next value. */
export function isPullable(v: unknown): v is AsyncIterable<unknown> | Iterable<unknown> {
  if (!v || typeof v !== 'object') return false;
  if (typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return true;
  // Arrays, strings and Buffers are values; only iterators that produce on demand are sources.
  return typeof (v as Iterator<unknown>).next === 'function' && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/**
 * Feeds one streaming call's values into its lane, in order, within the caller's credit. A pulled
 * source (async iterable, generator) is asked for its next value only when there is room and
 * credit, so back-pressure pauses it. An Observable cannot be paused: what it produces beyond the
 * bound (values waiting for credit or for the transport) ends the call with an error.
 */
export class StreamProducer {
  // A queue with a moving head: shift() on a long array costs its length each time.
  private jobs: Job[] = [];
  private head = 0;
  /** Bytes of the encoded items in `jobs`. */
  private jobBytes = 0;
  private running = false;
  private stopped = false;
  private sub?: Subscription;
  private wakeOnCredit?: () => void;
  private wakeOnStop?: () => void;
  /** Items the caller accepts now (Call.credit plus Credit frames); unlimited when it set none. */
  private credit: number;

  constructor(
    private readonly outlet: StreamOutlet,
    private readonly bounds: StreamBufferOptions,
    credit = 0,
  ) {
    this.credit = credit > 0 ? credit : Infinity;
  }

  /** The caller accepts `items` more. */
  grant(items: number): void {
    if (!(items > 0)) return;
    this.credit += items;
    this.wakeOnCredit?.();
  }

  /** Starts on what the handler returned: a Promise, an Observable, a pulled source or one value. */
  start(out: unknown): void {
    if (this.stopped) return;
    if (out && typeof (out as PromiseLike<unknown>).then === 'function') {
      (out as PromiseLike<unknown>).then(
        (v) => this.start(v),
        (err) => this.push({ error: err }),
      );
      return;
    }
    if (isObservable(out)) {
      // takeWhile: a synchronous source is unsubscribed at once when the producer stops mid-emission.
      this.sub = out.pipe(takeWhile(() => !this.stopped)).subscribe({
        next: (v) => this.offer(v),
        error: (err) => this.push({ error: err }),
        complete: () => this.push({ end: true }),
      });
      return;
    }
    this.offer(out);
    this.push({ end: true });
  }

  /** The call is over (cancelled, deadline, session closed, answered): stop producing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.jobs = [];
    this.head = 0;
    this.jobBytes = 0;
    this.sub?.unsubscribe();
    this.wakeOnCredit?.();
    this.wakeOnStop?.();
  }

  private offer(v: unknown): void {
    if (this.stopped) return;
    if (isPullable(v)) return this.push({ pull: v });
    const encoded = this.outlet.encode(v);
    if (!encoded) return this.stop();
    if (!this.running && this.queued === 0 && this.credit > 0) {
      this.credit -= 1;
      if (!this.outlet.send(encoded)) return this.stop();
    } else {
      this.jobBytes += encoded.size;
      this.push({ item: encoded });
    }
    const { items, bytes } = this.outlet.backlog();
    if (items + this.queued > this.bounds.items || bytes + this.jobBytes > this.bounds.bytes) {
      this.stop();
      this.outlet.overflow();
    }
  }

  private get queued(): number {
    return this.jobs.length - this.head;
  }

  private push(job: Job): void {
    if (this.stopped) return;
    this.jobs.push(job);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.queued > 0) {
        const job = this.jobs[this.head];
        this.jobs[this.head++] = undefined as unknown as Job;
        if (this.head >= 1024 && this.head * 2 >= this.jobs.length) {
          this.jobs = this.jobs.slice(this.head);
          this.head = 0;
        }
        if ('item' in job) {
          this.jobBytes -= job.item.size;
          if (this.credit <= 0) await this.creditCame();
          if (this.stopped) break;
          this.credit -= 1;
          if (!this.outlet.send(job.item)) return this.stop();
        } else if ('pull' in job) {
          await this.pull(job.pull);
        } else if ('end' in job) {
          this.stopped = true;
          this.outlet.end();
        } else {
          this.stopped = true;
          this.outlet.error(job.error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async pull(source: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
    const asyncIt = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
    const it: AsyncIterator<unknown> | Iterator<unknown> = asyncIt ? asyncIt.call(source) : (source as Iterable<unknown>)[Symbol.iterator]();
    let pulls = 0;
    try {
      while (!this.stopped) {
        if (this.credit <= 0) {
          await this.creditCame();
          continue;
        }
        if (this.outlet.backlog().items >= PULL_AHEAD) {
          await this.roomCame();
          continue;
        }
        if (++pulls % PULLS_PER_TURN === 0) await new Promise((r) => setImmediate(r));
        const r = await it.next();
        if (r.done || this.stopped) break;
        const encoded = this.outlet.encode(r.value);
        this.credit -= 1;
        if (!encoded || !this.outlet.send(encoded)) {
          this.stop();
          break;
        }
      }
    } catch (err) {
      if (!this.stopped) {
        this.stopped = true;
        this.outlet.error(err);
      }
      return;
    }
    // A source left before its end is told, so it can release what it holds.
    if (this.stopped) await Promise.resolve(it.return?.()).catch(() => undefined);
  }

  /** Resolves when credit comes or the producer stops. */
  private creditCame(): Promise<void> {
    return new Promise<void>((resolve) => (this.wakeOnCredit = resolve)).finally(() => (this.wakeOnCredit = undefined));
  }

  /** Resolves when the lane has room or the producer stops. */
  private roomCame(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeOnStop = resolve;
      this.outlet.room().then(resolve, resolve);
    }).finally(() => (this.wakeOnStop = undefined));
  }
}
