import { PerformanceObserver } from 'node:perf_hooks';

/** Latency summary of a series of samples, in microseconds. */
export interface Latency {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

/** Nearest-rank percentile of already sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(samplesUs: number[]): Latency {
  const sorted = [...samplesUs].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean, n: sorted.length };
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/**
 * Calls made before sequential calls are timed, raw reference and framework alike (ms; --quick:
 * 100). Long enough for both to reach their steady state: `npm run bench:call-warmup` shows the
 * framework's p50 and CPU per call settling after about 9,000 calls, raw grpc-js after about 6,000.
 */
export function sequentialWarmupMs(quick: boolean): number {
  return quick ? 100 : 5_000;
}

const nowUs = () => performance.now() * 1000;

/**
 * Runs `fn` one call at a time: unmeasured calls for `warmupMs` (so that V8 has compiled the whole
 * path, however long it is: the same time for a raw reference and for the framework), then `n`
 * timed ones.
 */
export async function sequential(n: number, warmupMs: number, fn: () => Promise<unknown>): Promise<Latency> {
  await warmUp(warmupMs, 0, fn);
  return summarize(await timed(n, fn));
}

async function warmUp(ms: number, minCalls: number, fn: () => Promise<unknown>): Promise<void> {
  const warmUntil = performance.now() + ms;
  let calls = 0;
  do {
    await fn();
    calls++;
  } while (performance.now() < warmUntil || calls < minCalls);
}

async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = nowUs();
    await fn();
    samples[i] = nowUs() - t0;
  }
  return samples;
}

/**
 * Calls warmed up before the CPU per sequential call is measured, at the least (--quick: none):
 * `npm run bench:call-warmup` shows the framework settling after about 9,000 calls, raw grpc-js
 * after about 6,000. On a quiet machine sequentialWarmupMs makes more than that; on a busy one a
 * time alone gives the path slower to warm up fewer calls (measured: 3,000-9,000 framework calls
 * against 30,000-43,000 raw ones in the same 5 s).
 */
export function sequentialWarmupCalls(quick: boolean): number {
  return quick ? 0 : 15_000;
}

/** Latency of sequential calls, and their CPU per call in both processes. */
export interface SequentialCpu extends Latency {
  /** CPU µs per call of this process and the peer together: the median of the batches. */
  cpuPerCall: number;
  /** Each batch's figure. */
  cpuBatches: number[];
}

/**
 * Sequential calls as `sequential` runs them, measured as CPU per call too: the raw reference and
 * the framework both go through here. `peerCpu` reads the peer's CPU (µs) with a call of its own;
 * that call is made during the warm-up too, because its first use changes the call path's compiled
 * code (another function or RPC through the same code) and the recompilation would otherwise land
 * in the first measured batch. CPU is the median of `batches` batches of `n` calls, latency is over
 * all their calls: one batch is too easily caught by a compilation or a collection.
 */
export async function sequentialCpu(
  n: number,
  warmupMs: number,
  minWarmCalls: number,
  fn: () => Promise<unknown>,
  peerCpu: () => Promise<number>,
  batches = 3,
): Promise<SequentialCpu> {
  await warmUp(warmupMs / 2, minWarmCalls / 2, fn);
  await peerCpu();
  await warmUp(warmupMs / 2, minWarmCalls / 2, fn);
  const samples: number[] = [];
  const cpuBatches: number[] = [];
  for (let b = 0; b < batches; b++) {
    const peer0 = await peerCpu();
    const own0 = process.cpuUsage();
    samples.push(...(await timed(n, fn)));
    const own = process.cpuUsage(own0);
    cpuBatches.push((own.user + own.system + (await peerCpu()) - peer0) / n);
  }
  return { ...summarize(samples), cpuPerCall: median(cpuBatches), cpuBatches };
}

/**
 * Keeps `concurrency` calls in flight for `durationMs` (after a warm-up of a quarter of that) and
 * returns completed calls per second.
 */
export async function inFlight(concurrency: number, durationMs: number, fn: () => Promise<unknown>): Promise<number> {
  const run = async (ms: number) => {
    let done = 0;
    const start = performance.now();
    const end = start + ms;
    const worker = async () => {
      while (performance.now() < end) {
        await fn();
        done++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return (done * 1000) / (performance.now() - start);
  };
  await run(durationMs / 4);
  return run(durationMs);
}

/** A string of `bytes` ASCII characters: the payload every path carries. */
export function makePayload(bytes: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < bytes; i++) s += alphabet[i % alphabet.length];
  return s;
}

export const MiB = 1024 * 1024;

/** Garbage collections of this process since it was made: their count and total ms (read, then subtract). */
export function gcMeter(): { ms: number; count: number } {
  const seen = { ms: 0, count: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      seen.ms += e.duration;
      seen.count++;
    }
  }).observe({ entryTypes: ['gc'] });
  return seen;
}
