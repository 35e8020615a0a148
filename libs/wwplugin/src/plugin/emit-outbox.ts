import { EmitBufferFullError } from '../errors/wwplugin.errors.js';
import type { WwPluginOptions } from '../interfaces/plugin-options.interface.js';
import { BoundedOutbox, messageBytes } from '../protocol/bounded-outbox.js';
import { OverflowReporter } from '../protocol/overflow-reporter.js';
import type { WireParameter } from '../protocol/parameters.js';
import type { SessionChannel, TraceFields } from '../protocol/session-channel.js';
import { EMIT_BUFFER_FULL } from '../wwplugin.messages.js';

const DEFAULT_EMIT_BUFFER_SIZE = 10_000;
const DEFAULT_EMIT_BUFFER_BYTES = 16 * 1024 * 1024;

/**
 * A plugin's emits on their way to the host, bounded: a plugin emitting faster than the host reads
 * (or before the host welcomed it) holds at most `emitBufferSize` messages and `emitBufferBytes`
 * bytes; beyond that `emitOverflow` decides, and every message dropped is counted and reported to
 * the host in EmitOverflow frames (rate-limited, exact).
 */
export class EmitOutbox {
  private readonly outbox: BoundedOutbox;
  private readonly reporter: OverflowReporter;
  private channel?: SessionChannel;
  private reports = false;

  constructor(options: WwPluginOptions) {
    this.outbox = new BoundedOutbox(
      {
        maxMessages: options.emitBufferSize ?? DEFAULT_EMIT_BUFFER_SIZE,
        maxBytes: options.emitBufferBytes ?? DEFAULT_EMIT_BUFFER_BYTES,
        overflow: options.emitOverflow ?? 'drop-oldest',
      },
      () => this.reporter.note(),
    );
    this.reporter = new OverflowReporter(
      () => this.outbox.dropped,
      (dropped, droppedSinceLast) => {
        const channel = this.channel;
        if (!channel || channel.isClosed || !this.reports) return false;
        // A control frame: it must reach the host even while emits wait for the stream to drain.
        channel.send({ emitOverflow: { dropped, droppedSinceLast } });
      },
    );
  }

  /** Emits dropped so far because the buffer was full. */
  get dropped(): number {
    return this.outbox.dropped;
  }

  /** Emits waiting to be sent. */
  get queued(): number {
    return this.outbox.queued;
  }

  /** Sends through the welcomed session; `reports`: the host understands EmitOverflow frames. */
  attach(channel: SessionChannel, reports: boolean): void {
    this.channel = channel;
    this.reports = reports;
    this.outbox.attach(channel);
    this.reporter.flush();
  }

  /** Takes one emit; throws EmitBufferFullError when full under the 'error' policy. */
  emit(topic: string, payload: WireParameter, trace?: TraceFields): void {
    const outcome = this.outbox.offer(
      { frame: { emit: trace ? { topic, payload, ...trace } : { topic, payload } }, bytes: messageBytes(topic, payload) },
      this.channel !== undefined,
    );
    if (outcome === 'refused') throw new EmitBufferFullError(EMIT_BUFFER_FULL(this.outbox.limits.maxMessages, this.outbox.limits.maxBytes));
  }

  /**
   * The session is ending: waits up to `timeoutMs` for queued emits to be written, counts what is
   * still queued as dropped, and sends the final count.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.channel && !this.channel.isClosed) await this.outbox.whenSent(timeoutMs);
    this.outbox.drop(this.outbox.takeQueued().length);
    this.reporter.flush();
    this.reporter.cancel();
  }
}
