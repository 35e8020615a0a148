import type { Frame } from '../protocol/frames.js';
import type { WireParameter } from '../protocol/parameters.js';
import type { SessionChannel } from '../protocol/session-channel.js';

/**
 * Pushes waiting for one plugin, bounded. Frames go to the session only while its stream has room,
 * so a plugin that reads slowly (or is restarting) costs the host at most `capacity` messages;
 * beyond that the overflow policy drops the oldest or the newest and counts them.
 */
export class PushOutbox {
  private readonly queue: Frame[] = [];
  private head = 0;
  private seq = 0;
  private waitingForDrain = false;
  dropped = 0;

  constructor(
    private readonly capacity: number,
    private readonly overflow: 'drop-oldest' | 'drop-newest',
  ) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  /** Queues a push; returns false when the buffer was full and a message was dropped. */
  enqueue(topic: string, payload: WireParameter, channel: SessionChannel | undefined): boolean {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    const frame: Frame = { push: { topic, payload, seq: this.seq } };
    if (this.size === 0 && channel && !channel.isClosed && !channel.isBlocked) {
      channel.send(frame);
      return true;
    }
    let kept = true;
    if (this.size >= this.capacity) {
      this.dropped += 1;
      kept = false;
      if (this.overflow === 'drop-newest') {
        this.flush(channel);
        return false;
      }
      // Let go of the dropped frame now, not at the next compaction.
      this.queue[this.head++] = undefined as unknown as Frame;
    }
    this.queue.push(frame);
    this.flush(channel);
    return kept;
  }

  /** Sends what the session has room for; resumes on its next drain. */
  flush(channel: SessionChannel | undefined): void {
    if (!channel || channel.isClosed) return;
    while (this.size > 0 && !channel.isBlocked) {
      const frame = this.queue[this.head];
      this.queue[this.head++] = undefined as unknown as Frame;
      channel.send(frame);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.size > 0 && !this.waitingForDrain) {
      this.waitingForDrain = true;
      channel.onDrain(() => {
        this.waitingForDrain = false;
        this.flush(channel);
      });
    }
  }

  clear(): void {
    this.queue.length = 0;
    this.head = 0;
  }
}
