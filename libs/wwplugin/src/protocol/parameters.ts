import { InvalidArgumentError } from '../errors/wwplugin.errors.js';
import { BAD_ARGUMENTS, UNDECODABLE_ARGUMENT, UNSUPPORTED_VALUE } from '../wwplugin.messages.js';

/** Type tag of a Parameter on the wire (the seed's `proto.ParameterType`). @publicApi */
export enum ParameterType {
  NULL = 0,
  STRING = 1,
  INT = 2,
  FLOAT = 3,
  BOOL = 4,
  BYTES = 5,
  JSON = 6,
}

/** A named, typed value as users write it: the seed's `proto.Parameter{Name, Type, Value}`. @publicApi */
export interface Parameter<T = unknown> {
  name: string;
  type: ParameterType;
  value: T;
}

/** The protobuf form of a Parameter, as grpc/proto-loader hands it over. */
export interface WireParameter {
  name: string;
  type?: ParameterType;
  stringValue?: string;
  intValue?: string | number;
  floatValue?: number;
  boolValue?: boolean;
  bytesValue?: Uint8Array;
  jsonValue?: string;
}

/** What call arguments may be: named values, or the seed's Parameter list. @publicApi */
export type CallArgs = Record<string, unknown> | Parameter[] | undefined;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Picks the wire type for a plain JS value. */
export function typeOf(value: unknown): ParameterType {
  switch (typeof value) {
    case 'undefined':
      return ParameterType.NULL;
    case 'string':
      return ParameterType.STRING;
    case 'boolean':
      return ParameterType.BOOL;
    case 'bigint':
      return ParameterType.INT;
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? ParameterType.INT : ParameterType.FLOAT;
    case 'object':
      if (value === null) return ParameterType.NULL;
      if (value instanceof Uint8Array || value instanceof ArrayBuffer) return ParameterType.BYTES;
      return ParameterType.JSON;
    default:
      return -1 as ParameterType;
  }
}

/** Encodes one JS value as a wire Parameter, with its type inferred or given. */
export function encodeValue(name: string, value: unknown, type: ParameterType = typeOf(value)): WireParameter {
  switch (type) {
    case ParameterType.NULL:
      return { name, type };
    case ParameterType.STRING:
      if (typeof value !== 'string') break;
      return { name, type, stringValue: value };
    case ParameterType.INT: {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return { name, type, intValue: value };
      const big = typeof value === 'bigint' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? BigInt(value) : undefined;
      if (big === undefined) break;
      if (big < INT64_MIN || big > INT64_MAX) {
        throw new InvalidArgumentError(UNSUPPORTED_VALUE(name, `integer ${big} is outside the signed 64-bit range`));
      }
      return { name, type, intValue: big.toString() };
    }
    case ParameterType.FLOAT:
      if (typeof value !== 'number') break;
      return { name, type, floatValue: value };
    case ParameterType.BOOL:
      if (typeof value !== 'boolean') break;
      return { name, type, boolValue: value };
    case ParameterType.BYTES:
      if (value instanceof Uint8Array) return { name, type, bytesValue: value };
      if (value instanceof ArrayBuffer) return { name, type, bytesValue: new Uint8Array(value) };
      break;
    case ParameterType.JSON: {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (err) {
        throw new InvalidArgumentError(UNSUPPORTED_VALUE(name, `it cannot be written as JSON (${(err as Error).message})`));
      }
      if (text === undefined) break;
      return { name, type, jsonValue: text };
    }
  }
  throw new InvalidArgumentError(UNSUPPORTED_VALUE(name, `${describe(value)} given as ${ParameterType[type] ?? `type ${type}`}`));
}

/** Decodes a wire Parameter to a plain JS value: numbers beyond 2^53 come back as bigint. */
export function decodeValue(p: WireParameter | null | undefined): unknown {
  if (!p) return null;
  switch (p.type ?? ParameterType.NULL) {
    case ParameterType.STRING:
      return p.stringValue ?? '';
    case ParameterType.INT: {
      const raw = p.intValue ?? 0;
      if (typeof raw === 'number') return raw;
      const n = Number(raw);
      return Number.isSafeInteger(n) ? n : BigInt(raw);
    }
    case ParameterType.FLOAT:
      return p.floatValue ?? 0;
    case ParameterType.BOOL:
      return p.boolValue ?? false;
    case ParameterType.BYTES:
      return toBuffer(p.bytesValue);
    case ParameterType.JSON:
      return p.jsonValue ? JSON.parse(p.jsonValue) : null;
    default:
      return null;
  }
}

/** Encodes call arguments (plain object or Parameter[]) to wire Parameters. */
export function encodeArgs(args: unknown): WireParameter[] {
  if (args === undefined || args === null) return [];
  if (Array.isArray(args)) {
    return args.map((p, i) => {
      if (!isParameter(p)) {
        throw new InvalidArgumentError(BAD_ARGUMENTS(`an array whose item ${i} is not a Parameter { name, type, value }`));
      }
      return encodeValue(p.name, p.value, p.type);
    });
  }
  if (typeof args !== 'object' || args instanceof Uint8Array || args instanceof Date) {
    throw new InvalidArgumentError(BAD_ARGUMENTS(describe(args)));
  }
  const out: WireParameter[] = [];
  for (const key of Object.keys(args)) out.push(encodeValue(key, (args as Record<string, unknown>)[key]));
  return out;
}

/** Decodes wire arguments to named values and to the seed's Parameter list. */
export function decodeArgs(wire: WireParameter[] | undefined): { named: Record<string, unknown>; parameters: Parameter[] } {
  const args = wire ?? [];
  const { named, values } = decodeArgValues(args);
  return { named, parameters: toParameters(args, values) };
}

/** Decodes wire arguments to named values, and each argument's value in order (for toParameters, when asked). */
export function decodeArgValues(wire: readonly WireParameter[]): { named: Record<string, unknown>; values: unknown[] } {
  const named: Record<string, unknown> = {};
  const values = new Array<unknown>(wire.length);
  for (let i = 0; i < wire.length; i++) {
    const p = wire[i];
    let value: unknown;
    try {
      value = decodeValue(p);
    } catch (err) {
      // Bad bytes from a peer are a bad argument, not a failure of the handler.
      throw new InvalidArgumentError(UNDECODABLE_ARGUMENT(p.name, (err as Error).message), { argument: p.name });
    }
    named[p.name] = value;
    values[i] = value;
  }
  return { named, values };
}

/** The seed's Parameter list of decoded arguments. */
export function toParameters(wire: readonly WireParameter[], values: readonly unknown[]): Parameter[] {
  return wire.map((p, i) => ({ name: p.name, type: p.type ?? ParameterType.NULL, value: values[i] }));
}

function isParameter(p: unknown): p is Parameter {
  return !!p && typeof p === 'object' && typeof (p as Parameter).name === 'string' && typeof (p as Parameter).type === 'number';
}

function toBuffer(bytes: Uint8Array | undefined): Buffer {
  if (!bytes) return Buffer.alloc(0);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'object') return value.constructor?.name ? `${value.constructor.name} object` : 'object';
  return typeof value;
}
