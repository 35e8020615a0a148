import type { PushDelivery } from '../interfaces/host-options.interface.js';
import type { Frame, PushFrame } from '../protocol/frames.js';
import { BoundedOutbox, messageBytes, type OutboxEntry } from '../protocol/bounded-outbox.js';
import { OverflowReporter } from '../protocol/overflow-reporter.js';
import type { WireParameter } from '../protocol/parameters.js';
import type { SessionChannel, TraceFields } from '../protocol/session-channel.js';

/** Largest batch a plugin acknowledges in one PushAck, and how long an acknowledgement may wait. */
const ACK_EVERY_MAX = 256;
const ACK_DELAY_MS = 20;

/**
 * A push while the outbox holds it, and the Push message itself: one object per push (besides its
 * payload). The frame around it is made when it is sent, and is garbage once the transport has
 * written it. Held pushes outlive young-generation collections, so every object they keep is
 * copied and promoted: at full speed thousands are held at once.
 */
class PushEntry implements OutboxEntry, PushFrame {
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;

  constructor(
    readonly topic: string,
    readonly payload: WireParameter,
    readonly seq: number,
    readonly bytes: number,
    trace: TraceFields | undefined,
    /** Meant for any one instance of its plugin (`to: 'one'`): another instance may take it over. */
    readonly one: boolean,
  ) {
    this.traceparent = trace?.traceparent;
    this.tracestate = trace?.tracestate;
  }

  get frame(): Frame {
    return { push: this };
  }
}

/** Where pushes for any one instance go when theirs is gone: an instance's outbox, and its session when it runs. */
export interface PushHeir {
  outbox: PushOutbox;
  channel: SessionChannel | undefined;
}

export interface PushOutboxOptions {
  capacity: number;
  maxBytes: number;
  overflow: 'drop-oldest' | 'drop-newest';
  delivery: PushDelivery;
  /** Rate-limited, exact: `dropped` is the counter at that moment. */
  onOverflow?: (dropped: number, droppedSinceLastEvent: number) => void;
  /** Pushes given up as lost: `count` of them, seq `first` to `last` (gaps are pushes dropped before). */
  onLost?: (first: number, last: number, count: number) => void;
}

/** True when `a` comes at or before `b` in a sequence that wraps at 2^32. */
const seqAtOrBefore = (a: number, b: number) => (b - a) >>> 0 < 0x80000000;

/**
 * Pushes for one plugin across its processes. Queued pushes and pushes sent but not yet acknowledged
 * share the bound (`capacity` messages, `maxBytes` bytes). When a session that acknowledges pushes
 * ends, what it had not acknowledged goes back to the front of the queue with its original seq, for
 * the next process (at-least-once), or is counted lost and reported (at-most-once). Sessions that do
 * not acknowledge count a push as delivered once it is written.
 */
export class PushOutbox {
  private readonly outbox: BoundedOutbox<PushEntry>;
  private readonly reporter: OverflowReporter;
  private seq = 0;
  /** Pushes offered to this plugin so far, dropped ones included. */
  private offered = 0;
  private channel?: SessionChannel;
  /** Pushes reported lost, since the plugin was loaded. */
  lost = 0;
  /** Set while its instance is gone for good (stopped, failed): gives the instance its pushes for any one instance go to. */
  private passOn?: () => PushHeir | undefined;

  constructor(private readonly options: PushOutboxOptions) {
    this.reporter = new OverflowReporter(
      () => this.outbox.dropped,
      (dropped, since) => options.onOverflow?.(dropped, since),
    );
    this.outbox = new BoundedOutbox<PushEntry>({ maxMessages: options.capacity, maxBytes: options.maxBytes, overflow: options.overflow }, () =>
      this.reporter.note(),
    );
  }

  /** Pushes waiting to be sent. */
  get size(): number {
    return this.outbox.queued;
  }

  /** Pushes sent to the current process and not yet acknowledged. */
  get unacked(): number {
    return this.outbox.held;
  }

  /** Pushes dropped because the buffer was full. */
  /** Pushes offered to this plugin so far (sent, queued or dropped). */
  get pushed(): number {
    return this.offered;
  }

  get dropped(): number {
    return this.outbox.dropped;
  }

  /** The batching a plugin is asked to acknowledge with (Welcome.push_ack_every / push_ack_delay_ms). */
  get ackSettings(): { pushAckEvery: number; pushAckDelayMs: number } {
    // A batch must fit the send window (half the buffer) several times, or acks would lag behind it.
    return { pushAckEvery: Math.max(1, Math.min(ACK_EVERY_MAX, Math.floor(this.options.capacity / 8))), pushAckDelayMs: ACK_DELAY_MS };
  }

  /**
   * Queues a push (sent at once when `channel` has room); returns false when it was dropped. `one`:
   * it was meant for any one instance of the plugin, so another may take it over (see passOnOnes).
   */
  enqueue(topic: string, payload: WireParameter, channel: SessionChannel | undefined, trace?: TraceFields, one = false): boolean {
    this.offered++;
    return this.take(topic, payload, channel, trace, one);
  }

