/** Longest line of plugin output kept whole (UTF-8 bytes); longer ones are logged in pieces of at most this size. */
export const MAX_LINE_BYTES = 16 * 1024;

const NEWLINE = 0x0a;

/**
 * Cuts a plugin's output into lines of at most `maxBytes` UTF-8 bytes, whatever the chunk
 * boundaries: a line longer than the cap is handed over in pieces, each cut at a character
 * boundary, and never more than `maxBytes` of an unfinished line is held.
 */
export class LineSplitter {
  private partial: Buffer = Buffer.alloc(0);

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let data = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
    let nl: number;
    while ((nl = data.indexOf(NEWLINE)) >= 0) {
      this.emitCapped(data.subarray(0, nl), true);
      data = data.subarray(nl + 1);
    }
    this.partial = Buffer.from(this.emitCapped(data, false));
  }

  /** The stream ended: what is left is the last line. */
  end(): void {
    if (this.partial.length) this.emitCapped(this.partial, true);
    this.partial = Buffer.alloc(0);
  }

  /** Emits full pieces of `line`; the rest is emitted too when the line is complete, else returned. */
  private emitCapped(line: Buffer, complete: boolean): Buffer {
    let rest = complete && line.at(-1) === 0x0d ? line.subarray(0, -1) : line;
    while (rest.length > this.maxBytes) {
      const cut = charBoundary(rest, this.maxBytes);
      this.onLine(rest.subarray(0, cut).toString('utf8'));
      rest = rest.subarray(cut);
    }
    if (!complete) return rest;
    // An empty line is a line too, unless it is what is left after pieces of a long one.
    if (rest.length || line.length === 0 || (line.length === 1 && line[0] === 0x0d)) this.onLine(rest.toString('utf8'));
    return Buffer.alloc(0);
  }
}

/** The largest cut at or below `max` that does not split a UTF-8 character (a cut inside invalid bytes stays at `max`). */
function charBoundary(bytes: Buffer, max: number): number {
  let cut = max;
  // Continuation bytes are 10xxxxxx; a character is at most 4 bytes.
  while (cut > max - 3 && cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return cut > 0 && (bytes[cut]! & 0xc0) !== 0x80 ? cut : max;
}
