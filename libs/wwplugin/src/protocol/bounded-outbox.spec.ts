import { afterEach, describe, expect, it, vi } from 'vitest';
import { BoundedOutbox, messageBytes, type OutboxChannel, type OutboxEntry, type OverflowPolicy } from './bounded-outbox.js';
import type { Frame } from './frames.js';
import { OverflowReporter } from './overflow-reporter.js';

/** A channel whose buffer takes `room` frames before it blocks; `drain()` empties it. */
class FakeChannel implements OutboxChannel {
  readonly written: Frame[] = [];
  isClosed = false;
  private waiters: Array<() => void> = [];
  private buffered = 0;
  constructor(private readonly room = Infinity) {}
  get isBlocked(): boolean {
    return this.buffered >= this.room;
  }
  send(frame: Frame): boolean {
    this.written.push(frame);
    this.buffered++;
    return !this.isBlocked;
  }
  onDrain(cb: () => void): void {
    if (!this.isBlocked) cb();
    else this.waiters.push(cb);
  }
  drain(): void {
    this.buffered = 0;
    for (const cb of this.waiters.splice(0)) cb();
  }
  topics(): string[] {
    return this.written.map((f) => f.emit!.topic);
  }
}

const entry = (n: number, bytes = 10): OutboxEntry => ({ frame: { emit: { topic: String(n), payload: { name: 'payload' } } }, bytes });
const outbox = (maxMessages: number, overflow: OverflowPolicy = 'drop-oldest', maxBytes = 1e9, onDrop?: (n: number) => void) =>
  new BoundedOutbox({ maxMessages, maxBytes, overflow }, onDrop);

