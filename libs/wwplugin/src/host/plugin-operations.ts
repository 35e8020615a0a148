/**
 * Runs one plugin's lifecycle operations (start, stop, restart, unload) one at a time, in the
 * order they were asked for: two of them never interleave, so restart() is atomic and a stop()
 * asked during a start() takes effect after it.
 */
export class PluginOperations {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Runs `op` after every operation queued before it has settled. */
  run<T>(op: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(op).finally(() => (this.pending -= 1));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Operations queued or running. */
  get size(): number {
    return this.pending;
  }
}
