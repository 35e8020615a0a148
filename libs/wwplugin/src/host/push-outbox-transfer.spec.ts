import { describe, expect, it } from 'vitest';
import type { Frame } from '../protocol/frames.js';
import type { SessionChannel } from '../protocol/session-channel.js';
import { PushOutbox, type PushOutboxOptions } from './push-outbox.js';

// Pushes that leave an instance for another: an upgrade's hand-over and a to:'one' push passed on.

/** A channel that takes every frame (the members a PushOutbox uses). */
function channel() {
  const written: Frame[] = [];
  const fake = {
    written,
    isClosed: false,
    isBlocked: false,
    send(frame: Frame) {
      written.push(frame);
      return true;
    },
    onDrain(cb: () => void) {
      cb();
    },
    payloads: () => written.map((f) => f.push!.payload!.stringValue),
    seqs: () => written.map((f) => f.push!.seq),
  };
  return fake as typeof fake & SessionChannel;
}

const payload = (s: string) => ({ name: 'payload', stringValue: s });
const make = (over: Partial<PushOutboxOptions> = {}) => {
  const lost: Array<[number, number, number]> = [];
  const box = new PushOutbox({
    capacity: 8,
    maxBytes: 1e9,
    overflow: 'drop-oldest',
    delivery: 'at-least-once',
    onLost: (first, last, count) => lost.push([first, last, count]),
    ...over,
  });
  return { box, lost };
};
/** Queues `names` on `box`, each for any one instance unless its name starts with 'own'. */
const queue = (box: PushOutbox, names: string[], via?: SessionChannel) => {
  for (const n of names) box.enqueue('t', payload(n), via, undefined, !n.startsWith('own'));
};

describe('PushOutbox.passOnOnes (its instance is gone for good)', () => {
  it('with no session: the pushes for any one instance move now, in order, under the heir’s seq; its own stay', () => {
    const { box: gone } = make();
    queue(gone, ['a', 'own1', 'b', 'own2', 'c']);
    const { box: heir } = make();
    const heirChannel = channel();
    heir.attach(heirChannel, true);
    queue(heir, ['h'], heirChannel);
    expect(gone.passOnOnes(() => ({ outbox: heir, channel: heirChannel }))).toBe(3);
    expect(heirChannel.payloads()).toEqual(['h', 'a', 'b', 'c']);
    expect(heirChannel.seqs()).toEqual([1, 2, 3, 4]);
    expect(gone.size).toBe(2);
    // What it keeps is its own, for its next process.
    const next = channel();
    gone.attach(next, true);
    expect(next.payloads()).toEqual(['own1', 'own2']);
    // Offered once (to the name): a move is not counted again.
    expect([gone.pushed, heir.pushed]).toEqual([5, 1]);
  });

  it('with a session still attached: nothing moves until it ends, then what it had not acknowledged goes first', () => {
    const { box: gone, lost } = make();
    const old = channel();
    gone.attach(old, true);
    // The window is half the capacity: a..d go out, e, f wait.
    queue(gone, ['a', 'b', 'c', 'd', 'e', 'f'], old);
    expect(old.payloads()).toEqual(['a', 'b', 'c', 'd']);
    const { box: heir } = make();
    expect(gone.passOnOnes(() => ({ outbox: heir, channel: undefined }))).toBe(0);
    expect(heir.size).toBe(0);
    // Acknowledged before its session ended: handled, not sent again.
    gone.acknowledge(2);
    gone.detach(old);
    expect(heir.size).toBe(4);
    const heirChannel = channel();
    heir.attach(heirChannel, true);
    expect(heirChannel.payloads()).toEqual(['c', 'd', 'e', 'f']);
    expect([gone.size, gone.unacked, lost]).toEqual([0, 0, []]);
  });

  it('at-most-once: what the session had been sent is reported lost when it ends, what waited moves', () => {
    const { box: gone, lost } = make({ delivery: 'at-most-once' });
    const old = channel();
    gone.attach(old, true);
    queue(gone, ['a', 'b', 'c', 'd', 'e', 'f'], old);
    const { box: heir } = make();
    gone.passOnOnes(() => ({ outbox: heir, channel: undefined }));
    gone.detach(old);
    expect(lost).toEqual([[1, 4, 4]]);
    expect([gone.lost, heir.size, heir.lost]).toEqual([4, 2, 0]);
  });

  it('without an heir they stay; a new session of its own cancels the hand-over', () => {
    const { box: gone } = make();
    queue(gone, ['a', 'b']);
    expect(gone.passOnOnes(() => undefined)).toBe(0);
    const { box: heir } = make();
    gone.passOnOnes(() => ({ outbox: heir, channel: undefined }));
    expect(heir.size).toBe(2);
    // Started again: later ends of its sessions keep what it has.
    const { box: back } = make();
    const first = channel();
    back.attach(first, true);
    back.passOnOnes(() => ({ outbox: heir, channel: undefined }));
    const second = channel();
    back.attach(second, true);
    queue(back, ['x'], second);
    back.detach(second);
    expect([back.size, heir.size]).toEqual([1, 2]);
  });

  it('clear() (unloaded) with a session attached: pushes for any one instance go to the heir, the rest is reported lost', () => {
    const { box: gone, lost } = make();
    const old = channel();
    gone.attach(old, true);
    queue(gone, ['a', 'own1', 'b'], old);
    const { box: heir } = make();
    gone.passOnOnes(() => ({ outbox: heir, channel: undefined }));
    gone.clear();
    expect(heir.size).toBe(2);
    expect(lost).toEqual([[2, 2, 1]]);
  });
});