describe('BoundedOutbox', () => {
  it('sends at once while the channel has room, queues while it is blocked, and resumes in order on drain', () => {
    const channel = new FakeChannel(2);
    const box = outbox(100);
    box.attach(channel);
    expect(box.offer(entry(1))).toBe('sent');
    expect(box.offer(entry(2))).toBe('sent');
    expect(box.offer(entry(3))).toBe('queued');
    expect(box.offer(entry(4))).toBe('queued');
    expect(channel.topics()).toEqual(['1', '2']);
    channel.drain();
    expect(channel.topics()).toEqual(['1', '2', '3', '4']);
    expect(box.queued).toBe(0);
  });

  it('queues without a channel and sends everything, in order, once attached', () => {
    const box = outbox(10);
    for (let n = 1; n <= 5; n++) expect(box.offer(entry(n))).toBe('queued');
    const channel = new FakeChannel();
    box.attach(channel);
    expect(channel.topics()).toEqual(['1', '2', '3', '4', '5']);
  });

  it('drop-oldest evicts the oldest queued messages and counts each one', () => {
    const drops: number[] = [];
    const box = outbox(3, 'drop-oldest', 1e9, (n) => drops.push(n));
    for (let n = 1; n <= 10; n++) expect(box.offer(entry(n))).toBe('queued');
    expect(box.queued).toBe(3);
    expect(box.dropped).toBe(7);
    expect(drops.reduce((a, b) => a + b, 0)).toBe(7);
    const channel = new FakeChannel();
    box.attach(channel);
    expect(channel.topics()).toEqual(['8', '9', '10']);
  });

  it('drop-newest refuses new messages once full; error refuses them as "refused"', () => {
    const newest = outbox(3, 'drop-newest');
    const error = outbox(3, 'error');
    for (let n = 1; n <= 5; n++) {
      newest.offer(entry(n));
      error.offer(entry(n));
    }
    expect(newest.offer(entry(6))).toBe('dropped');
    expect(error.offer(entry(6))).toBe('refused');
    expect([newest.dropped, error.dropped]).toEqual([3, 3]);
    const channel = new FakeChannel();
    newest.attach(channel);
    expect(channel.topics()).toEqual(['1', '2', '3']);
  });

  it('bounds bytes too; a message alone in an empty outbox is always taken', () => {
    const box = outbox(100, 'drop-oldest', 100);
    expect(box.offer(entry(1, 60))).toBe('queued');
    expect(box.offer(entry(2, 60))).toBe('queued'); // evicts 1: 60 + 60 > 100
    expect([box.queued, box.bytes, box.dropped]).toEqual([1, 60, 1]);
    expect(box.offer(entry(3, 500))).toBe('queued'); // alone after evicting 2
    expect([box.queued, box.bytes, box.dropped]).toEqual([1, 500, 2]);
  });

  it('holds sent messages until confirmed: they count against the bound, are never evicted, and at most half the bound is sent ahead', () => {
    const channel = new FakeChannel();
    const box = outbox(10, 'drop-oldest');
    box.attach(channel, true);
    for (let n = 1; n <= 10; n++) box.offer(entry(n));
    // Five sent and held (the window), five queued.
    expect([box.held, box.queued]).toEqual([5, 5]);
    expect(channel.topics()).toEqual(['1', '2', '3', '4', '5']);
    // Full: drop-oldest evicts a queued message, never a held one, and keeps the newest.
    box.offer(entry(11));
    expect([box.held, box.queued, box.dropped]).toEqual([5, 5, 1]);
    // Confirming opens the window.
    expect(box.confirm((e) => Number(e.frame.emit!.topic) <= 3)).toBe(3);
    box.flush();
    expect(channel.topics()).toEqual(['1', '2', '3', '4', '5', '7', '8', '9']);
    expect([box.held, box.queued]).toEqual([5, 2]);
  });

  it('gives held messages back first, in order, ahead of those queued', () => {
    const first = new FakeChannel();
    const box = outbox(100);
    box.attach(first, true);
    for (let n = 1; n <= 60; n++) box.offer(entry(n));
    box.confirm((e) => Number(e.frame.emit!.topic) <= 20);
    box.attach(undefined);
    box.requeue(box.takeHeld());
    expect([box.held, box.queued]).toEqual([0, 40]);
    const second = new FakeChannel();
    box.attach(second, true);
    expect(second.topics()).toEqual(Array.from({ length: 40 }, (_, i) => String(21 + i)));
  });

  it('whenSent resolves once the queue has been written', async () => {
    const channel = new FakeChannel(1);
    const box = outbox(10);
    box.attach(channel);
    box.offer(entry(1));
    box.offer(entry(2));
    let done = false;
    const sent = box.whenSent(10_000).then(() => (done = true));
    expect(done).toBe(false);
    channel.drain();
    await sent;
    expect(channel.topics()).toEqual(['1', '2']);
  });

  it('measures a message by its topic and payload', () => {
    expect(messageBytes('t', { name: 'payload', stringValue: 'abc' })).toBe(32 + 1 + 7 + 3);
    expect(messageBytes('t', { name: 'payload', bytesValue: Buffer.alloc(100) })).toBe(32 + 1 + 7 + 100);
  });
});

describe('OverflowReporter', () => {
  afterEach(() => vi.useRealTimers());

  it('reports the first drop at once and the rest of a burst in one trailing report; totals exact', () => {
    vi.useFakeTimers();
    let counter = 0;
    const reports: Array<[number, number]> = [];
    const reporter = new OverflowReporter(
      () => counter,
      (total, since) => void reports.push([total, since]),
      100,
    );
    counter++;
    reporter.note();
    for (let k = 0; k < 999; k++) {
      counter++;
      reporter.note();
    }
    expect(reports).toEqual([[1, 1]]);
    vi.advanceTimersByTime(100);
    expect(reports).toEqual([
      [1, 1],
      [1000, 999],
    ]);
    reporter.flush(); // nothing new: no report
    expect(reports.length).toBe(2);
  });

  it('keeps what it could not deliver for the next attempt', () => {
    let counter = 5;
    let deliverable = false;
    const reports: Array<[number, number]> = [];
    const reporter = new OverflowReporter(
      () => counter,
      (total, since) => (deliverable ? void reports.push([total, since]) : false),
    );
    reporter.flush();
    counter = 8;
    deliverable = true;
    reporter.flush();
    expect(reports).toEqual([[8, 8]]);
    expect(reporter.lastReported).toBe(8);
  });
});
