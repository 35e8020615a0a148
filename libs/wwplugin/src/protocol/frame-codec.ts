import type { CallFrame, ChunkFrame, ErrorFrame, Frame, FrameKind, FunctionInfoFrame, HelloFrame, PushFrame, EmitFrame, ResultFrame } from './frames.js';
import type { WireParameter } from './parameters.js';
import {
  beginRead,
  endRead,
  enterMessage,
  hasMore,
  leaveMessage,
  readBytes,
  readDouble,
  readSint64String,
  readString,
  readTag,
  readVarint32,
  skipField,
  wrongType,
} from './proto-reader.js';
import {
  closeMessage,
  finishWriter,
  openMessage,
  resetWriter,
  writeBool,
  writeDouble,
  writeInt32,
  writeRawBytes,
  writeString,
  writeUint32,
  writeZigzag64,
} from './proto-writer.js';

// The Frame message of proto/wwplugin/v1/wwplugin.proto, encoded and decoded by hand: the same
// bytes and the same objects as @grpc/proto-loader with keepCase false, longs String, enums Number,
// defaults false, oneofs true (docs/protocol.md), without a reflection pass per field.
//   Encoding writes every field that is set (not null/undefined), in field-number order, even at its
//   default value, as protobufjs does. Decoding gives only the fields present on the wire; int64 as
//   decimal text; bytes as Buffer views of the input; `kind` names the Frame's member and `value` a
//   Parameter's; unknown fields are skipped; a later oneof member replaces an earlier one.

type Fields = Record<string, unknown>;
/** The tag of an embedded-message field (wire type 2). */
const embedded = (field: number) => (field << 3) | 2;

// ---------- encoding ----------

const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

function objectOf(v: unknown, where: string): Fields {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TypeError(`${where}: object expected`);
  return v as Fields;
}

function listOf(v: unknown, where: string): readonly unknown[] | undefined {
  // protobufjs ignores falsy values of repeated fields, and refuses anything else but an array.
  if (!v) return undefined;
  if (!Array.isArray(v)) throw new TypeError(`${where}: array expected`);
  return v;
}

const ENUM_NAMES: Record<string, number> = { NULL: 0, STRING: 1, INT: 2, FLOAT: 3, BOOL: 4, BYTES: 5, JSON: 6 };

/** An enum field: a number as is, a ParameterType name as its number; anything else is left out. */
function writeEnum(t: number, v: unknown): void {
  if (typeof v === 'number') writeInt32(t, v);
  else if (typeof v === 'string' && ENUM_NAMES[v] !== undefined) writeInt32(t, ENUM_NAMES[v]);
}

const TWO_32 = 0x100000000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A sint64 from a safe integer, a decimal string, a bigint or a Long-like { low, high }. */
function writeSint64(t: number, v: unknown): void {
  if (typeof v === 'string') {
    // Up to 15 digits is exact as a double: the common case takes no BigInt.
    if (v.length <= 15 && /^-?\d+$/.test(v)) v = Number(v);
    else return writeBigSint64(t, parseBigInt(v));
  }
  if (typeof v === 'number') {
    if (v >= -0x40000000 && v < 0x40000000 && Number.isInteger(v)) return writeUint32(t, ((v << 1) ^ (v >> 31)) >>> 0);
    if (!Number.isSafeInteger(v)) return writeBigSint64(t, numberToBigInt(v));
    const magnitude = Math.abs(v);
    let lo = magnitude >>> 0;
    let hi = Math.floor(magnitude / TWO_32);
    // Zigzag: 2n for n >= 0, 2|n| - 1 for n < 0.
    hi = ((hi << 1) | (lo >>> 31)) >>> 0;
    lo = (lo << 1) >>> 0;
    if (v < 0) {
      if (lo === 0) hi = (hi - 1) >>> 0;
      lo = (lo - 1) >>> 0;
    }
    return writeZigzag64(t, lo, hi);
  }
  if (typeof v === 'bigint') return writeBigSint64(t, BigInt.asIntN(64, v));
  if (v && typeof v === 'object') {
    const long = v as { low?: number; high?: number };
    return writeBigSint64(t, BigInt.asIntN(64, (BigInt((long.high ?? 0) >>> 0) << 32n) | BigInt((long.low ?? 0) >>> 0)));
  }
  throw new TypeError(`int64 value expected, got ${typeof v}`);
}

function parseBigInt(text: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new TypeError(`int64 value expected, got "${text.slice(0, 40)}"`);
  return BigInt.asIntN(64, BigInt(text));
}