  /** Numbers a push under this outbox's seq and offers it (a push taken over from another instance was offered there). */
  private take(topic: string, payload: WireParameter, channel: SessionChannel | undefined, trace: TraceFields | undefined, one: boolean): boolean {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    const entry = new PushEntry(topic, payload, this.seq, messageBytes(topic, payload), trace, one);
    const outcome = this.outbox.offer(entry, channel !== undefined && channel === this.channel);
    return outcome === 'sent' || outcome === 'queued';
  }

  /**
   * Sends through a new session from now on. Pushes the previous session left unacknowledged are
   * settled first (a session normally ends through `detach`), so they go out before anything else.
   */
  attach(channel: SessionChannel, acksPushes: boolean): void {
    // Its instance serves again: what it still holds is its own to send.
    this.passOn = undefined;
    if (this.channel && this.channel !== channel) this.detach(this.channel);
    this.channel = channel;
    this.outbox.attach(channel, acksPushes);
  }

  /** The session ended: its unacknowledged pushes are kept for the next process or reported lost. */
  detach(channel: SessionChannel): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.outbox.attach(undefined);
    const unacked = this.outbox.takeHeld();
    if (unacked.length) {
      if (this.options.delivery === 'at-least-once') this.outbox.requeue(unacked);
      else this.reportLost(unacked);
    }
    // Its acknowledgements are final now: what it did not acknowledge goes to the heir, in order.
    if (this.passOn) this.moveOnes();
  }

  /**
   * Its instance is gone for good (stopped, failed): from now on, pushes meant for any one instance
   * (`to: 'one'`) that it has not acknowledged go to the instance `heir()` gives, in order, after what
   * that one already has, under its seq numbers. At once when no session is attached, else when the
   * session ends (so what the process acknowledges until then is not sent again). Without an heir
   * they stay here for this instance's next start. Returns how many moved now.
   */
  passOnOnes(heir: () => PushHeir | undefined): number {
    this.passOn = heir;
    return this.channel ? 0 : this.moveOnes();
  }

  private moveOnes(): number {
    const to = this.passOn?.();
    if (!to) return 0;
    const queued = this.outbox.takeQueued();
    const moving = queued.filter((e) => e.one);
    if (!moving.length) return (this.outbox.requeue(queued), 0);
    this.outbox.requeue(queued.filter((e) => !e.one));
    this.moveTo(to, moving);
    return moving.length;
  }

  /** Re-offers `entries` to another instance's outbox, in order, keeping their trace context and what they were meant for. */
  private moveTo(to: PushHeir, entries: PushEntry[]): void {
    for (const e of entries) {
      to.outbox.take(e.topic, e.payload, to.channel, e.traceparent ? { traceparent: e.traceparent, tracestate: e.tracestate } : undefined, e.one);
    }
  }

  /** The plugin received every push up to `seq`. */
  acknowledge(seq: number): void {
    // Confirmed pushes open the window for queued ones.
    if (this.outbox.confirm((e) => seqAtOrBefore(e.seq, seq)) > 0 && this.outbox.queued > 0) this.outbox.flush();
  }

  /** Sends what the session has room for (after the plugin is running again). */
  flush(): void {
    this.outbox.flush();
  }

  /**
   * Moves every push not yet acknowledged to `to` (another instance's outbox, after this one's
   * process stopped for good), in order, under `to`'s seq numbers. What was sent and not
   * acknowledged goes too under at-least-once (the plugin may see it twice), or is reported lost
   * under at-most-once. Returns how many moved.
   */
  handOver(to: PushOutbox, channel: SessionChannel | undefined): number {
    this.channel = undefined;
    this.outbox.attach(undefined);
    const held = this.outbox.takeHeld();
    const queued = this.outbox.takeQueued();
    const atLeastOnce = this.options.delivery === 'at-least-once';
    if (!atLeastOnce && held.length) this.reportLost(held);
    const moving = atLeastOnce ? [...held, ...queued] : queued;
    this.moveTo({ outbox: to, channel }, moving);
    return moving.length;
  }

  /**
   * Forgets every push (the plugin is unloaded): what was never acknowledged is reported lost, but
   * for pushes meant for any one instance, which go to the heir passOnOnes named if there is one.
   */
  clear(): void {
    // Unloaded: its session's acknowledgements no longer matter, the session is over for it.
    if (this.passOn && this.channel) this.detach(this.channel);
    this.passOn = undefined;
    const pending = [...this.outbox.takeHeld(), ...this.outbox.takeQueued()];
    this.reporter.flush();
    this.reporter.cancel();
    if (pending.length) this.reportLost(pending);
  }

  private reportLost(entries: PushEntry[]): void {
    this.lost += entries.length;
    this.options.onLost?.(entries[0].seq, entries[entries.length - 1].seq, entries.length);
  }
}
