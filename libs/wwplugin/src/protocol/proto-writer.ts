// Protobuf wire-format writing into one reused scratch buffer: the frame encoder writes fields in
// order, then copies the bytes out. Encoding never calls user code, so one scratch is enough.

type FastBuffer = Buffer & { utf8Write?(text: string, offset: number, length?: number): number };

const INITIAL = 64 * 1024;
/** A scratch grown past this for a large frame is dropped after it, not kept for the process's life. */
const KEEP = 1024 * 1024;
/** Strings up to this many UTF-16 units fit a one-byte length (3 bytes each at most < 128). */
const SHORT_STRING = 42;

let buf: FastBuffer = Buffer.allocUnsafe(INITIAL);
let pos = 0;

// Node's Buffer has utf8Write (what Buffer#write calls); its absence falls back to the public API.
const writeUtf8: (b: FastBuffer, text: string, at: number, room: number) => number =
  typeof (Buffer.prototype as FastBuffer).utf8Write === 'function'
    ? (b, text, at, room) => b.utf8Write!(text, at, room)
    : (b, text, at, room) => b.write(text, at, room, 'utf8');

function ensure(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + bytes));
  buf.copy(grown, 0, 0, pos);
  buf = grown;
}

/** Starts a new message at the start of the scratch. */
export function reset(): void {
  pos = 0;
}

/** The bytes written since reset(), copied out of the scratch. */
export function finish(): Buffer {
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  if (buf.length > KEEP) buf = Buffer.allocUnsafe(INITIAL);
  pos = 0;
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
export function uint32(tag: number, value: number): void {
  ensure(15);
  varint32(tag);
  varint32(value >>> 0);
}

export function bool(tag: number, value: boolean): void {
  ensure(6);
  varint32(tag);
  buf[pos++] = value ? 1 : 0;
}

/** An int32 (enum) field: negative values take ten bytes, sign-extended to 64 bits. */
export function int32(tag: number, value: number): void {
  ensure(16);
  varint32(tag);
  if (value >= 0) varint32(value >>> 0);
  else varint64(value >>> 0, 0xffffffff);
}

/** A sint64 field from the two 32-bit halves of its zigzag encoding. */
export function zigzag64(tag: number, lo: number, hi: number): void {
  ensure(16);
  varint32(tag);
  varint64(lo, hi);
}

/** A double field: `tag` is (field number << 3) | 1. */
export function double(tag: number, value: number): void {
  ensure(13);
  varint32(tag);
  buf.writeDoubleLE(value, pos);
  pos += 8;
}

/** A string field: `tag` is (field number << 3) | 2. */
export function string(tag: number, text: string): void {
  const units = text.length;
  if (units <= SHORT_STRING) {
    ensure(5 + 1 + units * 3);
    varint32(tag);
    const at = pos + 1;
    let i = 0;
    // ASCII, the common case, without a call into C++.
    for (; i < units; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) break;
      buf[at + i] = c;
    }
    const n = i === units ? units : i + writeUtf8(buf, i ? text.slice(i) : text, at + i, units * 3);
    buf[pos] = n;
    pos = at + n;
    return;
  }
  const n = Buffer.byteLength(text, 'utf8');
  ensure(10 + n);
  varint32(tag);
  varint32(n);
  pos += writeUtf8(buf, text, pos, n);
}

/** A bytes field. */
export function bytes(tag: number, data: Uint8Array): void {
  const n = data.byteLength;
  ensure(10 + n);
  varint32(tag);
  varint32(n);
  buf.set(data, pos);
  pos += n;
}

/** Opens an embedded message field; pass what it returns to close(). */
export function open(tag: number): number {
  ensure(6);
  varint32(tag);
  // One byte for the length, the common case; close() makes room when it needs more.
  pos += 1;
  return pos;
}

/** Closes the embedded message opened at `start`: writes its length before its bytes. */
export function close(start: number): void {
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
