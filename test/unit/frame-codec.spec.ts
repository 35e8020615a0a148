// The hand-written Frame codec against @grpc/proto-loader (the oracle, a dev dependency only), with
// the options docs/protocol.md names. Invariants, for random frames of every kind:
//   (1) our encoding is byte-for-byte proto-loader's encoding of the same object;
//   (2) proto-loader decodes our encoding to the frame, and we decode proto-loader's to the frame;
//   (3) decode(encode(frame)) is the frame (round trip);
//   (4) values in the forms the library sends (int64 as a number, bytes as a plain Uint8Array, no
//       `kind`/`value` names) encode as proto-loader encodes them;
//   (5) every truncation of a frame's bytes throws a ProtoDecodeError, and random bytes either
//       decode to a frame that round-trips or throw a ProtoDecodeError, never another error;
//   (6) fields this version does not know, at any level, are skipped; an unknown Frame member
//       gives a frame of no known kind (`{}`), as proto-loader gives it.
// Strings are well-formed Unicode: a lone surrogate is not representable in UTF-8 (both codecs
// write a replacement for it).
import * as protoLoader from '@grpc/proto-loader';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, ProtoDecodeError } from '../../libs/wwplugin/src/protocol/frame-codec.js';
import type { Frame } from '../../libs/wwplugin/src/protocol/frames.js';
import { frameCodec, pluginHostService, SESSION_PATH } from '../../libs/wwplugin/src/protocol/proto-definition.js';

const PROTO = fileURLToPath(new URL('../../proto/wwplugin/v1/wwplugin.proto', import.meta.url));
const oracle = (
  protoLoader.loadSync(PROTO, { keepCase: false, longs: String, enums: Number, defaults: false, oneofs: true })[
    'wwplugin.v1.PluginHost'
  ] as protoLoader.ServiceDefinition
).Session as protoLoader.MethodDefinition<object, object>;
const pbEncode = (frame: object): Buffer => oracle.requestSerialize(frame);
const pbDecode = (bytes: Buffer): object => oracle.requestDeserialize(bytes);

const RUNS = { numRuns: 300 };

// ---------- arbitraries: frames in the form decoding gives them ----------

const u32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 16_383, 16_384, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 40, maxLength: 400 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a', 'é', '€', '😀', 'x'.repeat(127), 'x'.repeat(128), 'é'.repeat(64), '€'.repeat(43)) },
  // Large: lengths past one- and two-byte varints, past a 64 KiB chunk.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min: 100, max: 40_000 })).map(([s, n]) => s.repeat(n)),
  },
);
const INT64_EDGES = [
  '0',
  '1',
  '-1',
  '9007199254740991',
  '-9007199254740991',
  '9007199254740992',
  '-9007199254740993',
  '9223372036854775807',
  '-9223372036854775808',
  '1073741823',
  '-1073741824',
  '1073741824',
  '-1073741825',
  '4294967295',
  '-4294967296',
];
const int64Text = fc.oneof(fc.constantFrom(...INT64_EDGES), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), fc.integer().map(String));
const double = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, -0, 0, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE));
const bytes = fc
  .oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => new Uint8Array(n).fill(7)) },
  )
  .map((u) => Buffer.from(u));
const bool = fc.boolean();
const enumValue = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(42, -1, -2147483648, 2147483647));

/** A record whose every field may be absent (proto3 with defaults: false). */
const optional = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [] });

const oneofMember = fc.oneof(
  fc.constant({}),
  string('stringValue'),
  int64Text.map((v) => ({ intValue: v, value: 'intValue' })),
  double.map((v) => ({ floatValue: v, value: 'floatValue' })),
  bool.map((v) => ({ boolValue: v, value: 'boolValue' })),
  bytes.map((v) => ({ bytesValue: v, value: 'bytesValue' })),
  string('jsonValue'),
);
function string(key: string) {
  return text.map((v) => ({ [key]: v, value: key }));
}
const parameter = fc.tuple(optional({ name: text, type: enumValue }), oneofMember).map(([head, member]) => ({ ...head, ...member }));
const parameters = fc.array(parameter, { minLength: 1, maxLength: 5 });

