import { Subject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineExceededError } from '../errors/wwplugin.errors.js';
import { idleDeadline } from './idle-deadline.js';

describe('idleDeadline', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('restarts with every item and fails, unsubscribing the source, after a silence of its length', () => {
    vi.useFakeTimers();
    const source = new Subject<number>();
    const seen: number[] = [];
    let failed: unknown;
    source.pipe(idleDeadline(100, 'p', 'ticks')).subscribe({ next: (v) => seen.push(v), error: (e) => (failed = e) });
    vi.advanceTimersByTime(99);
    source.next(1);
    vi.advanceTimersByTime(99);
    source.next(2);
    expect(failed).toBeUndefined();
    vi.advanceTimersByTime(100);
    expect(seen).toEqual([1, 2]);
    expect(failed).toBeInstanceOf(DeadlineExceededError);
    expect((failed as DeadlineExceededError).message).toBe('Stream p.ticks sent no item for 100 ms (its idle deadline).');
    expect((failed as DeadlineExceededError).details).toEqual({ idleTimeoutMs: 100 });
    // Leaving the source is what cancels the call at the callee.
    expect(source.observed).toBe(false);
  });

  it('0 or undefined: no deadline, the source is passed through as is', () => {
    const source = new Subject<number>();
    expect(source.pipe(idleDeadline(0, 'p', 'f'))).toBe(source);
    expect(source.pipe(idleDeadline(undefined, 'p', 'f'))).toBe(source);
  });
});
