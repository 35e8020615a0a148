import type { Frame } from './frames.js';
import type { WireParameter } from './parameters.js';
import type { SessionChannel } from './session-channel.js';

/**
 * What a full outbox does with one more message: evict the oldest message not yet sent, refuse the
 * new one, or refuse it with an error at the sender. Every message evicted or refused is counted.
 * @publicApi
 */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/** The members of a session channel an outbox writes through. */
export type OutboxChannel = Pick<SessionChannel, 'send' | 'isBlocked' | 'onDrain' | 'isClosed'>;

export interface OutboxLimits {
  /** Messages held at once: queued plus sent-but-unconfirmed. At least 1. */
  maxMessages: number;
  /** Bytes held at once (see `messageBytes`). A message alone in an empty outbox is always taken. */
  maxBytes: number;
  overflow: OverflowPolicy;
}

/** One message: the frame to send and the bytes it counts for. */
export interface OutboxEntry {
  frame: Frame;
  bytes: number;
}

/** What `offer` did with a message. */
export type OfferOutcome = 'sent' | 'queued' | 'dropped' | 'refused';

/** The bytes a push or emit counts for: its topic, payload and a fixed allowance for the frame. */
export function messageBytes(topic: string, payload: WireParameter): number {
  let n = 32 + topic.length + payload.name.length;
  if (payload.stringValue) n += payload.stringValue.length;
  if (payload.jsonValue) n += payload.jsonValue.length;
  if (payload.bytesValue) n += payload.bytesValue.byteLength;
  return n;
}

/**
 * A bounded queue of frames in front of one session at a time, shared by the host's pushes and a
 * plugin's emits. Frames go out only while the channel is not blocked and resume on its drain, so
 * a slow reader costs the sender at most `maxMessages` messages and `maxBytes` bytes. Sent frames
 * may be held until the peer confirms them (pushes to a plugin that acknowledges); held frames count
 * against the bounds and are never evicted, because they may be needed again. At most half the
 * bounds are sent ahead of the confirmations, so the other half can always take new messages and
 * 'drop-oldest' can always keep the newest.
 */
export class BoundedOutbox<E extends OutboxEntry = OutboxEntry> {
  private queue: Array<E | undefined> = [];
  private head = 0;
  private queuedBytes = 0;
  private heldList: Array<E | undefined> = [];
  private heldHead = 0;
  private heldBytes = 0;
  private channel?: OutboxChannel;
  private holdSent = false;
  private waitingForDrain = false;
  private emptyWaiters: Array<() => void> = [];
  /** Messages evicted or refused because the outbox was full, since it was made. */
  dropped = 0;

  constructor(
    readonly limits: OutboxLimits,
    /** Called after every drop, with how many messages it dropped. */
    private readonly onDrop?: (count: number) => void,
  ) {
    if (!(limits.maxMessages >= 1)) limits.maxMessages = 1;
  }

  /** Messages waiting to be sent. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Messages sent and waiting for the peer's confirmation. */
  get held(): number {
    return this.heldList.length - this.heldHead;
  }

  /** Bytes of queued and held messages. */
  get bytes(): number {
    return this.queuedBytes + this.heldBytes;
  }

  /** Sends through `channel` from now on (undefined: only queue); `holdSent` keeps sent frames until confirmed. */
  attach(channel: OutboxChannel | undefined, holdSent = false): void {
    this.channel = channel;
    this.holdSent = holdSent;
    this.waitingForDrain = false;
    this.flush();
  }

  /** Takes a message: sends it now if it is first in line and the channel has room, else queues it. */
  offer(entry: E, sendNow = true): OfferOutcome {
    if (!this.makeRoom(entry.bytes)) {
      this.drop(1);
      return this.limits.overflow === 'error' ? 'refused' : 'dropped';
    }
    const channel = this.channel;
    if (sendNow && this.queued === 0 && channel && !channel.isClosed && !channel.isBlocked && this.windowOpen(entry)) {
      this.sendOne(channel, entry);
      return 'sent';
    }
    this.queue.push(entry);
    this.queuedBytes += entry.bytes;
    if (sendNow) this.flush();
    return 'queued';
  }

