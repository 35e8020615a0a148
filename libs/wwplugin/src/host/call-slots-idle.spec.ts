import { describe, expect, it } from 'vitest';
import { CallSlots } from './call-slots.js';

const request = () => ({ busy: () => new Error('busy'), expired: () => new Error('expired'), aborted: () => new Error('aborted') });

describe('CallSlots.idle (an upgrade drains an old instance)', () => {
  it('resolves at once when nothing holds or waits for a slot', async () => {
    await expect(new CallSlots(2, 2).idle()).resolves.toBeUndefined();
  });

  it('resolves only once the last holder has released, waiters included', async () => {
    const slots = new CallSlots(1, 5);
    expect(slots.tryAcquire()).toBe(true);
    const waiter = slots.acquire(request());
    let idle = false;
    const drained = slots.idle().then(() => (idle = true));
    slots.release(); // the slot passes to the waiter: still busy
    await waiter;
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(slots.running).toBe(1);
    slots.release();
    await drained;
    expect(idle).toBe(true);
    expect(slots.running).toBe(0);
  });
});
