import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const DEFAULT_SAMPLE_MS = 1_000;

/** Resident memory of a process in MiB: /proc on Linux, `ps` elsewhere; undefined when it is gone. */
export function rssMiBOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    if (process.platform === 'linux') return undefined;
  }
  try {
    const kb = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim());
    return Number.isFinite(kb) && kb > 0 ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples one plugin process's resident memory and calls `onOver` once, at the first sample over
 * `limitMiB`. Sampling misses a spike between two samples: it bounds steady growth, not a burst.
 */
export class RssWatchdog {
  private readonly timer: NodeJS.Timeout;
  private fired = false;

  constructor(
    private readonly pid: number,
    private readonly limitMiB: number,
    private readonly onOver: (rssMiB: number) => void,
    sampleMs = DEFAULT_SAMPLE_MS,
  ) {
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const rss = rssMiBOf(this.pid);
    if (rss === undefined || rss <= this.limitMiB || this.fired) return;
    this.fired = true;
    this.stop();
    this.onOver(rss);
  }
}
