import type { CallFrame, ChunkFrame, ErrorFrame, Frame, FrameKind, FunctionInfoFrame, HelloFrame, PushFrame, EmitFrame, ResultFrame } from './frames.js';
import type { WireParameter } from './parameters.js';
import * as r from './proto-reader.js';
import * as w from './proto-writer.js';

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
  if (typeof v === 'number') w.int32(t, v);
  else if (typeof v === 'string' && ENUM_NAMES[v] !== undefined) w.int32(t, ENUM_NAMES[v]);
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
    if (v >= -0x40000000 && v < 0x40000000 && Number.isInteger(v)) return w.uint32(t, ((v << 1) ^ (v >> 31)) >>> 0);
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
    return w.zigzag64(t, lo, hi);
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
  w.zigzag64(t, Number(zigzag & 0xffffffffn), Number(zigzag >> 32n));
}

function writeBytes(t: number, v: unknown): void {
  if (v instanceof Uint8Array) return w.bytes(t, v);
  if (typeof v === 'string') return w.bytes(t, Buffer.from(v, 'base64'));
  if (typeof (v as ArrayLike<number>).length === 'number') return w.bytes(t, Buffer.from(v as ArrayLike<number>));
  throw new TypeError('bytes value expected');
}

function writeParameter(t: number, v: unknown): void {
  const p = objectOf(v, 'Parameter') as unknown as WireParameter;
  const at = w.open(t);
  if (p.name != null) w.string(10, str(p.name));
  if (p.type != null) writeEnum(16, p.type);
  if (p.stringValue != null) w.string(26, str(p.stringValue));
  if (p.intValue != null) writeSint64(32, p.intValue);
  if (p.floatValue != null) w.double(41, num(p.floatValue));
  if (p.boolValue != null) w.bool(48, !!p.boolValue);
  if (p.bytesValue != null) writeBytes(58, p.bytesValue);
  if (p.jsonValue != null) w.string(66, str(p.jsonValue));
  w.close(at);
}

function writeCall(m: CallFrame): void {
  if (m.id != null) w.uint32(8, m.id);
  if (m.function != null) w.string(18, str(m.function));
  const args = listOf(m.args, 'Call.args');
  if (args) for (const p of args) writeParameter(26, p);
  if (m.timeoutMs != null) w.uint32(32, m.timeoutMs);
  if (m.target != null) w.string(42, str(m.target));
  if (m.stream != null) w.bool(48, !!m.stream);
  if (m.caller != null) w.string(58, str(m.caller));
  if (m.credit != null) w.uint32(64, m.credit);
  if (m.traceparent != null) w.string(74, str(m.traceparent));
  if (m.tracestate != null) w.string(82, str(m.tracestate));
}

/** Result and StreamItem: an id and a value. */
function writeResult(m: ResultFrame): void {
  if (m.id != null) w.uint32(8, m.id);
  if (m.value != null) writeParameter(18, m.value);
}

function writeError(m: ErrorFrame): void {
  if (m.id != null) w.uint32(8, m.id);
  if (m.code != null) w.string(18, str(m.code));
  if (m.message != null) w.string(26, str(m.message));
  if (m.name != null) w.string(34, str(m.name));
  if (m.detailsJson != null) w.string(42, str(m.detailsJson));
}

function writePush(m: PushFrame): void {
  if (m.topic != null) w.string(10, str(m.topic));
  if (m.payload != null) writeParameter(18, m.payload);
  if (m.seq != null) w.uint32(24, m.seq);
  if (m.traceparent != null) w.string(34, str(m.traceparent));
  if (m.tracestate != null) w.string(42, str(m.tracestate));
}

function writeEmit(m: EmitFrame): void {
  if (m.topic != null) w.string(10, str(m.topic));
  if (m.payload != null) writeParameter(18, m.payload);
  if (m.traceparent != null) w.string(26, str(m.traceparent));
  if (m.tracestate != null) w.string(34, str(m.tracestate));
}

function writeChunk(m: ChunkFrame): void {
  if (m.id != null) w.uint32(8, m.id);
  if (m.data != null) writeBytes(18, m.data);
  if (m.last != null) w.bool(24, !!m.last);
}

/** A message of one uint32 field 1 (Ping, Pong, PushAck, StreamEnd, Draining): `key` names it. */
function writeSingle(m: Fields, key: string): void {
  const v = m[key];
  if (v != null) w.uint32(8, v as number);
}

/** Messages of scalar fields only, off the call path, written from a table: [tag, key, kind]. */
type ScalarKind = 'u32' | 'str' | 'bool' | 'enum' | 'strs';
type ScalarField = readonly [number, string, ScalarKind];

