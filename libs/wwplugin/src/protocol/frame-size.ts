import { MessageTooLargeError } from '../errors/wwplugin.errors.js';
import { MESSAGE_TOO_LARGE } from '../wwplugin.messages.js';
import type { WireParameter } from './parameters.js';

// Sizes of values in a frame, for the size limit and for choosing whether a frame goes in chunks.

/** An upper bound on a parameter's encoded size that costs nothing to compute (UTF-16 unit <= 3 bytes). */
export function paramUpperBound(p: WireParameter): number {
  let n = 16 + p.name.length * 3;
  if (p.stringValue) n += p.stringValue.length * 3;
  if (p.jsonValue) n += p.jsonValue.length * 3;
  if (p.bytesValue) n += p.bytesValue.byteLength;
  return n;
}

/** The encoded size of a parameter, give or take a few bytes of framing. */
export function paramExactSize(p: WireParameter): number {
  let n = 16 + Buffer.byteLength(p.name);
  if (p.stringValue) n += Buffer.byteLength(p.stringValue);
  if (p.jsonValue) n += Buffer.byteLength(p.jsonValue);
  if (p.bytesValue) n += p.bytesValue.byteLength;
  return n;
}

/** A parameter's size for the writer: exact once it could be over a chunk (64 KiB), cheap below. */
export function paramSize(p: WireParameter): number {
  const upper = paramUpperBound(p);
  return upper <= 64 * 1024 ? upper : paramExactSize(p);
}

/** The cheap upper bound of several parameters. */
export function upperBound(values: readonly WireParameter[]): number {
  let n = 0;
  for (const v of values) n += paramUpperBound(v);
  return n;
}

/** The size of several parameters: exact only when the cheap bound is over `threshold`. */
export function sizeOver(values: readonly WireParameter[], threshold: number): number {
  const upper = upperBound(values);
  if (upper <= threshold) return upper;
  let exact = 0;
  for (const v of values) exact += paramExactSize(v);
  return exact;
}

/** Throws MessageTooLargeError when `values` would make a frame over `max` bytes. */
export function assertMessageSize(values: readonly WireParameter[], max: number): void {
  const size = sizeOver(values, max);
  if (size > max) throw new MessageTooLargeError(MESSAGE_TOO_LARGE(size, max));
}
