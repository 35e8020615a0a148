import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, RestartTracker } from './restart-policy.js';

const fixedRandom = (value: number) => () => value;

describe('RestartTracker', () => {
  it("mode 'on-failure' restarts after a non-zero code or a signal, not after a clean exit", () => {
    const tracker = new RestartTracker({ mode: 'on-failure' });
    expect(tracker.wantsRestart(1, null)).toBe(true);
    expect(tracker.wantsRestart(null, 'SIGKILL')).toBe(true);
    expect(tracker.wantsRestart(null, null)).toBe(true); // no process could be started
    expect(tracker.wantsRestart(0, null)).toBe(false);
  });

  it("mode 'always' restarts after any exit, 'never' after none", () => {
    expect(new RestartTracker({ mode: 'always' }).wantsRestart(0, null)).toBe(true);
    const never = new RestartTracker({ mode: 'never' });
    expect(never.wantsRestart(1, null)).toBe(false);
    expect(never.wantsRestart(null, 'SIGKILL')).toBe(false);
  });

  it('backs off exponentially up to maxBackoffMs', () => {
    const tracker = new RestartTracker({ initialBackoffMs: 100, maxBackoffMs: 1_000, jitter: 0, maxRestarts: 100 });
    const delays = Array.from({ length: 6 }, (_, i) => tracker.next(i).delayMs);
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(tracker.count).toBe(6);
  });

  it('spreads each delay by at most ±jitter', () => {
    const policy = { initialBackoffMs: 1_000, jitter: 0.2 };
    expect(new RestartTracker(policy, undefined, fixedRandom(0)).next(0).delayMs).toBe(800);
    expect(new RestartTracker(policy, undefined, fixedRandom(0.5)).next(0).delayMs).toBe(1_000);
    expect(new RestartTracker(policy, undefined, fixedRandom(0.999999)).next(0).delayMs).toBe(1_200);
  });

  it('is crash looping once maxRestarts restarts fall within windowMs, and recovers as they age out', () => {
    const tracker = new RestartTracker({ maxRestarts: 3, windowMs: 10_000, jitter: 0 });
    expect(tracker.isCrashLooping(0)).toBe(false);
    tracker.next(0);
    tracker.next(1_000);
    expect(tracker.isCrashLooping(2_000)).toBe(false);
    tracker.next(2_000);
    expect(tracker.isCrashLooping(3_000)).toBe(true);
    // The first restart leaves the window: one more is allowed.
    expect(tracker.isCrashLooping(10_001)).toBe(false);
  });

  it('backs off relative to the restarts still inside the window', () => {
    const tracker = new RestartTracker({ initialBackoffMs: 100, jitter: 0, windowMs: 1_000, maxRestarts: 10 });
    expect(tracker.next(0).delayMs).toBe(100);
    expect(tracker.next(10).delayMs).toBe(200);
    // Stable for longer than the window: back to the first delay.
    tracker.isCrashLooping(5_000);
    expect(tracker.next(5_000)).toEqual({ attempt: 3, delayMs: 100 });
  });

  it('reset() forgets the window but keeps the total count', () => {
    const tracker = new RestartTracker({ maxRestarts: 1 });
    tracker.next(0);
    expect(tracker.isCrashLooping(1)).toBe(true);
    tracker.reset();
    expect(tracker.isCrashLooping(2)).toBe(false);
    expect(tracker.count).toBe(1);
  });

  it('merges plugin policy over host defaults over built-in defaults; unset values do not erase', () => {
    const tracker = new RestartTracker({ maxRestarts: 2, mode: undefined }, { mode: 'always', maxRestarts: 9, windowMs: 5 });
    expect(tracker.limits).toEqual({ maxRestarts: 2, windowMs: 5 });
    expect(tracker.wantsRestart(0, null)).toBe(true);
    expect(new RestartTracker(undefined).limits).toEqual({ maxRestarts: DEFAULT_RESTART_POLICY.maxRestarts, windowMs: DEFAULT_RESTART_POLICY.windowMs });
  });

  it('clamps jitter to [0, 1]', () => {
    const tracker = new RestartTracker({ initialBackoffMs: 100, jitter: 5 }, undefined, fixedRandom(0));
    expect(tracker.next(0).delayMs).toBe(0);
  });
});
