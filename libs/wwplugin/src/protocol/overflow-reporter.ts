/** At most one overflow report per this many milliseconds; the last one of a burst always follows. */
export const OVERFLOW_REPORT_MS = 100;

/**
 * Rate-limits reports of a drop counter without making them inexact: each report carries the
 * counter as it is at that moment and what it grew by since the previous report, so the deltas of
 * all reports add up to the counter. The first drop after a quiet spell is reported at once, the
 * rest of a burst in one trailing report.
 */
export class OverflowReporter {
  private reported = 0;
  private lastAt = 0;
  private timer?: NodeJS.Timeout;

  /** `report` returns false when it could not deliver the report: it is tried again later. */
  constructor(
    private readonly counter: () => number,
    private readonly report: (total: number, sinceLast: number) => boolean | void,
    private readonly intervalMs = OVERFLOW_REPORT_MS,
  ) {}

  /** The total the last delivered report stated. */
  get lastReported(): number {
    return this.reported;
  }

  /** Call after the counter grew. */
  note(): void {
    if (this.timer) return;
    const wait = this.lastAt + this.intervalMs - Date.now();
    if (wait <= 0) return this.fire();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, wait);
    // A report must not keep a process alive on its own.
    this.timer.unref();
  }

  /** Reports what is still unreported now, whatever the rate limit (on close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.fire();
  }

  /** Forgets a pending trailing report (the counter's owner is gone). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    const total = this.counter();
    if (total === this.reported) return;
    if (this.report(total, total - this.reported) === false) return;
    this.reported = total;
    this.lastAt = Date.now();
  }
}