// As Long.fromNumber: NaN is 0, fractions are cut, values outside int64 are clamped.
function numberToBigInt(v: number): bigint {
  if (Number.isNaN(v)) return 0n;
  if (v <= -(2 ** 63)) return INT64_MIN;
  if (v >= 2 ** 63) return INT64_MAX;
  return BigInt(Math.trunc(v));
}

function writeBigSint64(t: number, v: bigint): void {
  const zigzag = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  writeZigzag64(t, Number(zigzag & 0xffffffffn), Number(zigzag >> 32n));
}

function writeBytesValue(t: number, v: unknown): void {
  if (v instanceof Uint8Array) return writeRawBytes(t, v);
  if (typeof v === 'string') return writeRawBytes(t, Buffer.from(v, 'base64'));
  if (typeof (v as ArrayLike<number>).length === 'number') return writeRawBytes(t, Buffer.from(v as ArrayLike<number>));
  throw new TypeError('bytes value expected');
}

function writeParameter(t: number, v: unknown): void {
  const p = objectOf(v, 'Parameter') as unknown as WireParameter;
  const at = openMessage(t);
  if (p.name != null) writeString(10, str(p.name));
  if (p.type != null) writeEnum(16, p.type);
  if (p.stringValue != null) writeString(26, str(p.stringValue));
  if (p.intValue != null) writeSint64(32, p.intValue);
  if (p.floatValue != null) writeDouble(41, num(p.floatValue));
  if (p.boolValue != null) writeBool(48, !!p.boolValue);
  if (p.bytesValue != null) writeBytesValue(58, p.bytesValue);
  if (p.jsonValue != null) writeString(66, str(p.jsonValue));
  closeMessage(at);
}

function writeCall(m: CallFrame): void {
  if (m.id != null) writeUint32(8, m.id);
  if (m.function != null) writeString(18, str(m.function));
  const args = listOf(m.args, 'Call.args');
  if (args) for (const p of args) writeParameter(26, p);
  if (m.timeoutMs != null) writeUint32(32, m.timeoutMs);
  if (m.target != null) writeString(42, str(m.target));
  if (m.stream != null) writeBool(48, !!m.stream);
  if (m.caller != null) writeString(58, str(m.caller));
  if (m.credit != null) writeUint32(64, m.credit);
  if (m.traceparent != null) writeString(74, str(m.traceparent));
  if (m.tracestate != null) writeString(82, str(m.tracestate));
}

/** Result and StreamItem: an id and a value. */
function writeResult(m: ResultFrame): void {
  if (m.id != null) writeUint32(8, m.id);
  if (m.value != null) writeParameter(18, m.value);
}

function writeError(m: ErrorFrame): void {
  if (m.id != null) writeUint32(8, m.id);
  if (m.code != null) writeString(18, str(m.code));
  if (m.message != null) writeString(26, str(m.message));
  if (m.name != null) writeString(34, str(m.name));
  if (m.detailsJson != null) writeString(42, str(m.detailsJson));
}

function writePush(m: PushFrame): void {
  if (m.topic != null) writeString(10, str(m.topic));
  if (m.payload != null) writeParameter(18, m.payload);
  if (m.seq != null) writeUint32(24, m.seq);
  if (m.traceparent != null) writeString(34, str(m.traceparent));
  if (m.tracestate != null) writeString(42, str(m.tracestate));
}

function writeEmit(m: EmitFrame): void {
  if (m.topic != null) writeString(10, str(m.topic));
  if (m.payload != null) writeParameter(18, m.payload);
  if (m.traceparent != null) writeString(26, str(m.traceparent));
  if (m.tracestate != null) writeString(34, str(m.tracestate));
}

function writeChunk(m: ChunkFrame): void {
  if (m.id != null) writeUint32(8, m.id);
  if (m.data != null) writeBytesValue(18, m.data);
  if (m.last != null) writeBool(24, !!m.last);
}

/** A message of one uint32 field 1 (Ping, Pong, PushAck, StreamEnd, Draining): `key` names it. */
function writeSingle(m: Fields, key: string): void {
  const v = m[key];
  if (v != null) writeUint32(8, v as number);
}

/** Messages of scalar fields only, off the call path, written from a table: [tag, key, kind]. */
type ScalarKind = 'u32' | 'str' | 'bool' | 'enum' | 'strs';
type ScalarField = readonly [number, string, ScalarKind];

