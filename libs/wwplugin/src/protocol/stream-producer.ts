import { isObservable, type Subscription } from 'rxjs';

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

/** What a producer writes to: one call's lane of the session writer. */
export interface StreamOutlet {
  /** Encodes and queues one item; false when it could not be (the call was answered with an error). */
  item(value: unknown): boolean;
  end(): void;
  error(err: unknown): void;
  /** Items and bytes queued and not yet written. */
  backlog(): { items: number; bytes: number };
  /** Resolves once the queue is empty and the transport has room. */
  room(): Promise<void>;
  /** The bound was passed: the call ends with this error. */
  overflow(): void;
}

type Job = { value: unknown } | { pull: AsyncIterable<unknown> | Iterable<unknown> } | { end: true } | { error: unknown };

/** An async iterable or a generator: a source that waits to be asked for its next value. */
export function isPullable(v: unknown): v is AsyncIterable<unknown> | Iterable<unknown> {
  if (!v || typeof v !== 'object') return false;
  if (typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return true;
  // Arrays, strings and Buffers are values; only iterators that produce on demand are sources.
  return typeof (v as Iterator<unknown>).next === 'function' && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function';
}

/**
 * Feeds one streaming call's values into its lane, in order. A pulled source (async iterable,
 * generator) is asked for its next value only when the lane has room, so back-pressure pauses it.
 * An Observable cannot be paused: what it produces beyond the bound ends the call with an error.
 */
export class StreamProducer {
  private readonly jobs: Job[] = [];
  private running = false;
  private stopped = false;
  private sub?: Subscription;
  private wake?: () => void;
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
    this.credit += items;
    this.wake?.();
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
      this.sub = out.subscribe({
        next: (v) => this.offer(v),
        error: (err) => this.push({ error: err }),
        complete: () => this.push({ end: true }),
      });
      if (this.stopped) this.sub.unsubscribe();
      return;
    }
    this.offer(out);
    this.push({ end: true });
  }

  /** The call is over (cancelled, deadline, session closed): stop producing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.jobs.length = 0;
    this.sub?.unsubscribe();
    this.wake?.();
  }

  private offer(v: unknown): void {
    if (this.stopped) return;
    if (isPullable(v)) return this.push({ pull: v });
    if (!this.running && !this.jobs.length && this.credit > 0) {
      this.credit -= 1;
      if (!this.outlet.item(v)) return this.stop();
    } else {
      this.push({ value: v });
    }
    const { items, bytes } = this.outlet.backlog();
    if (items + this.jobs.length > this.bounds.items || bytes > this.bounds.bytes) {
      this.stop();
      this.outlet.overflow();
    }
  }

  private push(job: Job): void {
    if (this.stopped) return;
    this.jobs.push(job);
    if (!this.running) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.jobs.length) {
        const job = this.jobs.shift()!;
        if ('value' in job) {
          if (this.credit <= 0) await this.waitFor(() => this.credit > 0);
          if (this.stopped) break;
          this.credit -= 1;
          if (!this.outlet.item(job.value)) return this.stop();
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
        if (this.outlet.backlog().items >= PULL_AHEAD) {
          await this.waitForRoom();
          continue;
        }
        if (this.credit <= 0) {
          await this.waitFor(() => this.credit > 0);
          continue;
        }
        if (++pulls % PULLS_PER_TURN === 0) await new Promise((r) => setImmediate(r));
        const r = await it.next();
        if (r.done || this.stopped) break;
        this.credit -= 1;
        if (!this.outlet.item(r.value)) return this.stop();
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

  /** Resolves once `ready()` holds (checked when credit comes) or the producer stops. */
  private async waitFor(ready: () => boolean): Promise<void> {
    while (!this.stopped && !ready()) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
  }

  private waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.outlet.room().then(resolve, resolve);
    }).finally(() => (this.wake = undefined));
  }
}
