import { EventEmitter } from 'node:events';
import type { Frame } from '../../libs/wwplugin/src/protocol/frames.js';
import { frameCodec } from '../../libs/wwplugin/src/protocol/proto-definition.js';
import type { FrameStream } from '../../libs/wwplugin/src/protocol/session-channel.js';

const codec = frameCodec();

/**
 * One direction of an in-memory session: frames written here are encoded and decoded with the real
 * codec (so they look exactly as gRPC hands them over) and delivered to the peer only when the test
 * says so. Up to `capacity` undelivered frames, write() returns true; past it, false, and 'drain'
 * follows once deliveries bring it under again — the same contract as a grpc-js stream.
 */
export class MemoryEnd extends EventEmitter implements FrameStream {
  peer?: MemoryEnd;
  private readonly buffered: Array<{ frame: Frame; cb?: (err?: Error | null) => void }> = [];
  private wantsDrain = false;
  ended = false;
  /** Frames written after end() (must stay 0). */
  writesAfterEnd = 0;
  /** Every frame written, in order, as the peer decodes it. */
  readonly written: Frame[] = [];
  /** The most frames ever waiting here, and the most Chunk frames among them. */
  maxBuffered = 0;
  maxChunksBuffered = 0;

  constructor(public capacity = 16) {
    super();
  }

  get pending(): number {
    return this.buffered.length;
  }

  write(frame: Frame, cb?: (err?: Error | null) => void): boolean {
    if (this.ended) {
      this.writesAfterEnd += 1;
      return false;
    }
    const decoded = codec.decode(codec.encode(frame)) as Frame;
    this.written.push(decoded);
    this.buffered.push({ frame: decoded, cb });
    this.maxBuffered = Math.max(this.maxBuffered, this.buffered.length);
    this.maxChunksBuffered = Math.max(this.maxChunksBuffered, this.buffered.filter((b) => b.frame.chunk).length);
    const ok = this.buffered.length < this.capacity;
    if (!ok) this.wantsDrain = true;
    return ok;
  }

  end(): void {
    this.ended = true;
  }

  /** Hands up to `n` frames to the peer, in order; returns how many went. */
  deliver(n = Infinity): number {
    let count = 0;
    while (count < n && this.buffered.length) {
      const { frame, cb } = this.buffered.shift()!;
      count += 1;
      cb?.();
      this.peer?.emit('data', frame);
    }
    if (this.wantsDrain && this.buffered.length < this.capacity) {
      this.wantsDrain = false;
      this.emit('drain');
    }
    return count;
  }
}

/** Two connected ends: what `a` writes, `b` receives, and the other way round. */
export function memoryPair(capacity = 16): { a: MemoryEnd; b: MemoryEnd } {
  const a = new MemoryEnd(capacity);
  const b = new MemoryEnd(capacity);
  a.peer = b;
  b.peer = a;
  return { a, b };
}

/** Delivers in both directions, yielding to the event loop between rounds, until nothing moves. */
export async function pump(pair: { a: MemoryEnd; b: MemoryEnd }, until: () => boolean = () => false, maxRounds = 100_000): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    const moved = pair.a.deliver() + pair.b.deliver();
    if (until()) return;
    // Handlers and producers run on promises and timers: let them.
    await new Promise((r) => setImmediate(r));
    if (!moved && !pair.a.pending && !pair.b.pending && until()) return;
  }
}