const members: Record<string, fc.Arbitrary<object>> = {
  hello: optional({
    protocolVersion: u32,
    pluginId: text,
    name: text,
    version: text,
    description: text,
    functions: fc.array(
      optional({
        name: text,
        description: text,
        params: fc.array(optional({ name: text, type: enumValue, optional: bool }), { minLength: 1, maxLength: 3 }),
        stream: bool,
      }),
      { minLength: 1, maxLength: 4 },
    ),
    pid: u32,
    topics: fc.array(text, { minLength: 1, maxLength: 4 }),
    acksPushes: bool,
    replica: text,
  }),
  welcome: optional({
    protocolVersion: u32,
    pluginId: text,
    hostVersion: text,
    maxMessageBytes: u32,
    defaultTimeoutMs: u32,
    pushAckEvery: u32,
    pushAckDelayMs: u32,
    streamIdleTimeoutMs: u32,
    acceptsLogs: bool,
  }),
  refuse: optional({ code: text, reason: text }),
  call: optional({
    id: u32,
    function: text,
    args: parameters,
    timeoutMs: u32,
    target: text,
    stream: bool,
    caller: text,
    credit: u32,
    traceparent: text,
    tracestate: text,
  }),
  result: optional({ id: u32, value: parameter }),
  item: optional({ id: u32, value: parameter }),
  end: optional({ id: u32 }),
  error: optional({ id: u32, code: text, message: text, name: text, detailsJson: text }),
  cancel: optional({ id: u32, reason: text }),
  push: optional({ topic: text, payload: parameter, seq: u32, traceparent: text, tracestate: text }),
  emit: optional({ topic: text, payload: parameter, traceparent: text, tracestate: text }),
  ping: optional({ seq: u32 }),
  pong: optional({ seq: u32 }),
  shutdown: optional({ graceMs: u32, reason: text }),
  chunk: optional({ id: u32, data: bytes, last: bool }),
  credit: optional({ id: u32, items: u32 }),
  ack: optional({ seq: u32 }),
  emitOverflow: optional({ dropped: u32, droppedSinceLast: u32 }),
  log: optional({ level: text, context: text, message: text, stack: text }),
  draining: optional({ graceMs: u32 }),
};
const KINDS = Object.keys(members);
const frameOf = (kind: string) => members[kind].map((m) => ({ [kind]: m, kind }) as Frame);
const anyFrame = fc.oneof(...KINDS.map(frameOf));

// ---------- helpers ----------

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** The member message's own bytes: a one-member frame's bytes without the member's tag and length. */
function memberBytes(frame: Buffer): { tag: number[]; body: Buffer } {
  let i = 0;
  const tag: number[] = [];
  while (frame[i] & 128) tag.push(frame[i++]);
  tag.push(frame[i++]);
  while (frame[i] & 128) i++;
  return { tag, body: frame.subarray(i + 1) };
}

/** An unknown field: a field number this schema does not use (past 21, or 17), any wire type. */
const unknownField = fc
  .tuple(fc.oneof(fc.constant(17), fc.integer({ min: 22, max: 536_870_911 })), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 20 }), fc.nat())
  .map(([field, type, data, n]) => {
    const head = varint(field * 8 + type);
    if (type === 0) return Buffer.from([...head, ...varint(n)]);
    if (type === 1) return Buffer.from([...head, 1, 2, 3, 4, 5, 6, 7, 8]);
    if (type === 5) return Buffer.from([...head, 1, 2, 3, 4]);
    return Buffer.from([...head, ...varint(data.length), ...data]);
  });

