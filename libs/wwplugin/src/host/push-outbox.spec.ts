import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from '../protocol/frames.js';
import type { SessionChannel } from '../protocol/session-channel.js';
import { PushOutbox, type PushOutboxOptions } from './push-outbox.js';

/** The members of SessionChannel a PushOutbox uses, over an array. */
function channel(room = Infinity) {
  const written: Frame[] = [];
  const waiters: Array<() => void> = [];
  let buffered = 0;
  const fake = {
    written,
    isClosed: false,
    get isBlocked() {
      return buffered >= room;
    },
    send(frame: Frame) {
      written.push(frame);
      buffered++;
      return buffered < room;
    },
    onDrain(cb: () => void) {
      if (buffered < room) cb();
      else waiters.push(cb);
    },
    drain() {
      buffered = 0;
      for (const cb of waiters.splice(0)) cb();
    },
    seqs: () => written.map((f) => f.push!.seq),
    payloads: () => written.map((f) => f.push!.payload!.stringValue),
  };
  return fake as typeof fake & SessionChannel;
}

const payload = (s: string) => ({ name: 'payload', stringValue: s });
const make = (over: Partial<PushOutboxOptions> = {}) => {
  const lost: Array<[number, number, number]> = [];
  const overflow: Array<[number, number]> = [];
  const box = new PushOutbox({
    capacity: 1000,
    maxBytes: 1e9,
    overflow: 'drop-oldest',
    delivery: 'at-least-once',
    onLost: (first, last, count) => lost.push([first, last, count]),
    onOverflow: (dropped, since) => overflow.push([dropped, since]),
    ...over,
  });
  return { box, lost, overflow };
};

describe('PushOutbox', () => {
  afterEach(() => vi.useRealTimers());

  it('at-least-once: pushes a dead session had not acknowledged go to the next one first, in order, with their seq', () => {
    const { box, lost } = make();
    const first = channel();
    box.attach(first, true);
    for (let n = 1; n <= 100; n++) box.enqueue('t', payload(`m${n}`), first);
    box.acknowledge(40);
    expect(box.unacked).toBe(60);
    box.detach(first);
    for (let n = 101; n <= 110; n++) box.enqueue('t', payload(`m${n}`), undefined);
    expect([box.size, box.unacked]).toEqual([70, 0]);
    const second = channel();
    box.attach(second, true);
    expect(second.seqs()).toEqual(Array.from({ length: 70 }, (_, i) => 41 + i));
    expect(second.payloads()[0]).toBe('m41');
    expect(lost).toEqual([]);
    expect(box.lost).toBe(0);
  });

  it('at-most-once: they are counted lost, with the first and last seq', () => {
    const { box, lost } = make({ delivery: 'at-most-once' });
    const first = channel();
    box.attach(first, true);
    for (let n = 1; n <= 100; n++) box.enqueue('t', payload(`m${n}`), first);
    box.acknowledge(40);
    box.detach(first);
    expect(lost).toEqual([[41, 100, 60]]);
    expect(box.lost).toBe(60);
    const second = channel();
    box.attach(second, true);
    expect(second.written).toEqual([]);
  });

  it('a session that does not acknowledge counts a push delivered once written', () => {
    const { box, lost } = make({ delivery: 'at-most-once' });
    const first = channel();
    box.attach(first, false);
    for (let n = 1; n <= 10; n++) box.enqueue('t', payload(`m${n}`), first);
    expect(box.unacked).toBe(0);
    box.detach(first);
    expect([box.lost, lost.length]).toEqual([0, 0]);
  });

  it('a new session settles the one before it even if its end was never reported', () => {
    const { box } = make();
    const first = channel();
    box.attach(first, true);
    for (let n = 1; n <= 5; n++) box.enqueue('t', payload(`m${n}`), first);
    const second = channel();
    box.attach(second, true);
    expect(second.seqs()).toEqual([1, 2, 3, 4, 5]);
  });

  it('acknowledgements are cumulative, stale ones do nothing, and seq wraps from 2^32-1 to 1', () => {
    const { box } = make();
    const ch = channel();
    box.attach(ch, true);
    (box as unknown as { seq: number }).seq = 0xfffffffd;
    for (let n = 1; n <= 5; n++) box.enqueue('t', payload(`m${n}`), ch);
    expect(ch.seqs()).toEqual([0xfffffffe, 0xffffffff, 1, 2, 3]);
    box.acknowledge(0xfffffff0);
    expect(box.unacked).toBe(5);
    box.acknowledge(0xffffffff);
    expect(box.unacked).toBe(3);
    box.acknowledge(2);
    expect(box.unacked).toBe(1);
  });

  it('overflow: the counter is exact and every (rate-limited) report carries it and the delta', () => {
    vi.useFakeTimers();
    const { box, overflow } = make({ capacity: 10 });
    for (let n = 1; n <= 10_010; n++) box.enqueue('t', payload(`m${n}`), undefined);
    expect(box.dropped).toBe(10_000);
    vi.advanceTimersByTime(200);
    expect(overflow).toEqual([
      [1, 1],
      [10_000, 9_999],
    ]);
  });

  it('unacknowledged pushes share the bound with queued ones', () => {
    const { box } = make({ capacity: 10, overflow: 'drop-newest' });
    const ch = channel();
    box.attach(ch, true);
    for (let n = 1; n <= 15; n++) box.enqueue('t', payload(`m${n}`), ch);
    expect([box.unacked, box.size, box.dropped]).toEqual([5, 5, 5]);
  });

  it('clear() reports everything not acknowledged as lost', () => {
    const { box, lost } = make();
    const ch = channel();
    box.attach(ch, true);
    for (let n = 1; n <= 8; n++) box.enqueue('t', payload(`m${n}`), ch);
    box.detach(ch);
    for (let n = 9; n <= 12; n++) box.enqueue('t', payload(`m${n}`), undefined);
    box.clear();
    expect(lost).toEqual([[1, 12, 12]]);
    expect(box.size).toBe(0);
  });
});
