import type { Frame } from './frames.js';
import type { FrameCodec } from './proto-definition.js';

/** Frames larger than this travel as Chunk frames of this size, so small frames pass between the pieces. */
export const CHUNK_BYTES = 64 * 1024;

/** The part of a grpc-js duplex stream (client or server side) the writer writes to. */
export interface FrameSink {
  write(frame: Frame, cb?: (err?: Error | null) => void): boolean;
  end(): void;
}

/**
 * Which ordered queue a frame belongs to. Frames of one lane leave in the order they were queued;
 * lanes take turns, one frame or one chunk each. Lane 0 carries pushes, emits and logs; a positive
 * lane the answers to the peer's call of that id; a negative lane this side's call of that id.
 */
export type LaneKey = number;
export const MESSAGE_LANE: LaneKey = 0;

/**
 * How much the writer lets the transport hold that it has not yet confirmed written: frames and
 * bytes. The transport's own "full" signal comes after 16 frames, too early to keep a loopback
 * link busy; this window is what bounds both memory and the wait of a control frame.
 */
export interface TransportWindow {
  frames: number;
  bytes: number;
}

export const DEFAULT_TRANSPORT_WINDOW: TransportWindow = { frames: 256, bytes: 256 * 1024 };

export interface FrameWriterOptions {
  /** Encodes a whole frame to cut it into chunks. */
  codec: () => FrameCodec;
  /** Bytes of chunked frames that may be in progress at once: the receiver holds them until the last piece. */
  chunkBudgetBytes: () => number;
  window?: TransportWindow;
}

interface Entry {
  frame: Frame;
  /** Encoded size, or an upper bound of it; over CHUNK_BYTES it is the exact size. */
  size: number;
}

interface Lane {
  readonly key: LaneKey;
  readonly entries: Entry[];
  head: number;
  /** Sizes of the entries not yet written. */
  bytes: number;
  /** A frame being sent in pieces: the rest of the lane waits behind it. */
  chunking?: { id: number; bytes: Buffer; offset: number };
  /** In the ready queue, or parked waiting for the chunk slot. */
  scheduled: boolean;
  /** Runs once the lane has nothing left to send (a producer waiting for room). */
  onEmpty?: Array<() => void>;
}

/**
 * The only writer of a session: control frames first, then the lanes in turn. At most one chunk is
 * in the transport at a time, so a small frame of another call waits behind one piece at most; and
 * nothing more is written while the transport says it is full (write() returned false) until it
 * drains, so producers that wait for room are paused by back-pressure.
 */
export class FrameWriter {
  private readonly control: Frame[] = [];
  private readonly lanes = new Map<LaneKey, Lane>();
  private ready: Lane[] = [];
  private parked: Lane[] = [];
  private blocked = false;
  private chunkInTransport = false;
  /** Sizes of the frames in the transport, oldest first; a chunk's is stored as -(size + 1). */
  private readonly inTransport: number[] = [];
  private bytesInTransport = 0;
  private readonly window: TransportWindow;
  private chunkedBytes = 0;
  private nextChunkId = 1;
  private pumping = false;
  private closed = false;
  private ended = false;
  private readonly drainWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  // The transport confirms its writes in order: the oldest frame in it is the one confirmed.
  private readonly written = () => {
    const size = this.inTransport.shift();
    if (size === undefined) return;
    if (size < 0) {
      this.bytesInTransport -= -size - 1;
      this.chunkInTransport = false;
      if (this.parked.length) {
        for (const lane of this.parked) this.ready.push(lane);
        this.parked = [];
      }
    } else this.bytesInTransport -= size;
    // Resume once the transport is half empty, not at every confirmation.
    if (this.blocked) {
      if (this.inTransport.length > this.window.frames / 2 || this.bytesInTransport > this.window.bytes / 2) return;
      this.blocked = false;
    } else if (this.ready.length === 0 && this.control.length === 0 && this.drainWaiters.length === 0 && this.idleWaiters.length === 0) {
      return; // the usual confirmation of a call's one frame: nothing waits for it
    }
    this.resume();
  };

