import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/wwplugin.errors.js';
import { decodeArgs, decodeValue, encodeArgs, encodeValue, ParameterType, typeOf } from './parameters.js';

describe('parameters', () => {
  it('infers the wire type of plain values', () => {
    expect(typeOf('a')).toBe(ParameterType.STRING);
    expect(typeOf(1)).toBe(ParameterType.INT);
    expect(typeOf(1.5)).toBe(ParameterType.FLOAT);
    expect(typeOf(2 ** 60)).toBe(ParameterType.FLOAT); // not a safe integer
    expect(typeOf(-0)).toBe(ParameterType.FLOAT);
    expect(typeOf(5n)).toBe(ParameterType.INT);
    expect(typeOf(true)).toBe(ParameterType.BOOL);
    expect(typeOf(Buffer.from('x'))).toBe(ParameterType.BYTES);
    expect(typeOf({})).toBe(ParameterType.JSON);
    expect(typeOf([])).toBe(ParameterType.JSON);
    expect(typeOf(null)).toBe(ParameterType.NULL);
    expect(typeOf(undefined)).toBe(ParameterType.NULL);
  });

  it('round-trips ints as numbers when safe and bigints beyond', () => {
    expect(decodeValue(encodeValue('n', 42))).toBe(42);
    expect(decodeValue({ name: 'n', type: ParameterType.INT, intValue: '9007199254740993' })).toBe(9007199254740993n);
    expect(decodeValue({ name: 'n', type: ParameterType.INT, intValue: '-12' })).toBe(-12);
    expect(() => encodeValue('n', 2n ** 63n)).toThrow(InvalidArgumentError);
  });

  it('refuses values the wire cannot carry, naming the parameter', () => {
    expect(() => encodeValue('cb', () => 1)).toThrow('Parameter "cb" has a value of a type that cannot be sent');
    expect(() => encodeValue('x', { big: 1n })).toThrow(/cannot be written as JSON/);
    expect(() => encodeValue('s', 5, ParameterType.STRING)).toThrow(/number given as STRING/);
  });

  it('encodes named arguments and Parameter lists alike', () => {
    const named = encodeArgs({ a: 'x', b: 2 });
    const listed = encodeArgs([
      { name: 'a', type: ParameterType.STRING, value: 'x' },
      { name: 'b', type: ParameterType.INT, value: 2 },
    ]);
    expect(listed).toEqual(named);
    expect(decodeArgs(named).named).toEqual({ a: 'x', b: 2 });
    expect(decodeArgs(named).parameters).toEqual([
      { name: 'a', type: ParameterType.STRING, value: 'x' },
      { name: 'b', type: ParameterType.INT, value: 2 },
    ]);
    expect(encodeArgs(undefined)).toEqual([]);
    expect(() => encodeArgs('x')).toThrow(/got string/);
  });
});
