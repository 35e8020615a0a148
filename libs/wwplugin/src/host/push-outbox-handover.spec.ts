import { describe, expect, it } from 'vitest';
import type { Frame } from '../protocol/frames.js';
import type { SessionChannel } from '../protocol/session-channel.js';
import { PushOutbox, type PushOutboxOptions } from './push-outbox.js';

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
    capacity: 4,
    maxBytes: 1e9,
    overflow: 'drop-oldest',
    delivery: 'at-least-once',
    onLost: (first, last, count) => lost.push([first, last, count]),
    ...over,
  });
  return { box, lost };
};

describe('PushOutbox.handOver (an upgrade retires an instance)', () => {
  it('at-least-once: what was sent and not acknowledged, then what waited, moves in order under the heir’s seq', () => {
    const { box: old, lost } = make();
    const oldChannel = channel();
    old.attach(oldChannel, true);
    // The window is half the capacity: m1, m2 go out, m3, m4 wait.
    for (let n = 1; n <= 4; n++) old.enqueue('t', payload(`m${n}`), oldChannel);
    expect(oldChannel.payloads()).toEqual(['m1', 'm2']);
    old.acknowledge(1);
    expect(oldChannel.payloads()).toEqual(['m1', 'm2', 'm3']);

    const { box: heir } = make();
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
    const { box: old, lost } = make({ delivery: 'at-most-once' });
    const oldChannel = channel();
    old.attach(oldChannel, true);
    for (let n = 1; n <= 3; n++) old.enqueue('t', payload(`m${n}`), oldChannel);
    const { box: heir } = make();
    expect(old.handOver(heir, undefined)).toBe(1);
    expect(lost).toEqual([[1, 2, 2]]);
    expect(old.lost).toBe(2);
    expect(heir.size).toBe(1);
  });
});