  constructor(
    private readonly sink: FrameSink,
    private readonly options: FrameWriterOptions,
  ) {
    this.window = options.window ?? DEFAULT_TRANSPORT_WINDOW;
  }

  /** True while the transport is full: nothing is written until it drains. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Frames waiting in a lane (a frame in pieces counts as one). */
  backlog(key: LaneKey): number {
    const lane = this.lanes.get(key);
    return lane ? lane.entries.length - lane.head + (lane.chunking ? 1 : 0) : 0;
  }

  /** Bytes waiting in a lane (sizes as given to enqueue). */
  backlogBytes(key: LaneKey): number {
    return this.lanes.get(key)?.bytes ?? 0;
  }

  /** Lanes of answers still being written: a graceful stop waits for them. */
  get answersInProgress(): number {
    let n = 0;
    for (const key of this.lanes.keys()) if (key > 0) n += 1;
    return n;
  }

  /** Writes a control frame ahead of every lane (heartbeats, cancels, credit, handshake). */
  sendControl(frame: Frame): void {
    if (this.closed || this.ended) return;
    // The common case costs one write: nothing is waiting, so nothing can be overtaken.
    if (!this.blocked && !this.pumping && this.control.length === 0) return this.write(frame);
    this.control.push(frame);
    this.pump();
  }

  /** Queues a frame at the end of its lane. `size` is its encoded size or an upper bound of it. */
  enqueue(key: LaneKey, frame: Frame, size: number): void {
    if (this.closed || this.ended) return;
    let lane = this.lanes.get(key);
    // The common case, a small frame with nothing queued anywhere, is written at once: no lane.
    if (!lane && size <= CHUNK_BYTES && !this.blocked && !this.pumping && this.ready.length === 0 && this.control.length === 0) {
      return this.write(frame, size);
    }
    if (!lane) {
      lane = { key, entries: [], head: 0, bytes: 0, scheduled: false };
      this.lanes.set(key, lane);
    }
    lane.entries.push({ frame, size });
    lane.bytes += size;
    if (!lane.scheduled) {
      lane.scheduled = true;
      this.ready.push(lane);
    }
    this.pump();
  }

  /**
   * Forgets what a lane has not started to send (its call was cancelled). A frame already partly
   * sent is finished: the peer is holding its first pieces.
   */
  dropLane(key: LaneKey): void {
    const lane = this.lanes.get(key);
    if (!lane) return;
    lane.entries.length = 0;
    lane.head = 0;
    lane.bytes = 0;
    if (!lane.chunking) this.retire(lane);
  }

  /** Runs `cb` once the lane has nothing left to send and the transport is not full. */
  whenRoom(key: LaneKey, cb: () => void): void {
    if (this.closed) return cb();
    const lane = this.lanes.get(key);
    if (!lane) {
      if (!this.blocked) cb();
      else this.drainWaiters.push(cb);
      return;
    }
    (lane.onEmpty ??= []).push(() => (this.blocked ? this.drainWaiters.push(cb) : cb()));
  }

  /** The transport drained: whatever it held is written. */
  drained(): void {
    this.resume();
  }

  private resume(): void {
    this.pump();
    // One at a time: a waiter that fills the transport again leaves the rest waiting.
    while (!this.blocked && this.drainWaiters.length) this.drainWaiters.shift()!();
  }

