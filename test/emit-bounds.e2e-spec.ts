// Bounded emits: a plugin emitting as fast as it can holds at most emitBufferSize messages; what
// overflows is counted exactly, in the plugin (ctx.emitsDropped) and at the host (emitsDropped and
// emit-overflow events), so received + dropped = emitted.
import { afterEach, describe, expect, it } from 'vitest';
import { EmitBufferFullError, type PluginEvent } from '@wwplugin/nestjs';
import { fixture, startHost, until, type TestHost } from './support/host-harness.js';

/**
 * RSS allowed while a plugin emits 1,000,000 small messages with the default buffer (10 000), as a
 * ratio to its RSS before (docs/user-guide.md). Measured here: 1.41-1.44; most of the growth is
 * dropped messages waiting for the garbage collector, not the buffer.
 */
const RSS_GROWTH_BOUND = 2.5;

type Flood = { emitted: number; refused: number; dropped: number; rssStart: number; rssMax: number };
type EmitOverflow = Extract<PluginEvent, { type: 'emit-overflow' }>;

/** Holds the host's event loop for `ms`: a consumer doing heavy work on what it receives. */
const spin = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

describe('emit bounds', () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Loads `name` with the delivery behaviours and the given emit options; collects what it emits on `topic`. */
  async function setUp(name: string, env: Record<string, string>, consume: (i: number, count: number) => void) {
    t = await startHost({ heartbeat: false });
    const received: number[] = [];
    const overflow: EmitOverflow[] = [];
    t.host.events().subscribe((e) => e.type === 'emit-overflow' && e.plugin === name && overflow.push(e));
    t.host.messages<{ i: number }>('flood', name).subscribe((m) => {
      received.push(m.payload.i);
      consume(m.payload.i, received.length);
    });
    await t.host.load(fixture(name, 'delivery', { env }));
    return { received, overflow };
  }

  /** Waits until the plugin's buffer is empty and every message it sent has arrived. */
  async function settle(name: string, received: number[], emitted: number): Promise<number> {
    let dropped = 0;
    await until(
      async () => {
        const stats = await t!.host.call<{ dropped: number; queued: number }>(name, 'emitStats');
        dropped = stats.dropped;
        return stats.queued === 0 && received.length + dropped >= emitted;
      },
      60_000,
      'every emit received or dropped',
    );
    return dropped;
  }

  it(`drop-oldest: 1,000,000 emits in a tight loop keep the plugin's RSS under ${RSS_GROWTH_BOUND}x its start; received + dropped = emitted`, async () => {
    const N = 1_000_000;
    // The host works 2 ms per 1000 messages it receives: slower than the plugin emits.
    const { received, overflow } = await setUp('flood', { FIXTURE_EMIT_BUFFER: '10000' }, (_i, count) => count % 1000 === 0 && spin(2));
    const flood = await t!.host.call<Flood>('flood', 'emitFlood', { topic: 'flood', n: N }, { timeoutMs: 120_000 });
    const dropped = await settle('flood', received, N);

    expect(flood.rssMax / flood.rssStart).toBeLessThan(RSS_GROWTH_BOUND);
    expect(flood.dropped).toBeGreaterThan(0);
    expect(received.length + dropped).toBe(N);
    // What arrived is in order, and drop-oldest kept the newest.
    for (let k = 1; k < received.length; k++) if (received[k] <= received[k - 1]) expect.fail(`emit ${received[k]} after ${received[k - 1]}`);
    expect(received.at(-1)).toBe(N - 1);
    // The host's count and its (rate-limited) events agree with the plugin's exactly.
    await until(() => t!.host.get('flood')!.emitsDropped === dropped, 5_000, "the plugin's final overflow report");
    expect(overflow.reduce((sum, e) => sum + e.droppedSinceLastEvent, 0)).toBe(dropped);
    expect(overflow.at(-1)!.dropped).toBe(dropped);
    expect(overflow.length).toBeLessThan(dropped);
  }, 180_000);

  it('drop-newest: the first messages are kept, the newest dropped, counts exact', async () => {
    const N = 100_000;
    // The host reads nothing for 500 ms after the first message: the plugin's buffer fills.
    const { received, overflow } = await setUp(
      'newest',
      { FIXTURE_EMIT_BUFFER: '1000', FIXTURE_EMIT_OVERFLOW: 'drop-newest' },
      (_i, count) => count === 1 && spin(500),
    );
    const flood = await t!.host.call<Flood>('newest', 'emitFlood', { topic: 'flood', n: N }, { timeoutMs: 120_000 });
    const dropped = await settle('newest', received, N);
    expect(flood.dropped).toBe(dropped);
    expect(dropped).toBeGreaterThan(0);
    expect(received.length + dropped).toBe(N);
    expect(received.slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(received.at(-1)).toBeLessThan(N - 1);
    await until(() => t!.host.get('newest')!.emitsDropped === dropped, 5_000, "the plugin's final overflow report");
    expect(overflow.reduce((sum, e) => sum + e.droppedSinceLastEvent, 0)).toBe(dropped);
  }, 120_000);

  it("'error': emit throws EmitBufferFullError when the buffer is full; every refusal is counted", async () => {
    const N = 100_000;
    const { received } = await setUp('strict', { FIXTURE_EMIT_BUFFER: '1000', FIXTURE_EMIT_OVERFLOW: 'error' }, (_i, count) => count === 1 && spin(500));
    const flood = await t!.host.call<Flood>('strict', 'emitFlood', { topic: 'flood', n: N }, { timeoutMs: 120_000 });
    const dropped = await settle('strict', received, N);
    expect(flood.refused).toBeGreaterThan(0);
    expect(flood.refused).toBe(dropped);
    expect(received.length + flood.refused).toBe(N);
    expect(EmitBufferFullError.name).toBe('EmitBufferFullError');
  }, 120_000);

  it('emits made before the Welcome wait in the same bounded buffer', async () => {
    t = await startHost({ heartbeat: false });
    const early: number[] = [];
    t.host.messages<{ i: number }>('early', 'early').subscribe((m) => early.push(m.payload.i));
    await t.host.load(fixture('early', 'delivery', { env: { FIXTURE_EMIT_BUFFER: '100', EARLY_EMITS: '250' } }));
    await until(() => early.length === 100 && t!.host.get('early')!.emitsDropped === 150, 10_000, 'the early emits and their drop count');
    // drop-oldest: the last 100 of the 250 made during bootstrap.
    expect(early).toEqual(Array.from({ length: 100 }, (_, k) => 150 + k));
    expect(await t.host.call('early', 'emitStats')).toEqual({ dropped: 150, queued: 0 });
  }, 30_000);
});
