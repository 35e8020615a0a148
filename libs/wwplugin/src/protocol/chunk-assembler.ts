import type { ChunkFrame, Frame } from './frames.js';
import type { FrameCodec } from './proto-definition.js';

export interface ChunkAssemblerOptions {
  codec: () => FrameCodec;
  /** Largest frame one chunked frame may make. */
  maxFrameBytes: () => number;
  /** Bytes all chunked frames in progress may hold together. */
  budgetBytes: () => number;
  /** A chunked frame that gets no piece for this long is dropped. */
  idleMs: number;
  /** A whole frame, reassembled. */
  onFrame: (frame: Frame) => void;
  /** A chunked frame was refused or dropped: its memory is released, the peer is told why. */
  onReject: (id: number, why: string) => void;
}

interface Reassembly {
  parts: Buffer[];
  bytes: number;
  lastAt: number;
}

/**
 * Collects the pieces of chunked frames. What it holds is bounded in bytes (per frame and in all)
 * and in time: a peer that starts frames and never finishes them cannot pin the receiver's memory.
 */
export class ChunkAssembler {
  private readonly open = new Map<number, Reassembly>();
  /** Ids refused before their last piece: the rest of their pieces are skipped, not reassembled. */
  private readonly refused = new Set<number>();
  private held = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly options: ChunkAssemblerOptions) {}

  /** Bytes held by unfinished chunked frames. */
  get heldBytes(): number {
    return this.held;
  }

  get inProgress(): number {
    return this.open.size;
  }

  receive(chunk: ChunkFrame): void {
    const data = chunk.data ?? new Uint8Array(0);
    if (this.refused.has(chunk.id)) {
      if (chunk.last) this.refused.delete(chunk.id);
      return;
    }
    let entry = this.open.get(chunk.id);
    if (!entry) {
      entry = { parts: [], bytes: 0, lastAt: 0 };
      this.open.set(chunk.id, entry);
      this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, this.options.idleMs / 2)).unref();
    }
    entry.lastAt = Date.now();
    entry.bytes += data.byteLength;
    this.held += data.byteLength;
    // gRPC's receive limit applies to each piece, not the whole frame: apply ours here.
    if (entry.bytes > this.options.maxFrameBytes() + 65_536) return this.reject(chunk.id, 'chunked frame over the message size limit');
    if (this.held > this.options.budgetBytes()) return this.reject(chunk.id, 'chunked frames in progress over the reassembly budget');
    entry.parts.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (!chunk.last) return;
    this.release(chunk.id, entry);
    let frame: Frame;
    try {
      frame = this.options.codec().decode(Buffer.concat(entry.parts, entry.bytes)) as Frame;
    } catch (err) {
      return this.options.onReject(chunk.id, `undecodable chunked frame (${(err as Error).message})`);
    }
    if (frame.kind === 'chunk') return this.options.onReject(chunk.id, 'a chunked frame may not hold another chunk');
    this.options.onFrame(frame);
  }

  /** Drops everything (the session ended). */
  clear(): void {
    this.open.clear();
    this.refused.clear();
    this.held = 0;
    this.stopSweeper();
  }

  private reject(id: number, why: string): void {
    const entry = this.open.get(id);
    if (entry) this.release(id, entry);
    // Bounded: a peer that never sends the last pieces must not grow this set either.
    if (this.refused.size >= 1024) this.refused.delete(this.refused.values().next().value!);
    this.refused.add(id);
    this.options.onReject(id, why);
  }

  private release(id: number, entry: Reassembly): void {
    this.open.delete(id);
    this.held -= entry.bytes;
    if (!this.open.size) this.stopSweeper();
  }

  private sweep(): void {
    const oldest = Date.now() - this.options.idleMs;
    for (const [id, entry] of this.open) {
      if (entry.lastAt <= oldest) this.reject(id, `no piece for ${this.options.idleMs} ms`);
    }
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