function writeScalars(m: Fields, fields: readonly ScalarField[], where: string): void {
  for (const [t, key, kind] of fields) {
    const v = m[key];
    if (v == null) continue;
    if (kind === 'u32') writeUint32(t, v as number);
    else if (kind === 'str') writeString(t, str(v));
    else if (kind === 'bool') writeBool(t, !!v);
    else if (kind === 'enum') writeEnum(t, v);
    else for (const s of listOf(v, `${where}.${key}`) ?? []) writeString(t, str(s));
  }
}

const REFUSE: readonly ScalarField[] = [
  [10, 'code', 'str'],
  [18, 'reason', 'str'],
];
const CANCEL: readonly ScalarField[] = [
  [8, 'id', 'u32'],
  [18, 'reason', 'str'],
];
const SHUTDOWN: readonly ScalarField[] = [
  [8, 'graceMs', 'u32'],
  [18, 'reason', 'str'],
];
const CREDIT: readonly ScalarField[] = [
  [8, 'id', 'u32'],
  [16, 'items', 'u32'],
];
const EMIT_OVERFLOW: readonly ScalarField[] = [
  [8, 'dropped', 'u32'],
  [16, 'droppedSinceLast', 'u32'],
];
const LOG: readonly ScalarField[] = [
  [10, 'level', 'str'],
  [18, 'context', 'str'],
  [26, 'message', 'str'],
  [34, 'stack', 'str'],
];
const WELCOME: readonly ScalarField[] = [
  [8, 'protocolVersion', 'u32'],
  [18, 'pluginId', 'str'],
  [26, 'hostVersion', 'str'],
  [32, 'maxMessageBytes', 'u32'],
  [40, 'defaultTimeoutMs', 'u32'],
  [48, 'pushAckEvery', 'u32'],
  [56, 'pushAckDelayMs', 'u32'],
  [64, 'streamIdleTimeoutMs', 'u32'],
  [80, 'acceptsLogs', 'bool'],
];
const PARAMETER_SPEC: readonly ScalarField[] = [
  [10, 'name', 'str'],
  [16, 'type', 'enum'],
  [24, 'optional', 'bool'],
];
// Hello in two parts around its repeated FunctionInfo (field 6), to keep field-number order.
const HELLO_HEAD: readonly ScalarField[] = [
  [8, 'protocolVersion', 'u32'],
  [18, 'pluginId', 'str'],
  [26, 'name', 'str'],
  [34, 'version', 'str'],
  [42, 'description', 'str'],
];
const HELLO_TAIL: readonly ScalarField[] = [
  [56, 'pid', 'u32'],
  [66, 'topics', 'strs'],
  [72, 'acksPushes', 'bool'],
  [90, 'replica', 'str'],
];

function writeHello(m: HelloFrame): void {
  writeScalars(m as unknown as Fields, HELLO_HEAD, 'Hello');
  for (const v of listOf(m.functions, 'Hello.functions') ?? []) {
    const fn = objectOf(v, 'FunctionInfo') as unknown as FunctionInfoFrame;
    const at = openMessage(50);
    if (fn.name != null) writeString(10, str(fn.name));
    if (fn.description != null) writeString(18, str(fn.description));
    for (const spec of listOf(fn.params, 'FunctionInfo.params') ?? []) {
      const specAt = openMessage(26);
      writeScalars(objectOf(spec, 'ParameterSpec'), PARAMETER_SPEC, 'ParameterSpec');
      closeMessage(specAt);
    }
    if (fn.stream != null) writeBool(32, !!fn.stream);
    closeMessage(at);
  }
  writeScalars(m as unknown as Fields, HELLO_TAIL, 'Hello');
}