describe('frame codec (hand-written) against proto-loader', () => {
  it('encodes every kind of frame byte-for-byte as proto-loader does', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        expect(encodeFrame(frame).equals(pbEncode(frame))).toBe(true);
      }),
      RUNS,
    );
  });

  it('decodes to the same objects in both directions, and round-trips', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        const ours = encodeFrame(frame);
        expect(pbDecode(ours)).toEqual(frame);
        expect(decodeFrame(pbEncode(frame))).toEqual(frame);
        expect(decodeFrame(ours)).toEqual(frame);
      }),
      RUNS,
    );
  });

  it('covers every member of the Frame oneof', () => {
    const root = protoLoader.loadSync(PROTO, {});
    const frameType = root['wwplugin.v1.Frame'] as unknown as { type: { field: Array<{ name: string }> } };
    const oneofMembers = frameType.type.field.map((f) => f.name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()));
    expect(KINDS.sort()).toEqual(oneofMembers.sort());
  });

  it('encodes values as the library sends them: int64 as a number or bigint, bytes as a Uint8Array, no oneof names', () => {
    const safe = fc.oneof(
      fc.integer(),
      fc.maxSafeInteger(),
      fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0x3fffffff, -0x40000000, 0x40000000, -0x40000001, 2 ** 32, -(2 ** 32)),
    );
    fc.assert(
      fc.property(safe, fc.uint8Array({ maxLength: 50 }), u32, (n, data, id) => {
        const asSent: Frame = { result: { id, value: { name: 'n', type: 2, intValue: n } } };
        expect(encodeFrame(asSent).equals(pbEncode(asSent))).toBe(true);
        expect(decodeFrame(encodeFrame(asSent))).toEqual({
          kind: 'result',
          result: { id, value: { name: 'n', type: 2, intValue: String(n), value: 'intValue' } },
        });
        const big: Frame = { item: { id, value: { name: 'b', type: 2, intValue: BigInt(n) as unknown as string } } };
        expect(encodeFrame(big).equals(encodeFrame({ item: { id, value: { name: 'b', type: 2, intValue: String(n) } } }))).toBe(true);
        const chunk: Frame = { chunk: { id, data, last: true } };
        expect(encodeFrame(chunk).equals(pbEncode(chunk))).toBe(true);
        expect(decodeFrame(encodeFrame(chunk)).chunk!.data).toEqual(Buffer.from(data));
      }),
      RUNS,
    );
  });

  it('writes fields set to their default value, as proto-loader does (absent stays absent)', () => {
    const frame: Frame = { error: { id: 0, code: '', message: '' } };
    expect(encodeFrame(frame)).toEqual(pbEncode(frame));
    expect(decodeFrame(encodeFrame(frame))).toEqual({ kind: 'error', error: { id: 0, code: '', message: '' } });
    expect(decodeFrame(encodeFrame({ ping: {} } as Frame))).toEqual({ kind: 'ping', ping: {} });
    expect(decodeFrame(Buffer.alloc(0))).toEqual({});
  });

  it('throws a ProtoDecodeError for every truncation of a frame', () => {
    fc.assert(
      fc.property(anyFrame, fc.nat(), (frame, cut) => {
        const bytes = encodeFrame(frame);
        const end = 1 + (cut % (bytes.length - 1 || 1));
        if (end >= bytes.length) return;
        expect(() => decodeFrame(bytes.subarray(0, end))).toThrow(ProtoDecodeError);
      }),
      RUNS,
    );
    expect(() => decodeFrame(Buffer.from([0x22, 0x05, 0x08]))).toThrow(/truncated message: 5 byte\(s\) needed/);
  });

  it('decodes random bytes to a frame that round-trips, or throws a ProtoDecodeError', () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Corrupt frames: one byte of a real frame changed.
      fc.tuple(anyFrame, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([frame, at, b]) => {
        const bytes = Buffer.from(encodeFrame(frame));
        if (bytes.length) bytes[at % bytes.length] = b;
        return bytes;
      }),
    );
    fc.assert(
      fc.property(garbage, (data) => {
        let frame: Frame;
        try {
          frame = decodeFrame(Buffer.from(data));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtoDecodeError);
          return;
        }
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses malformed wire data with a message saying what is wrong', () => {
    // A known field with another wire type: Call.id (field 1) as a length-delimited field.
    expect(() => decodeFrame(Buffer.from([0x22, 0x03, 0x0a, 0x01, 0x00]))).toThrow(/field Call \(number 1\) has wire type 2/);
    // A varint of eleven bytes.
    expect(() => decodeFrame(Buffer.from([0x22, 12, 0x08, ...new Array(10).fill(0xff), 0x01]))).toThrow(/varint longer than 10 bytes/);
    // An embedded message whose field runs past the message's end (but not the input's).
    expect(() => decodeFrame(Buffer.from([0x22, 0x02, 0x12, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65]))).toThrow(ProtoDecodeError);
    // Field number 0, and wire types 6 and 7, do not exist.
    expect(() => decodeFrame(Buffer.from([0x00, 0x00]))).toThrow(/field number 0/);
    expect(() => decodeFrame(Buffer.from([0xbe, 0x01]))).toThrow(/invalid wire type 6/);
    expect(() => decodeFrame(Buffer.from([0x22, 0x02, 0xff, 0x01]))).toThrow(/invalid wire type 7/);
  });

  it('skips unknown fields at the frame and at the member level (a newer peer), as proto-loader does', () => {
    fc.assert(
      fc.property(anyFrame, unknownField, unknownField, (frame, outside, inside) => {
        const { tag, body } = memberBytes(encodeFrame(frame));
        const member = Buffer.concat([inside, body]);
        const bytes = Buffer.concat([outside, Buffer.from([...tag, ...varint(member.length)]), member]);
        expect(decodeFrame(bytes)).toEqual(frame);
        expect(pbDecode(bytes)).toEqual(frame);
      }),
      RUNS,
    );
    // A proto2 group of an unknown field is skipped too.
    const call = encodeFrame({ call: { id: 3 } } as Frame);
    expect(decodeFrame(Buffer.concat([Buffer.from([0xb3, 0x01, 0x08, 0x01, 0xb4, 0x01]), call]))).toEqual({ kind: 'call', call: { id: 3 } });
  });

  it('gives a frame of no known kind for a Frame member this version does not know', () => {
    fc.assert(
      fc.property(fc.integer({ min: 22, max: 10_000 }), fc.uint8Array({ maxLength: 30 }), (field, data) => {
        const bytes = Buffer.from([...varint(field * 8 + 2), ...varint(data.length), ...data]);
        expect(decodeFrame(bytes)).toEqual({});
        expect(decodeFrame(bytes).kind).toBeUndefined();
        expect(pbDecode(bytes)).toEqual({});
      }),
      RUNS,
    );
  });

  it('keeps the last of several oneof members on the wire (protobuf semantics)', () => {
    const two = Buffer.concat([encodeFrame({ ping: { seq: 1 } }), encodeFrame({ call: { id: 2 } } as Frame)]);
    expect(decodeFrame(two)).toEqual({ kind: 'call', call: { id: 2 } });
    const param = encodeFrame({ result: { id: 1, value: { name: 'x', stringValue: 'a', boolValue: true } as never } });
    expect(encodeFrame({ result: { id: 1, value: { name: 'x', stringValue: 'a', boolValue: true } as never } })).toEqual(
      pbEncode({ result: { id: 1, value: { name: 'x', stringValue: 'a', boolValue: true } } }),
    );
    expect(decodeFrame(param)).toEqual({ kind: 'result', result: { id: 1, value: { name: 'x', boolValue: true, value: 'boolValue' } } });
  });

  it('refuses to encode what is not a frame, with a TypeError', () => {
    expect(() => encodeFrame(null as never)).toThrow(TypeError);
    expect(() => encodeFrame({ call: 5 } as never)).toThrow(/Frame.call: object expected/);
    expect(() => encodeFrame({ call: { id: 1, args: {} } } as never)).toThrow(/Call.args: array expected/);
    expect(() => encodeFrame({ result: { id: 1, value: { name: 'n', intValue: '12x' } } } as never)).toThrow(/int64 value expected/);
    // The scratch buffer is reset after a failure: the next frame is whole.
    expect(decodeFrame(encodeFrame({ ping: { seq: 9 } }))).toEqual({ kind: 'ping', ping: { seq: 9 } });
  });
});