  /** Sends what the channel has room for; resumes on its next drain. */
  flush(): void {
    const channel = this.channel;
    if (!channel || channel.isClosed) return;
    while (this.queued > 0 && !channel.isBlocked && this.windowOpen(this.queue[this.head]!)) {
      const entry = this.shift()!;
      this.sendOne(channel, entry);
    }
    if (this.queued === 0) {
      for (const resolve of this.emptyWaiters.splice(0)) resolve();
    } else if (!this.waitingForDrain && channel.isBlocked) {
      // Only a blocked stream is waited for here: a closed window reopens when its owner confirms.
      this.waitingForDrain = true;
      channel.onDrain(() => {
        this.waitingForDrain = false;
        if (this.channel === channel) this.flush();
      });
    }
  }

  /** Resolves once nothing is queued (held messages do not count), or after `timeoutMs`. */
  whenSent(timeoutMs: number): Promise<void> {
    if (this.queued === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.emptyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Releases held messages from the oldest while `confirmed(entry)`; returns how many. */
  confirm(confirmed: (entry: E) => boolean): number {
    let n = 0;
    while (this.held > 0) {
      const entry = this.heldList[this.heldHead]!;
      if (!confirmed(entry)) break;
      this.heldList[this.heldHead++] = undefined;
      this.heldBytes -= entry.bytes;
      n++;
    }
    if (this.heldHead > 1024 && this.heldHead * 2 > this.heldList.length) {
      this.heldList = this.heldList.slice(this.heldHead);
      this.heldHead = 0;
    }
    return n;
  }

  /** Takes every held message out of the outbox, oldest first (to send again or to report lost). */
  takeHeld(): E[] {
    const entries = this.heldList.slice(this.heldHead) as E[];
    this.heldList = [];
    this.heldHead = 0;
    this.heldBytes = 0;
    return entries;
  }

  /** Puts messages back at the front of the queue, in the given order, ahead of everything queued. */
  requeue(entries: E[]): void {
    if (!entries.length) return;
    this.queue = [...entries, ...this.queue.slice(this.head)];
    this.head = 0;
    for (const e of entries) this.queuedBytes += e.bytes;
  }

  /** Takes every queued message out of the outbox, oldest first. */
  takeQueued(): E[] {
    const entries = this.queue.slice(this.head) as E[];
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    return entries;
  }

  /** Counts `count` messages as dropped (messages the owner gives up on). */
  drop(count: number): void {
    if (count <= 0) return;
    this.dropped += count;
    this.onDrop?.(count);
  }

  /** Whether `entry` may be sent before the peer confirms more (always, when nothing is held). */
  private windowOpen(entry: E): boolean {
    if (!this.holdSent || this.held === 0) return true;
    return this.held < Math.max(1, Math.floor(this.limits.maxMessages / 2)) && this.heldBytes + entry.bytes <= this.limits.maxBytes / 2;
  }

  private sendOne(channel: OutboxChannel, entry: E): void {
    channel.send(entry.frame);
    if (this.holdSent) {
      this.heldList.push(entry);
      this.heldBytes += entry.bytes;
    }
  }

  private shift(): E | undefined {
    const entry = this.queue[this.head];
    this.queue[this.head++] = undefined; // let go of it now, not at the next compaction
    if (entry) this.queuedBytes -= entry.bytes;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Whether one more message of `bytes` fits, evicting queued ones if the policy says so. */
  private makeRoom(bytes: number): boolean {
    if (this.fits(this.queued + this.held, this.bytes, bytes)) return true;
    // Sent messages awaiting confirmation are never evicted: if they alone leave no room, the new
    // message is the one that goes.
    if (this.limits.overflow !== 'drop-oldest' || !this.fits(this.held, this.heldBytes, bytes)) return false;
    let evicted = 0;
    while (!this.fits(this.queued + this.held, this.bytes, bytes)) {
      this.shift();
      evicted++;
    }
    this.drop(evicted);
    return true;
  }

  /** Whether one more message of `bytes` fits beside `count` messages of `held` bytes (a method: no closure per message). */
  private fits(count: number, held: number, bytes: number): boolean {
    return count + 1 <= this.limits.maxMessages && (count === 0 || held + bytes <= this.limits.maxBytes);
  }
}
