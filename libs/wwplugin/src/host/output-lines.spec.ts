import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES } from './output-lines.js';

function split(chunks: Array<string | Buffer>, max?: number): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), max);
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return lines;
}

/** Cuts `text` into chunks of the given sizes (bytes), the last one taking the rest. */
function chunked(text: string, sizes: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  out.push(bytes.subarray(at));
  return out;
}

describe('LineSplitter', () => {
  it('splits lines across chunk boundaries, drops CR before LF, keeps empty lines and a last line without LF', () => {
    expect(split(['a', 'b\r\nc\n\nd', 'e'])).toEqual(['ab', 'c', '', 'de']);
  });

  it('the cap is 16 KiB', () => {
    expect(MAX_LINE_BYTES).toBe(16 * 1024);
  });

  // The reported bug: a 77,823-character line arriving with its newline in one chunk was logged whole.
  it('a 77,823-character line is handed over in pieces of at most 16 KiB, whatever the chunks', () => {
    const line = 'x'.repeat(77_823);
    const layouts: number[][] = [[], [65_536], [16_384, 16_384], [1, 16_383, 16_385], [77_823], [40_000, 37_823]];
    for (const sizes of layouts) {
      const lines = split(chunked(`${line}\nnext\n`, sizes));
      expect(lines.every((l) => Buffer.byteLength(l) <= MAX_LINE_BYTES)).toBe(true);
      expect(lines.slice(0, -1).join('')).toBe(line);
      expect(lines.at(-1)).toBe('next');
      expect(lines).toHaveLength(Math.ceil(77_823 / MAX_LINE_BYTES) + 1);
    }
  });

  it('never holds more than the cap of an unfinished line', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l), 10);
    for (let i = 0; i < 7; i++) s.push(Buffer.from('abc'));
    expect(lines).toEqual(['abcabcabca', 'bcabcabcab']); // 21 bytes: two full pieces out, 1 byte held
    s.end();
    expect(lines.at(-1)).toBe('c');
  });

  it('cuts at a character boundary: a multi-byte character is never split', () => {
    // 9 ASCII bytes then a 4-byte emoji: a cut at 10 bytes would split it.
    const lines = split([`${'a'.repeat(9)}😀${'b'.repeat(5)}\n`], 10);
    expect(lines).toEqual(['a'.repeat(9), `😀${'b'.repeat(5)}`]);
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(10);
    // Split across chunks in the middle of the character: still whole.
    const bytes = Buffer.from('é'.repeat(12)); // 24 bytes
    expect(split([bytes.subarray(0, 3), bytes.subarray(3)], 10)).toEqual(['é'.repeat(5), 'é'.repeat(5), 'é'.repeat(2)]);
  });

  it('bytes that are not UTF-8 still make pieces no longer than the cap', () => {
    const junk = Buffer.alloc(50, 0x80); // continuation bytes only
    const lines = split([junk], 16);
    expect(lines).toHaveLength(4);
  });
});