function writeScalars(m: Fields, fields: readonly ScalarField[], where: string): void {
  for (const [t, key, kind] of fields) {
    const v = m[key];
    if (v == null) continue;
    if (kind === 'u32') w.uint32(t, v as number);
    else if (kind === 'str') w.string(t, str(v));
    else if (kind === 'bool') w.bool(t, !!v);
    else if (kind === 'enum') writeEnum(t, v);
    else for (const s of listOf(v, `${where}.${key}`) ?? []) w.string(t, str(s));
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
    const at = w.open(50);
    if (fn.name != null) w.string(10, str(fn.name));
    if (fn.description != null) w.string(18, str(fn.description));
    for (const spec of listOf(fn.params, 'FunctionInfo.params') ?? []) {
      const specAt = w.open(26);
      writeScalars(objectOf(spec, 'ParameterSpec'), PARAMETER_SPEC, 'ParameterSpec');
      w.close(specAt);
    }
    if (fn.stream != null) w.bool(32, !!fn.stream);
    w.close(at);
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
  const [t, write] = MEMBERS[key];
  const at = w.open(t);
  write(objectOf(value, `Frame.${key}`));
  w.close(at);
}

/** Encodes a Frame object to the bytes of one protobuf Frame message. */
export function encodeFrame(frame: Frame): Buffer {
  const f = objectOf(frame, 'Frame');
  w.reset();
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
    w.reset();
    throw err;
  }
  return w.finish();
}

// ---------- decoding ----------

/** A field this message does not know is skipped; a known one with another wire type is an error. */
function other(t: number, known: number, where: string): void {
  const field = t >>> 3;
  if (field < 32 && known & (1 << field)) throw r.wrongType(t, where);
  r.skip(t);
}
const fields = (...numbers: number[]) => numbers.reduce((mask, n) => mask | (1 << n), 0);

const PARAMETER_FIELDS = fields(1, 2, 3, 4, 5, 6, 7, 8);

function readParameter(): WireParameter {
  const outer = r.enter();
  const p = {} as WireParameter & { value?: string };
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 10:
        p.name = r.string();
        break;
      case 16:
        p.type = r.varint32() | 0;
        break;
      case 26:
        p.stringValue = r.string();
        member(p, 'stringValue');
        break;
      case 32:
        p.intValue = r.sint64String();
        member(p, 'intValue');
        break;
      case 41:
        p.floatValue = r.double();
        member(p, 'floatValue');
        break;
      case 48:
        p.boolValue = r.varint32() !== 0;
        member(p, 'boolValue');
        break;
      case 58:
        p.bytesValue = r.bytes();
        member(p, 'bytesValue');
        break;
      case 66:
        p.jsonValue = r.string();
        member(p, 'jsonValue');
        break;
      default:
        other(t, PARAMETER_FIELDS, 'Parameter');
    }
  }
  r.leave(outer);
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
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 8:
        m.id = r.varint32();
        break;
      case 18:
        m.function = r.string();
        break;
      case 26:
        (m.args ??= []).push(readParameter());
        break;
      case 32:
        m.timeoutMs = r.varint32();
        break;
      case 42:
        m.target = r.string();
        break;
      case 48:
        m.stream = r.varint32() !== 0;
        break;
      case 58:
        m.caller = r.string();
        break;
      case 64:
        m.credit = r.varint32();
        break;
      case 74:
        m.traceparent = r.string();
        break;
      case 82:
        m.tracestate = r.string();
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
  while (r.more()) {
    const t = r.tag();
    if (t === 8) m.id = r.varint32();
    else if (t === 18) m.value = readParameter();
    else other(t, RESULT_FIELDS, 'Result');
  }
  return m;
}

const ERROR_FIELDS = fields(1, 2, 3, 4, 5);

