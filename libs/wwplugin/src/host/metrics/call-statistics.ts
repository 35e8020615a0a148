/** Labels of one call series: the plugin, the function and the kind of call. */
export interface CallLabels {
  plugin: string;
  function: string;
  kind: string;
}

/**
 * The figures of one (plugin, function, kind), kept as plain numbers while calls run: prom-client
 * reads them when Prometheus scrapes, so a call costs a few additions, not label hashing.
 */
export class CallStatistics {
  inFlight = 0;
  calls = 0;
  /** Sum of the latencies, in seconds. */
  sum = 0;
  /** Calls per latency bucket (not cumulative); the last one counts what is above every bound. */
  readonly buckets: number[];
  /** Failed calls by error code. */
  readonly errors = new Map<string, number>();

  constructor(
    readonly labels: CallLabels,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Array<number>(bounds.length + 1).fill(0);
  }

  /** A call ended after `seconds`, 'ok' or with an error code. */
  ended(seconds: number, outcome: string): void {
    this.inFlight--;
    this.calls++;
    this.sum += seconds;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.buckets[i]++;
    if (outcome !== 'ok') this.errors.set(outcome, (this.errors.get(outcome) ?? 0) + 1);
  }
}