/** Frame members by key: their field number's tag, and how their message is written. */
const MEMBERS: Record<FrameKind, readonly [number, (m: Fields) => void]> = {
  hello: [embedded(1), (m) => writeHello(m as unknown as HelloFrame)],
  welcome: [embedded(2), (m) => writeScalars(m, WELCOME, 'Welcome')],
  refuse: [embedded(3), (m) => writeScalars(m, REFUSE, 'Refuse')],
  call: [embedded(4), (m) => writeCall(m as unknown as CallFrame)],
  result: [embedded(5), (m) => writeResult(m as unknown as ResultFrame)],
  item: [embedded(6), (m) => writeResult(m as unknown as ResultFrame)],
  end: [embedded(7), (m) => writeSingle(m, 'id')],
  error: [embedded(8), (m) => writeError(m as unknown as ErrorFrame)],
  cancel: [embedded(9), (m) => writeScalars(m, CANCEL, 'Cancel')],
  push: [embedded(10), (m) => writePush(m as unknown as PushFrame)],
  emit: [embedded(11), (m) => writeEmit(m as unknown as EmitFrame)],
  ping: [embedded(12), (m) => writeSingle(m, 'seq')],
  pong: [embedded(13), (m) => writeSingle(m, 'seq')],
  shutdown: [embedded(14), (m) => writeScalars(m, SHUTDOWN, 'Shutdown')],
  chunk: [embedded(15), (m) => writeChunk(m as unknown as ChunkFrame)],
  credit: [embedded(16), (m) => writeScalars(m, CREDIT, 'Credit')],
  ack: [embedded(18), (m) => writeSingle(m, 'seq')],
  emitOverflow: [embedded(19), (m) => writeScalars(m, EMIT_OVERFLOW, 'EmitOverflow')],
  log: [embedded(20), (m) => writeScalars(m, LOG, 'Log')],
  draining: [embedded(21), (m) => writeSingle(m, 'graceMs')],
};
const MEMBER_ORDER = Object.keys(MEMBERS) as FrameKind[];

function writeMember(key: FrameKind, value: unknown): void {
  // The message names the member only when it is needed: no string built per frame.
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`Frame.${key}: object expected`);
  const [t, write] = MEMBERS[key];
  const at = openMessage(t);
  write(value as Fields);
  closeMessage(at);
}

/** Encodes a Frame object to the bytes of one protobuf Frame message. */
export function encodeFrame(frame: Frame): Buffer {
  const f = objectOf(frame, 'Frame');
  resetWriter();
  try {
    // A frame has one member, almost always: write it without looking at the other nineteen.
    let only: FrameKind | undefined;
    let count = 0;
    for (const key in f) {
      if (f[key] != null && Object.hasOwn(MEMBERS, key)) {
        only = key as FrameKind;
        count += 1;
      }
    }
    if (count === 1) writeMember(only!, f[only!]);
    else if (count > 1) for (const key of MEMBER_ORDER) if (f[key] != null) writeMember(key, f[key]);
  } catch (err) {
    resetWriter();
    throw err;
  }
  return finishWriter();
}

// ---------- decoding ----------

/** A field this message does not know is skipped; a known one with another wire type is an error. */
function other(t: number, known: number, where: string): void {
  const field = t >>> 3;
  if (field < 32 && known & (1 << field)) throw wrongType(t, where);
  skipField(t);
}
const fields = (...numbers: number[]) => numbers.reduce((mask, n) => mask | (1 << n), 0);

const PARAMETER_FIELDS = fields(1, 2, 3, 4, 5, 6, 7, 8);

function readParameter(): WireParameter {
  const outer = enterMessage();
  const p = {} as WireParameter & { value?: string };
  while (hasMore()) {
    const t = readTag();
    switch (t) {
      case 10:
        p.name = readString();
        break;
      case 16:
        p.type = readVarint32() | 0;
        break;
      case 26:
        p.stringValue = readString();
        member(p, 'stringValue');
        break;
      case 32:
        p.intValue = readSint64String();
        member(p, 'intValue');
        break;
      case 41:
        p.floatValue = readDouble();
        member(p, 'floatValue');
        break;
      case 48:
        p.boolValue = readVarint32() !== 0;
        member(p, 'boolValue');
        break;
      case 58:
        p.bytesValue = readBytes();
        member(p, 'bytesValue');
        break;
      case 66:
        p.jsonValue = readString();
        member(p, 'jsonValue');
        break;
      default:
        other(t, PARAMETER_FIELDS, 'Parameter');
    }
  }
  leaveMessage(outer);
  return p;
}

/** Names `key` as the Parameter's oneof `value`; a different member set before is dropped. */
function member(p: WireParameter & { value?: string }, key: keyof WireParameter): void {
  if (p.value !== undefined && p.value !== key) delete (p as unknown as Fields)[p.value];
  p.value = key;
}

