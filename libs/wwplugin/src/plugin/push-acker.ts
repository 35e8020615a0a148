import type { SessionChannel } from '../protocol/session-channel.js';

/**
 * Acknowledges the host's pushes with one cumulative PushAck per batch: after `every` pushes, or
 * `delayMs` after the first push not yet acknowledged, whichever comes first. Per push it costs a
 * counter; per batch one small frame.
 */
export class PushAcker {
  private lastSeq = 0;
  private pending = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly channel: SessionChannel,
    private readonly every: number,
    private readonly delayMs: number,
  ) {}

  /** Call once the push with `seq` has been handed to the plugin's subscribers. */
  received(seq: number): void {
    this.lastSeq = seq;
    if (++this.pending >= this.every) return this.flush();
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.delayMs);
      this.timer.unref();
    }
  }

  /** Sends the acknowledgement now (a batch is full, the timer fired, or the session is ending). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending) return;
    this.pending = 0;
    // A control frame: sent even while the stream is blocked, or the host's buffer would fill up
    // with pushes this plugin already has.
    this.channel.send({ ack: { seq: this.lastSeq } });
  }
}