  /** Resolves once every queued frame is in the transport (or the writer is closed). */
  flushed(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes what is queued, then ends the transport; past `timeoutMs` it ends anyway. */
  async end(timeoutMs: number): Promise<void> {
    if (this.ended || this.closed) return;
    this.ended = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.close();
    try {
      this.sink.end();
    } catch {
      // already ended by the other side
    }
  }

  /** Drops everything queued; nothing is written after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.control.length = 0;
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    this.ready = [];
    this.parked = [];
    this.chunkedBytes = 0;
    for (const cb of this.idleWaiters.splice(0)) cb();
    // Whoever waits for room is told now, and finds the writer closed: none is left hanging.
    const waiters = this.drainWaiters.splice(0);
    for (const lane of lanes) if (lane.onEmpty) waiters.push(...lane.onEmpty);
    for (const cb of waiters) cb();
  }

  private isIdle(): boolean {
    return this.closed || (this.control.length === 0 && this.lanes.size === 0 && this.inTransport.length === 0);
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      while (!this.blocked && !this.closed) {
        const control = this.control.shift();
        if (control) {
          this.write(control);
          continue;
        }
        const lane = this.ready.shift();
        if (!lane) break;
        if (!lane.chunking && lane.head >= lane.entries.length) continue; // dropped while it waited
        if (!this.writeFrom(lane)) {
          this.parked.push(lane);
          continue;
        }
        if (lane.chunking || lane.head < lane.entries.length) this.ready.push(lane);
        else this.retire(lane);
      }
    } finally {
      this.pumping = false;
    }
    if (this.idleWaiters.length && this.isIdle()) for (const cb of this.idleWaiters.splice(0)) cb();
  }

  /** Writes the lane's next frame or piece; false when it must wait for the chunk slot. */
  private writeFrom(lane: Lane): boolean {
    if (!lane.chunking) {
      const entry = lane.entries[lane.head];
      lane.bytes -= entry.size;
      if (entry.size <= CHUNK_BYTES) {
        this.shift(lane);
        this.write(entry.frame, entry.size);
        return true;
      }
      // A frame in pieces takes the chunk slot, and the peer must have room to hold it whole.
      if (this.chunkInTransport || (this.chunkedBytes > 0 && this.chunkedBytes + entry.size > this.options.chunkBudgetBytes())) {
        lane.bytes += entry.size;
        return false;
      }
      this.shift(lane);
      const bytes = this.options.codec().encode(entry.frame);
      const id = this.nextChunkId;
      this.nextChunkId = id >= 0xfffffffe ? 1 : id + 1;
      lane.chunking = { id, bytes, offset: 0 };
      this.chunkedBytes += bytes.length;
    } else if (this.chunkInTransport) {
      return false;
    }
    const chunking = lane.chunking!;
    const end = Math.min(chunking.bytes.length, chunking.offset + CHUNK_BYTES);
    const last = end === chunking.bytes.length;
    const frame: Frame = { chunk: { id: chunking.id, data: chunking.bytes.subarray(chunking.offset, end), last } };
    chunking.offset = end;
    if (last) {
      lane.chunking = undefined;
      this.chunkedBytes -= chunking.bytes.length;
    }
    this.chunkInTransport = true;
    this.write(frame, -(frame.chunk!.data!.byteLength + 16) - 1);
    return true;
  }

  /** Takes the lane's first entry off; a long-lived lane (a stream) is compacted now and then. */
  private shift(lane: Lane): void {
    lane.entries[lane.head++] = undefined as unknown as Entry;
    if (lane.head >= 1024 && lane.head * 2 >= lane.entries.length) {
      lane.entries.splice(0, lane.head);
      lane.head = 0;
    }
  }

  /** Writes to the transport; `size` as kept in inTransport (negative for a chunk). */
  private write(frame: Frame, size = 32): void {
    this.inTransport.push(size);
    this.bytesInTransport += size < 0 ? -size - 1 : size;
    if (this.inTransport.length >= this.window.frames || this.bytesInTransport >= this.window.bytes) this.blocked = true;
    this.sink.write(frame, this.written);
  }

  /** A lane with nothing left is forgotten; whoever waited for it to empty is told. */
  private retire(lane: Lane): void {
    lane.scheduled = false;
    this.lanes.delete(lane.key);
    const waiters = lane.onEmpty;
    lane.onEmpty = undefined;
    if (waiters) for (const cb of waiters) cb();
  }
}