function readError(): ErrorFrame {
  const m = {} as ErrorFrame;
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 8:
        m.id = r.varint32();
        break;
      case 18:
        m.code = r.string();
        break;
      case 26:
        m.message = r.string();
        break;
      case 34:
        m.name = r.string();
        break;
      case 42:
        m.detailsJson = r.string();
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
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 10:
        m.topic = r.string();
        break;
      case 18:
        m.payload = readParameter();
        break;
      case 24:
        m.seq = r.varint32();
        break;
      case 34:
        m.traceparent = r.string();
        break;
      case 42:
        m.tracestate = r.string();
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
  while (r.more()) {
    const t = r.tag();
    switch (t) {
      case 10:
        m.topic = r.string();
        break;
      case 18:
        m.payload = readParameter();
        break;
      case 26:
        m.traceparent = r.string();
        break;
      case 34:
        m.tracestate = r.string();
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
  while (r.more()) {
    const t = r.tag();
    if (t === 8) m.id = r.varint32();
    else if (t === 18) m.data = r.bytes();
    else if (t === 24) m.last = r.varint32() !== 0;
    else other(t, CHUNK_FIELDS, 'Chunk');
  }
  return m;
}

/** A message of one uint32 field 1, named `key`. */
function readSingle(key: string, where: string): Fields {
  const m: Fields = {};
  while (r.more()) {
    const t = r.tag();
    if (t === 8) m[key] = r.varint32();
    else other(t, 2, where);
  }
  return m;
}

/** Scalar-only messages, read by the same tables they are written from; `extra` reads other tags. */
function readScalars(table: readonly ScalarField[], where: string, extra?: (m: Fields, t: number) => boolean, extraFields = 0): Fields {
  const m: Fields = {};
  while (r.more()) {
    const t = r.tag();
    const field = fieldByTag(table, t);
    if (!field) {
      if (!extra?.(m, t)) other(t, knownOf(table) | extraFields, where);
      continue;
    }
    const [, key, kind] = field;
    if (kind === 'u32') m[key] = r.varint32();
    else if (kind === 'str') m[key] = r.string();
    else if (kind === 'bool') m[key] = r.varint32() !== 0;
    else if (kind === 'enum') m[key] = r.varint32() | 0;
    else {
      const list = (m[key] as string[] | undefined) ?? [];
      list.push(r.string());
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
  const outer = r.enter();
  const list = (m.functions as FunctionInfoFrame[] | undefined) ?? [];
  list.push(readFunctionInfo());
  m.functions = list;
  r.leave(outer);
  return true;
}

function readFunctionInfo(): FunctionInfoFrame {
  const m = {} as FunctionInfoFrame;
  while (r.more()) {
    const t = r.tag();
    if (t === 10) m.name = r.string();
    else if (t === 18) m.description = r.string();
    else if (t === 26) {
      const outer = r.enter();
      (m.params ??= []).push(readScalars(PARAMETER_SPEC, 'ParameterSpec') as never);
      r.leave(outer);
    } else if (t === 32) m.stream = r.varint32() !== 0;
    else other(t, FUNCTION_INFO_FIELDS, 'FunctionInfo');
  }
  return m;
}

/** Frame members by tag: their key, and how their message is read. */
const READERS: Array<readonly [FrameKind, () => unknown] | undefined> = [];
const readerFor: Record<FrameKind, () => unknown> = {
  hello: () => readScalars(HELLO_SCALARS, 'Hello', readHelloFunctions, 1 << 6),
  welcome: () => readScalars(WELCOME, 'Welcome'),
  refuse: () => readScalars(REFUSE, 'Refuse'),
  call: readCall,
  result: readResult,
  item: readResult,
  end: () => readSingle('id', 'StreamEnd'),
  error: readError,
  cancel: () => readScalars(CANCEL, 'Cancel'),
  push: readPush,
  emit: readEmit,
  ping: () => readSingle('seq', 'Ping'),
  pong: () => readSingle('seq', 'Pong'),
  shutdown: () => readScalars(SHUTDOWN, 'Shutdown'),
  chunk: readChunk,
  credit: () => readScalars(CREDIT, 'Credit'),
  ack: () => readSingle('seq', 'PushAck'),
  emitOverflow: () => readScalars(EMIT_OVERFLOW, 'EmitOverflow'),
  log: () => readScalars(LOG, 'Log'),
  draining: () => readSingle('graceMs', 'Draining'),
};
for (const key of MEMBER_ORDER) READERS[MEMBERS[key][0]] = [key, readerFor[key]];
const FRAME_FIELDS = MEMBER_ORDER.reduce((mask, key) => mask | (1 << (MEMBERS[key][0] >>> 3)), 0);

/**
 * Decodes the bytes of one protobuf Frame message. Throws a ProtoDecodeError (with what and where)
 * for bytes that are not one: truncated, a length past its message, a field of the wrong type.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  r.begin(bytes);
  try {
    let kind: FrameKind | undefined;
    let value: unknown;
    while (r.more()) {
      const t = r.tag();
      const reader = READERS[t];
      if (!reader) {
        other(t, FRAME_FIELDS, 'Frame');
        continue;
      }
      const outer = r.enter();
      value = reader[1]();
      r.leave(outer);
      kind = reader[0];
    }
    if (kind === undefined) return {};
    const frame: Fields = { [kind]: value, kind };
    return frame as Frame;
  } finally {
    r.end();
  }
}

export { ProtoDecodeError } from './proto-reader.js';
