import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startHost, type TestHost } from './support/host-harness.js';

describe('large payloads', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startHost();
    await t.host.load(fixture('fixture'));
  }, 60_000);
  afterAll(() => t?.close());

  it('a 12 MB call does not hold up small calls made after it: they reach the plugin first', async () => {
    const big = 'x'.repeat(12 * 1024 * 1024);
    const bigCall = t.host.call<string>('fixture', 'arrive', { tag: 'big', data: big });
    const small: unknown[] = [];
    for (let i = 0; i < 3; i++) small.push(await t.host.call('fixture', 'arrive', { tag: `small${i}` }));
    const back = await bigCall;
    expect(small).toEqual(['small0', 'small1', 'small2']);
    // The 12 MB result came back in chunks too, whole.
    expect(back.length).toBe(big.length);
    expect(back === big).toBe(true);
    const order = await t.host.call<string[]>('fixture', 'arrivals');
    expect(order).toEqual(['small0', 'small1', 'small2', 'big']);
  }, 60_000);

  it('large bytes and large JSON survive the trip in both directions', async () => {
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
    const back = await t.host.call<Buffer>('fixture', 'echo', { value: bytes });
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.equals(bytes)).toBe(true);
    const json = { rows: Array.from({ length: 50_000 }, (_, i) => ({ i, name: `row ${i}` })) };
    expect(await t.host.call('fixture', 'echo', { value: json })).toEqual(json);
    // Small calls still work afterwards on the same session.
    expect(await t.host.call('fixture', 'echo', { value: 'small' })).toBe('small');
  }, 60_000);
});
