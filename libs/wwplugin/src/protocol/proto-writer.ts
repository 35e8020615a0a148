// Protobuf wire-format writing into a pool buffer, as Buffer.allocUnsafe pools small buffers: each
// message is written after the previous one and handed out as a view, never copied. Encoding never
// calls user code, so one pool at a time is enough.

type FastBuffer = Buffer & { utf8Write?(text: string, offset: number, length?: number): number };

const POOL = 32 * 1024;
/** A new pool is started when less than this is left of the current one. */
const MIN_LEFT = 1024;
/** Strings this short are written by a loop: cheaper than a call into C++ for ASCII. */
const SHORT_STRING = 16;
/** Strings longer than this are measured before they are written, not given room for 3 bytes a unit. */
const LONG_STRING = 64 * 1024;

let buf: FastBuffer = Buffer.allocUnsafe(POOL);
/** Where the message being written starts. */
let start = 0;
let pos = 0;

// Node's Buffer has utf8Write (what Buffer#write calls); its absence falls back to the public API.
const writeUtf8: (b: FastBuffer, text: string, at: number, room: number) => number =
  typeof (Buffer.prototype as FastBuffer).utf8Write === 'function'
    ? (b, text, at, room) => b.utf8Write!(text, at, room)
    : (b, text, at, room) => b.write(text, at, room, 'utf8');

// A larger buffer keeps the message at the same offsets: what open() returned stays valid.
function ensure(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + bytes));
  buf.copy(grown, start, start, pos);
  buf = grown;
}

/** Starts a new message (or drops the one being written). */
export function resetWriter(): void {
  pos = start;
}

/** The message written since resetWriter(): a view of the pool, which is never written there again. */
export function finishWriter(): Buffer {
  const out = buf.subarray(start, pos);
  start = (pos + 7) & ~7;
  if (buf.length - start < MIN_LEFT || buf.length > POOL) {
    buf = Buffer.allocUnsafe(POOL);
    start = 0;
  }
  pos = start;
  return out;
}

function varint32(value: number): void {
  while (value > 127) {
    buf[pos++] = (value & 127) | 128;
    value >>>= 7;
  }
  buf[pos++] = value;
}

function varint64(lo: number, hi: number): void {
  while (hi) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  varint32(lo);
}

/** A varint field (uint32, bool, enum): `tag` is (field number << 3) | 0. */
export function writeUint32(tag: number, value: number): void {
  ensure(15);
  varint32(tag);
  varint32(value >>> 0);
}

export function writeBool(tag: number, value: boolean): void {
  ensure(6);
  varint32(tag);
  buf[pos++] = value ? 1 : 0;
}

/** An int32 (enum) field: negative values take ten bytes, sign-extended to 64 bits. */
export function writeInt32(tag: number, value: number): void {
  ensure(16);
  varint32(tag);
  if (value >= 0) varint32(value >>> 0);
  else varint64(value >>> 0, 0xffffffff);
}

/** A sint64 field from the two 32-bit halves of its zigzag encoding. */
export function writeZigzag64(tag: number, lo: number, hi: number): void {
  ensure(16);
  varint32(tag);
  varint64(lo, hi);
}

/** A double field: `tag` is (field number << 3) | 1. */
export function writeDouble(tag: number, value: number): void {
  ensure(13);
  varint32(tag);
  buf.writeDoubleLE(value, pos);
  pos += 8;
}

function varintSize(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : value < 268_435_456 ? 4 : 5;
}

/** A string field: `tag` is (field number << 3) | 2. */
export function writeString(tag: number, text: string): void {
  const units = text.length;
  if (units <= SHORT_STRING) {
    ensure(5 + 1 + units * 3);
    varint32(tag);
    const at = pos + 1;
    let i = 0;
    for (; i < units; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) break;
      buf[at + i] = c;
    }
    const n = i === units ? units : i + writeUtf8(buf, i ? text.slice(i) : text, at + i, (units - i) * 3);
    buf[pos] = n;
    pos = at + n;
    return;
  }
  if (units > LONG_STRING) {
    const n = Buffer.byteLength(text, 'utf8');
    ensure(10 + n);
    varint32(tag);
    varint32(n);
    pos += writeUtf8(buf, text, pos, n);
    return;
  }
  // Room for 3 bytes a unit, a length the size an ASCII text needs; moved in the rare other case.
  ensure(10 + units * 3);
  varint32(tag);
  const reserved = varintSize(units);
  const at = pos + reserved;
  const n = writeUtf8(buf, text, at, units * 3);
  const needed = varintSize(n);
  if (needed !== reserved) buf.copyWithin(pos + needed, at, at + n);
  varint32(n);
  pos += n;
}

/** A bytes field. */
export function writeRawBytes(tag: number, data: Uint8Array): void {
  const n = data.byteLength;
  ensure(10 + n);
  varint32(tag);
  varint32(n);
  buf.set(data, pos);
  pos += n;
}

/** Opens an embedded message field; pass what it returns to close(). */
export function openMessage(tag: number): number {
  ensure(6);
  varint32(tag);
  // One byte for the length, the common case; close() makes room when it needs more.
  pos += 1;
  return pos;
}

/** Closes the embedded message opened at `start`: writes its length before its bytes. */
export function closeMessage(start: number): void {
  const length = pos - start;
  if (length < 128) {
    buf[start - 1] = length;
    return;
  }
  let extra = 0;
  for (let v = length >>> 7; v; v >>>= 7) extra += 1;
  ensure(extra);
  buf.copyWithin(start + extra, start, pos);
  pos = start - 1;
  varint32(length);
  pos = start + extra + length;
}