describe('PushOutbox.handOver (an upgrade retires an instance)', () => {
  it('at-least-once: what was sent and not acknowledged, then what waited, moves in order under the heir’s seq', () => {
    const { box: old, lost } = make({ capacity: 4 });
    const oldChannel = channel();
    old.attach(oldChannel, true);
    // The window is half the capacity: m1, m2 go out, m3, m4 wait.
    for (let n = 1; n <= 4; n++) old.enqueue('t', payload(`m${n}`), oldChannel);
    expect(oldChannel.payloads()).toEqual(['m1', 'm2']);
    old.acknowledge(1);
    expect(oldChannel.payloads()).toEqual(['m1', 'm2', 'm3']);

    const { box: heir } = make({ capacity: 4 });
    const heirChannel = channel();
    heir.attach(heirChannel, true);
    heir.enqueue('t', payload('h1'), heirChannel);
    expect(old.handOver(heir, heirChannel)).toBe(3);
    // m2 and m3 were sent and not acknowledged, m4 never sent: the heir's window sends what fits.
    expect(heirChannel.payloads()).toEqual(['h1', 'm2']);
    heir.acknowledge(2);
    heir.acknowledge(4);
    expect(heirChannel.payloads()).toEqual(['h1', 'm2', 'm3', 'm4']);
    expect(heirChannel.seqs()).toEqual([1, 2, 3, 4]);
    expect(lost).toEqual([]);
    // The old outbox is empty and detached: a late acknowledgement or detach changes nothing.
    expect([old.size, old.unacked]).toEqual([0, 0]);
    old.acknowledge(3);
    old.detach(oldChannel);
    expect(lost).toEqual([]);
  });

  it('at-most-once: what the old process may have seen is reported lost, what it never got moves', () => {
    const { box: old, lost } = make({ capacity: 4, delivery: 'at-most-once' });
    const oldChannel = channel();
    old.attach(oldChannel, true);
    for (let n = 1; n <= 3; n++) old.enqueue('t', payload(`m${n}`), oldChannel);
    const { box: heir } = make({ capacity: 4 });
    expect(old.handOver(heir, undefined)).toBe(1);
    expect(lost).toEqual([[1, 2, 2]]);
    expect(old.lost).toBe(2);
    expect(heir.size).toBe(1);
  });
});