const CALL_FIELDS = fields(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

function readCall(): CallFrame {
  const m = {} as CallFrame;
  while (hasMore()) {
    const t = readTag();
    switch (t) {
      case 8:
        m.id = readVarint32();
        break;
      case 18:
        m.function = readString();
        break;
      case 26:
        (m.args ??= []).push(readParameter());
        break;
      case 32:
        m.timeoutMs = readVarint32();
        break;
      case 42:
        m.target = readString();
        break;
      case 48:
        m.stream = readVarint32() !== 0;
        break;
      case 58:
        m.caller = readString();
        break;
      case 64:
        m.credit = readVarint32();
        break;
      case 74:
        m.traceparent = readString();
        break;
      case 82:
        m.tracestate = readString();
        break;
      default:
        other(t, CALL_FIELDS, 'Call');
    }
  }
  return m;
}

const RESULT_FIELDS = fields(1, 2);

function readResult(): ResultFrame {
  const m = {} as ResultFrame;
  while (hasMore()) {
    const t = readTag();
    if (t === 8) m.id = readVarint32();
    else if (t === 18) m.value = readParameter();
    else other(t, RESULT_FIELDS, 'Result');
  }
  return m;
}

const ERROR_FIELDS = fields(1, 2, 3, 4, 5);

function readError(): ErrorFrame {
  const m = {} as ErrorFrame;
  while (hasMore()) {
    const t = readTag();
    switch (t) {
      case 8:
        m.id = readVarint32();
        break;
      case 18:
        m.code = readString();
        break;
      case 26:
        m.message = readString();
        break;
      case 34:
        m.name = readString();
        break;
      case 42:
        m.detailsJson = readString();
        break;
      default:
        other(t, ERROR_FIELDS, 'Error');
    }
  }
  return m;
}

const PUSH_FIELDS = fields(1, 2, 3, 4, 5);

function readPush(): PushFrame {
  const m = {} as PushFrame;
  while (hasMore()) {
    const t = readTag();
    switch (t) {
      case 10:
        m.topic = readString();
        break;
      case 18:
        m.payload = readParameter();
        break;
      case 24:
        m.seq = readVarint32();
        break;
      case 34:
        m.traceparent = readString();
        break;
      case 42:
        m.tracestate = readString();
        break;
      default:
        other(t, PUSH_FIELDS, 'Push');
    }
  }
  return m;
}

const EMIT_FIELDS = fields(1, 2, 3, 4);

function readEmit(): EmitFrame {
  const m = {} as EmitFrame;
  while (hasMore()) {
    const t = readTag();
    switch (t) {
      case 10:
        m.topic = readString();
        break;
      case 18:
        m.payload = readParameter();
        break;
      case 26:
        m.traceparent = readString();
        break;
      case 34:
        m.tracestate = readString();
        break;
      default:
        other(t, EMIT_FIELDS, 'Emit');
    }
  }
  return m;
}

const CHUNK_FIELDS = fields(1, 2, 3);

function readChunk(): ChunkFrame {
  const m = {} as ChunkFrame;
  while (hasMore()) {
    const t = readTag();
    if (t === 8) m.id = readVarint32();
    else if (t === 18) m.data = readBytes();
    else if (t === 24) m.last = readVarint32() !== 0;
    else other(t, CHUNK_FIELDS, 'Chunk');
  }
  return m;
}

/** A message of one uint32 field 1, named `key`. */
function readSingle(key: string, where: string): Fields {
  const m: Fields = {};
  while (hasMore()) {
    const t = readTag();
    if (t === 8) m[key] = readVarint32();
    else other(t, 2, where);
  }
  return m;
}

/** Scalar-only messages, read by the same tables they are written from; `extra` reads other tags. */
function readScalars(table: readonly ScalarField[], where: string, extra?: (m: Fields, t: number) => boolean, extraFields = 0): Fields {
  const m: Fields = {};
  while (hasMore()) {
    const t = readTag();
    const field = fieldByTag(table, t);
    if (!field) {
      if (!extra?.(m, t)) other(t, knownOf(table) | extraFields, where);
      continue;
    }
    const [, key, kind] = field;
    if (kind === 'u32') m[key] = readVarint32();
    else if (kind === 'str') m[key] = readString();
    else if (kind === 'bool') m[key] = readVarint32() !== 0;
    else if (kind === 'enum') m[key] = readVarint32() | 0;
    else {
      const list = (m[key] as string[] | undefined) ?? [];
      list.push(readString());
      m[key] = list;
    }
  }
  return m;
}

function fieldByTag(table: readonly ScalarField[], t: number): ScalarField | undefined {
  for (const field of table) if (field[0] === t) return field;
  return undefined;
}

const knownMasks = new Map<readonly ScalarField[], number>();
function knownOf(table: readonly ScalarField[]): number {
  let mask = knownMasks.get(table);
  if (mask === undefined) knownMasks.set(table, (mask = fields(...table.map(([t]) => t >>> 3))));
  return mask;
}

const HELLO_SCALARS = [...HELLO_HEAD, ...HELLO_TAIL];
const FUNCTION_INFO_FIELDS = fields(1, 2, 3, 4);

function readHelloFunctions(m: Fields, t: number): boolean {
  if (t !== 50) return false;
  const outer = enterMessage();
  const list = (m.functions as FunctionInfoFrame[] | undefined) ?? [];
  list.push(readFunctionInfo());
  m.functions = list;
  leaveMessage(outer);
  return true;
}

function readFunctionInfo(): FunctionInfoFrame {
  const m = {} as FunctionInfoFrame;
  while (hasMore()) {
    const t = readTag();
    if (t === 10) m.name = readString();
    else if (t === 18) m.description = readString();
    else if (t === 26) {
      const outer = enterMessage();
      (m.params ??= []).push(readScalars(PARAMETER_SPEC, 'ParameterSpec') as never);
      leaveMessage(outer);
    } else if (t === 32) m.stream = readVarint32() !== 0;
    else other(t, FUNCTION_INFO_FIELDS, 'FunctionInfo');
  }
  return m;
}

/** How each Frame member is read, giving the whole frame: one object shape per kind. */
const readerFor: Record<FrameKind, () => Frame> = {
  hello: () => ({ hello: readScalars(HELLO_SCALARS, 'Hello', readHelloFunctions, 1 << 6) as unknown as HelloFrame, kind: 'hello' }),
  welcome: () => ({ welcome: readScalars(WELCOME, 'Welcome') as never, kind: 'welcome' }),
  refuse: () => ({ refuse: readScalars(REFUSE, 'Refuse') as never, kind: 'refuse' }),
  call: () => ({ call: readCall(), kind: 'call' }),
  result: () => ({ result: readResult(), kind: 'result' }),
  item: () => ({ item: readResult(), kind: 'item' }),
  end: () => ({ end: readSingle('id', 'StreamEnd') as never, kind: 'end' }),
  error: () => ({ error: readError(), kind: 'error' }),
  cancel: () => ({ cancel: readScalars(CANCEL, 'Cancel') as never, kind: 'cancel' }),
  push: () => ({ push: readPush(), kind: 'push' }),
  emit: () => ({ emit: readEmit(), kind: 'emit' }),
  ping: () => ({ ping: readSingle('seq', 'Ping') as never, kind: 'ping' }),
  pong: () => ({ pong: readSingle('seq', 'Pong') as never, kind: 'pong' }),
  shutdown: () => ({ shutdown: readScalars(SHUTDOWN, 'Shutdown') as never, kind: 'shutdown' }),
  chunk: () => ({ chunk: readChunk(), kind: 'chunk' }),
  credit: () => ({ credit: readScalars(CREDIT, 'Credit') as never, kind: 'credit' }),
  ack: () => ({ ack: readSingle('seq', 'PushAck') as never, kind: 'ack' }),
  emitOverflow: () => ({ emitOverflow: readScalars(EMIT_OVERFLOW, 'EmitOverflow') as never, kind: 'emitOverflow' }),
  log: () => ({ log: readScalars(LOG, 'Log') as never, kind: 'log' }),
  draining: () => ({ draining: readSingle('graceMs', 'Draining') as never, kind: 'draining' }),
};
/** Frame members by tag (a dense table: the largest tag is 21 << 3 | 2). */
const READERS: Array<(() => Frame) | undefined> = new Array<(() => Frame) | undefined>(256).fill(undefined);
for (const key of MEMBER_ORDER) READERS[MEMBERS[key][0]] = readerFor[key];
const FRAME_FIELDS = MEMBER_ORDER.reduce((mask, key) => mask | (1 << (MEMBERS[key][0] >>> 3)), 0);

/**
 * Decodes the bytes of one protobuf Frame message. Throws a ProtoDecodeError (with what and where)
 * for bytes that are not one: truncated, a length past its message, a field of the wrong type.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  beginRead(bytes);
  try {
    let frame: Frame | undefined;
    while (hasMore()) {
      const t = readTag();
      const reader = t < 256 ? READERS[t] : undefined;
      if (!reader) {
        other(t, FRAME_FIELDS, 'Frame');
        continue;
      }
      const outer = enterMessage();
      frame = reader();
      leaveMessage(outer);
    }
    return frame ?? {};
  } finally {
    endRead();
  }
}

export { ProtoDecodeError } from './proto-reader.js';