describe('Session service definition', () => {
  it('is the wwplugin.v1.PluginHost/Session bidi stream with the hand-written codec', () => {
    const session = pluginHostService().service.Session;
    expect(session.path).toBe(SESSION_PATH);
    expect(SESSION_PATH).toBe('/wwplugin.v1.PluginHost/Session');
    expect(session.path).toBe((oracle as { path: string }).path);
    expect(session.requestStream && session.responseStream).toBe(true);
    const frame: Frame = { call: { id: 1, function: 'f', args: [{ name: 'a', type: 1, stringValue: 'x' }] } };
    expect(session.requestSerialize(frame)).toEqual(pbEncode(frame));
    expect(session.responseDeserialize(pbEncode(frame))).toEqual(pbDecode(pbEncode(frame)));
    expect(frameCodec().decode(frameCodec().encode(frame))).toEqual(pbDecode(pbEncode(frame)));
  });

  it('loads neither proto-loader nor protobufjs when a host serves a plugin session', () => {
    // In a fresh process: the library's host and plugin sides exchange frames over loopback gRPC.
    const script = `
      import * as grpc from '@grpc/grpc-js';
      import { createRequire } from 'node:module';
      const { pluginHostService } = await import(${JSON.stringify(new URL('../../libs/wwplugin/dist/protocol/proto-definition.js', import.meta.url).href)});
      const { tolerantService } = await import(${JSON.stringify(new URL('../../libs/wwplugin/dist/host/host-server.js', import.meta.url).href)});
      const server = new grpc.Server();
      server.addService(tolerantService(), { Session: (s) => s.on('data', (f) => { s.write({ pong: { seq: f.ping.seq } }); s.end(); }) });
      const port = await new Promise((ok, fail) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
      const Ctor = pluginHostService();
      const client = new Ctor('127.0.0.1:' + port, grpc.credentials.createInsecure());
      const call = client.Session(new grpc.Metadata());
      const answer = await new Promise((ok) => { call.on('data', ok); call.write({ ping: { seq: 5 } }); });
      call.end(); client.close(); server.forceShutdown();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /protobufjs|proto-loader/.test(k));
      console.log(JSON.stringify({ answer, loaded }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      timeout: 20_000,
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout.trim())).toEqual({ answer: { kind: 'pong', pong: { seq: 5 } }, loaded: [] });
  });
});
