// Protobuf wire-format reading with every length checked: bytes that end early or lengths that
// point past their message throw a ProtoDecodeError, never read beyond the message.

type FastBuffer = Buffer & { utf8Slice?(start: number, end: number): string };

/** The bytes are not a valid protobuf message of the expected type. */
export class ProtoDecodeError extends Error {
  override name = 'ProtoDecodeError';
}

const EMPTY: FastBuffer = Buffer.alloc(0);
let buf: FastBuffer = EMPTY;
let pos = 0;
/** End of the message being read (an embedded message's end while inside it). */
let limit = 0;

const readUtf8: (b: FastBuffer, start: number, end: number) => string =
  typeof (Buffer.prototype as FastBuffer).utf8Slice === 'function'
    ? (b, start, end) => b.utf8Slice!(start, end)
    : (b, start, end) => b.toString('utf8', start, end);

function truncated(needed: number): ProtoDecodeError {
  return new ProtoDecodeError(`truncated message: ${needed} byte(s) needed at offset ${pos}, ${limit - pos} left`);
}

/** Starts reading `bytes` as one message. */
export function beginRead(bytes: Uint8Array): void {
  buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  limit = buf.length;
}

/** True while the current message has bytes left. */
export function hasMore(): boolean {
  return pos < limit;
}

/** Releases the input so the scratch state does not keep it alive. */
export function endRead(): void {
  buf = EMPTY;
  pos = limit = 0;
}

/** A varint's low 32 bits (uint32, enum, bool, tags); longer varints are read whole, up to 10 bytes. */
export function readVarint32(): number {
  let b = pos < limit ? buf[pos++] : -1;
  if (b < 128) {
    if (b < 0) throw truncated(1);
    return b;
  }
  let value = b & 127;
  for (let shift = 7; ; shift += 7) {
    if (pos >= limit) throw truncated(1);
    b = buf[pos++];
    if (shift < 32) value |= (b & 127) << shift;
    if (b < 128) return value >>> 0;
    if (shift >= 63) throw new ProtoDecodeError(`varint longer than 10 bytes at offset ${pos}`);
  }
}

/** A sint64 field as its decimal text (int64 travels as a string, as proto-loader's longs: String). */
export function readSint64String(): string {
  let lo = 0;
  let hi = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= limit) throw truncated(1);
    const b = buf[pos++];
    if (shift < 28) lo |= (b & 127) << shift;
    else if (shift === 28) {
      lo |= (b & 15) << 28;
      hi |= (b & 127) >>> 4;
    } else if (shift < 63) hi |= (b & 127) << (shift - 32);
    else if (shift === 63) hi |= (b & 1) << 31;
    if (b < 128) break;
    if (shift >= 63) throw new ProtoDecodeError(`varint longer than 10 bytes at offset ${pos}`);
  }
  lo >>>= 0;
  hi >>>= 0;
  // Zigzag: the low bit is the sign; the rest, shifted right, the magnitude (minus one if negative).
  const negative = lo & 1;
  const mlo = ((lo >>> 1) | (hi << 31)) >>> 0;
  const mhi = hi >>> 1;
  if (mhi < 0x200000) {
    const magnitude = mhi * 0x100000000 + mlo;
    return String(negative ? -magnitude - 1 : magnitude);
  }
  const magnitude = (BigInt(mhi) << 32n) | BigInt(mlo);
  return (negative ? -magnitude - 1n : magnitude).toString();
}

export function readDouble(): number {
  if (limit - pos < 8) throw truncated(8);
  const value = buf.readDoubleLE(pos);
  pos += 8;
  return value;
}

/** The length of a length-delimited field, checked against what is left of the message. */
function length(): number {
  const n = readVarint32();
  if (n > limit - pos) throw truncated(n);
  return n;
}

export function readString(): string {
  const n = length();
  const start = pos;
  pos += n;
  if (n === 0) return '';
  return readUtf8(buf, start, pos);
}

/** A bytes field: a view of the input (no copy), as protobufjs gives it. */
export function readBytes(): Buffer {
  const n = length();
  const start = pos;
  pos += n;
  return buf.subarray(start, pos);
}

/** Enters an embedded message; pass what it returns to leave() once its fields are read. */
export function enterMessage(): number {
  const n = length();
  const outer = limit;
  limit = pos + n;
  return outer;
}

export function leaveMessage(outer: number): void {
  if (pos !== limit) throw new ProtoDecodeError(`embedded message overrun at offset ${pos}`);
  limit = outer;
}

/** Skips a field this decoder does not know (a newer peer's): forward compatibility. */
export function skipField(tag: number, depth = 0): void {
  switch (tag & 7) {
    case 0:
      readVarint32();
      return;
    case 1:
      if (limit - pos < 8) throw truncated(8);
      pos += 8;
      return;
    case 2: {
      const n = length();
      pos += n;
      return;
    }
    case 3: {
      // A group (proto2): skip fields up to its end-group tag with the same field number.
      if (depth >= 32) throw new ProtoDecodeError(`groups nested too deep at offset ${pos}`);
      for (;;) {
        const inner = readVarint32();
        if ((inner & 7) === 4) {
          if (inner >>> 3 !== tag >>> 3) throw new ProtoDecodeError(`mismatched end of group ${tag >>> 3} at offset ${pos}`);
          return;
        }
        if (inner >>> 3 === 0) throw new ProtoDecodeError(`invalid field number 0 at offset ${pos}`);
        skipField(inner, depth + 1);
      }
    }
    case 5:
      if (limit - pos < 4) throw truncated(4);
      pos += 4;
      return;
    default:
      throw new ProtoDecodeError(`invalid wire type ${tag & 7} at offset ${pos}`);
  }
}

/** Reads the next tag; field number 0 is invalid in every message. */
export function readTag(): number {
  const t = readVarint32();
  if (t >>> 3 === 0) throw new ProtoDecodeError(`invalid field number 0 at offset ${pos}`);
  return t;
}

/** A known field arrived with the wrong wire type: the bytes are not this message. */
export function wrongType(t: number, field: string): ProtoDecodeError {
  return new ProtoDecodeError(`field ${field} (number ${t >>> 3}) has wire type ${t & 7} at offset ${pos}`);
}
