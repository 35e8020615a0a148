/** Seconds of calls the rates (calls/s, error rate) are taken over. */
const RATE_WINDOW_S = 10;

/** What the page shows of one plugin's recent calls. */
export interface CallFigures {
  callsPerSec: number;
  /** Failed calls over all calls in the rate window (0..1); 0 without calls. */
  errorRate: number;
  /** Latency percentiles (ms) of the last `samples` calls; null before the first call. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * One plugin's recent calls in fixed memory: per-second counters over the last RATE_WINDOW_S
 * seconds for the rates, and a ring of the last `samples` latencies for the percentiles.
 */
export class RollingCallStats {
  private readonly latencies: Float64Array;
  private filled = 0;
  private next = 0;
  private readonly calls = new Uint32Array(RATE_WINDOW_S);
  private readonly errors = new Uint32Array(RATE_WINDOW_S);
  /** The second the newest counter slot belongs to. */
  private second = 0;

  constructor(samples = 1024) {
    this.latencies = new Float64Array(Math.max(1, samples));
  }

  /** One finished call; without a duration (a stream) it counts in the rates only. */
  record(durationMs: number | undefined, ok: boolean, nowMs = Date.now()): void {
    const slot = this.advance(nowMs);
    this.calls[slot]! += 1;
    if (!ok) this.errors[slot]! += 1;
    if (durationMs === undefined) return;
    this.latencies[this.next] = durationMs;
    this.next = (this.next + 1) % this.latencies.length;
    this.filled = Math.min(this.filled + 1, this.latencies.length);
  }

  figures(nowMs = Date.now()): CallFigures {
    this.advance(nowMs);
    let calls = 0;
    let errors = 0;
    for (let i = 0; i < RATE_WINDOW_S; i++) {
      calls += this.calls[i]!;
      errors += this.errors[i]!;
    }
    const sorted = this.latencies.slice(0, this.filled).sort();
    return {
      callsPerSec: calls / RATE_WINDOW_S,
      errorRate: calls ? errors / calls : 0,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    };
  }

  /** Clears the counter slots of the seconds that passed since the last call; returns the current slot. */
  private advance(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const passed = Math.min(second - this.second, RATE_WINDOW_S);
    for (let i = 1; i <= passed; i++) {
      const slot = (this.second + i) % RATE_WINDOW_S;
      this.calls[slot] = 0;
      this.errors[slot] = 0;
    }
    if (second > this.second) this.second = second;
    return this.second % RATE_WINDOW_S;
  }
}

/** Nearest-rank percentile of ascending `sorted`; null when empty. */
function percentile(sorted: Float64Array, q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
