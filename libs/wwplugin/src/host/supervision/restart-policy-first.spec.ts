import { describe, expect, it } from 'vitest';
import { RestartTracker } from './restart-policy.js';

// The first restart after a healthy run: at once by default; a crash loop still backs off.
describe('RestartTracker: the first restart after a healthy run', () => {
  it('is immediate with the defaults, and the restarts that follow inside the window back off', () => {
    const tracker = new RestartTracker(undefined, undefined, () => 0.5);
    const delays = Array.from({ length: 5 }, (_, i) => tracker.next(i).delayMs);
    expect(delays).toEqual([0, 100, 200, 400, 800]);
    expect(tracker.isCrashLooping(5)).toBe(true);
  });

  it('is immediate again once the earlier restarts have left the window', () => {
    const tracker = new RestartTracker({ windowMs: 1_000, jitter: 0 });
    expect(tracker.next(0).delayMs).toBe(0);
    expect(tracker.next(10).delayMs).toBe(100);
    tracker.isCrashLooping(5_000);
    expect(tracker.next(5_000).delayMs).toBe(0);
  });

  it('waits firstBackoffMs when set, and initialBackoffMs when only that is set (plugin policy or host defaults)', () => {
    expect(new RestartTracker({ firstBackoffMs: 30, jitter: 0 }).next(0).delayMs).toBe(30);
    expect(new RestartTracker({ initialBackoffMs: 70, jitter: 0 }).next(0).delayMs).toBe(70);
    expect(new RestartTracker({ jitter: 0 }, { initialBackoffMs: 90 }).next(0).delayMs).toBe(90);
    expect(new RestartTracker({ initialBackoffMs: 70, firstBackoffMs: 0, jitter: 0 }).next(0).delayMs).toBe(0);
  });
});
