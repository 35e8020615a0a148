import { describe, expect, it } from 'vitest';
import { RollingCallStats } from './rolling-call-stats.js';

describe('RollingCallStats', () => {
  const t0 = 1_000_000_000_000;

  it('has no percentiles and no rates before the first call', () => {
    expect(new RollingCallStats().figures(t0)).toEqual({ callsPerSec: 0, errorRate: 0, p50Ms: null, p99Ms: null });
  });

  it('takes rates over the last ten seconds and percentiles over the last calls', () => {
    const stats = new RollingCallStats(100);
    for (let i = 1; i <= 100; i++) stats.record(i, i % 4 !== 0, t0 + i * 10);
    expect(stats.figures(t0 + 1_500)).toEqual({ callsPerSec: 10, errorRate: 0.25, p50Ms: 50, p99Ms: 99 });
  });

  it('forgets calls older than the window, and keeps only the last samples', () => {
    const stats = new RollingCallStats(3);
    for (const ms of [500, 400, 300, 2, 1]) stats.record(ms, false, t0);
    stats.record(3, true, t0 + 5_000);
    expect(stats.figures(t0 + 5_000)).toMatchObject({ callsPerSec: 0.6, errorRate: 5 / 6, p50Ms: 2, p99Ms: 3 });
    // Ten seconds after the first batch its counts are gone; the latencies stay until replaced.
    expect(stats.figures(t0 + 10_000)).toMatchObject({ callsPerSec: 0.1, errorRate: 0, p50Ms: 2 });
    expect(stats.figures(t0 + 60_000)).toMatchObject({ callsPerSec: 0, errorRate: 0 });
  });

  it('counts a call without a duration (a stream) in the rates only', () => {
    const stats = new RollingCallStats();
    stats.record(undefined, false, t0);
    expect(stats.figures(t0)).toEqual({ callsPerSec: 0.1, errorRate: 1, p50Ms: null, p99Ms: null });
  });
});
