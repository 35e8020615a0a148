import { residentMiB } from './process-sample.js';

const DEFAULT_SAMPLE_MS = 1_000;

/**
 * Samples one plugin process's resident memory and calls `onOver` once, at the first sample over
 * `limitMiB`. Sampling misses a spike between two samples: it bounds steady growth, not a burst.
 */
export class RssWatchdog {
  private readonly timer: NodeJS.Timeout;
  private fired = false;
  /** One sample at a time: a slow read is not overtaken by the next tick. */
  private sampling = false;

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
    if (this.sampling || this.fired) return;
    this.sampling = true;
    void residentMiB(this.pid).then((rss) => {
      this.sampling = false;
      if (rss === undefined || rss <= this.limitMiB || this.fired) return;
      this.fired = true;
      this.stop();
      this.onOver(rss);
    });
  }
}
