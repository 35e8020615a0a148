import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallSlots, type SlotRequest } from './call-slots.js';

class Busy extends Error {}
class Expired extends Error {}
class Aborted extends Error {}

const request = (extra: Partial<SlotRequest> = {}): SlotRequest => ({
  busy: () => new Busy('busy'),
  expired: () => new Expired('expired'),
  aborted: () => new Aborted('aborted'),
  ...extra,
});

/** What a promise has settled with so far, without waiting for it. */
function watch<T>(p: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const w: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => (w.state = 'resolved'),
    (error) => Object.assign(w, { state: 'rejected', error }),
  );
  return w;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CallSlots', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('grants up to the limit at once, then only through the line', () => {
    const slots = new CallSlots(2, 10);
    expect([slots.tryAcquire(), slots.tryAcquire(), slots.tryAcquire()]).toEqual([true, true, false]);
    expect(slots.running).toBe(2);
    slots.release();
    expect(slots.running).toBe(1);
    expect(slots.tryAcquire()).toBe(true);
  });

  it('hands freed slots to waiters in FIFO order and never runs more than the limit', async () => {
    const slots = new CallSlots(1, 10);
    expect(slots.tryAcquire()).toBe(true);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => slots.acquire(request()).then(() => order.push(n)));
    expect(slots.waiting).toBe(3);
    // A newcomer does not overtake the line, even right after a release.
    slots.release();
    expect(slots.tryAcquire()).toBe(false);
    await flush();
    expect(order).toEqual([1]);
    expect(slots.running).toBe(1);
    slots.release();
    slots.release();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    expect(slots.running).toBe(1);
    expect(slots.waiting).toBe(0);
    slots.release();
    expect(slots.running).toBe(0);
  });

  it('refuses a waiter past maxQueued with the busy error', async () => {
    const slots = new CallSlots(1, 2);
    slots.tryAcquire();
    const queued = [slots.acquire(request()), slots.acquire(request())];
    await expect(slots.acquire(request())).rejects.toBeInstanceOf(Busy);
    expect(slots.waiting).toBe(2);
    slots.release();
    slots.release();
    await Promise.all(queued);
  });

  it('an aborted waiter leaves the line at once and the next one keeps its place', async () => {
    const slots = new CallSlots(1, 10);
    slots.tryAcquire();
    const controller = new AbortController();
    const first = watch(slots.acquire(request({ signal: controller.signal })));
    const second = watch(slots.acquire(request()));
    controller.abort();
    await flush();
    expect(first.state).toBe('rejected');
    expect(first.error).toBeInstanceOf(Aborted);
    expect(slots.waiting).toBe(1);
    slots.release();
    await flush();
    expect(second.state).toBe('resolved');
    expect(slots.running).toBe(1);
  });

  it('a waiter whose deadline passes fails with the expired error and frees its place', async () => {
    vi.useFakeTimers();
    const slots = new CallSlots(1, 10);
    slots.tryAcquire();
    const waiting = watch(slots.acquire(request({ deadlineAt: Date.now() + 300 })));
    vi.advanceTimersByTime(299);
    await Promise.resolve();
    expect(waiting.state).toBe('pending');
    vi.advanceTimersByTime(1);
    await vi.waitFor(() => expect(waiting.state).toBe('rejected'));
    expect(waiting.error).toBeInstanceOf(Expired);
    expect(slots.waiting).toBe(0);
    // The slot it never got is not counted: releasing the holder frees the plugin.
    slots.release();
    expect(slots.running).toBe(0);
  });

  it('fails at once when already aborted or past the deadline', async () => {
    const slots = new CallSlots(1, 10);
    slots.tryAcquire();
    const controller = new AbortController();
    controller.abort();
    await expect(slots.acquire(request({ signal: controller.signal }))).rejects.toBeInstanceOf(Aborted);
    await expect(slots.acquire(request({ deadlineAt: Date.now() - 1 }))).rejects.toBeInstanceOf(Expired);
    expect(slots.waiting).toBe(0);
  });

  it('a granted waiter is no longer affected by its signal or deadline', async () => {
    vi.useFakeTimers();
    const slots = new CallSlots(1, 10);
    slots.tryAcquire();
    const controller = new AbortController();
    const waiting = slots.acquire(request({ signal: controller.signal, deadlineAt: Date.now() + 100 }));
    slots.release();
    await waiting;
    controller.abort();
    vi.advanceTimersByTime(1_000);
    expect(slots.running).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
