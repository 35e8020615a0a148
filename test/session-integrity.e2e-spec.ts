// The session core at its edges, with real plugin processes: items over the chunk size keep their
// place, a graceful stop delivers large answers already produced, producers are paused (or bounded),
// and a peer's unfinished chunked frame is released.
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamOverflowError } from '@wwplugin/nestjs';
import { fixture, ROOT, startHost, until, type TestHost } from './support/host-harness.js';

const BIG = 400_000;
/** What the plugin's resident memory may grow by, as a ratio to where it started, while it streams. */
const RSS_GROWTH_BOUND = 1.5;

describe('session integrity', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startHost({ shutdownGraceMs: 5_000 });
    await t.host.load(fixture('edges', 'integrity'));
  });
  afterAll(() => t?.close());

  it('a stream of small, 400 KB, small arrives whole and in order', async () => {
    const items = await lastValueFrom(t.host.stream<string>('edges', 'mixed', { big: BIG }).pipe(toArray()));
    expect(items.map((s) => s.length)).toEqual([7, BIG, 7]);
    expect([items[0], items[2]]).toEqual(['small-1', 'small-2']);
  });

  it('a stream does not complete before its large last item', async () => {
    const items = await lastValueFrom(t.host.stream<string>('edges', 'firstThenBig', { big: BIG }).pipe(toArray()));
    expect(items.map((s) => s.length)).toEqual([5, BIG]);
  });

  it('a generator of 1,000,000 items is paused by back-pressure: all arrive, plugin memory stays bounded', async () => {
    const { rss: start } = await t.host.call<{ rss: number }>('edges', 'memory', { reset: true });
    let seen = 0;
    let inOrder = true;
    await new Promise<void>((resolve, reject) =>
      t.host.stream<number>('edges', 'count', { n: 1_000_000 }).subscribe({
        next: (v) => {
          if (v !== seen) inOrder = false;
          seen += 1;
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(seen).toBe(1_000_000);
    expect(inOrder).toBe(true);
    const { peak } = await t.host.call<{ peak: number }>('edges', 'memory', {});
    expect(peak / start).toBeLessThan(RSS_GROWTH_BOUND);
  }, 120_000);

  it('an Observable of 1,000,000 items that cannot be paused ends with StreamOverflowError, memory bounded', async () => {
    const { rss: start } = await t.host.call<{ rss: number }>('edges', 'memory', { reset: true });
    const outcome = await lastValueFrom(t.host.stream('edges', 'flood', { n: 1_000_000 }).pipe(toArray())).catch((e: Error) => e);
    expect(outcome).toBeInstanceOf(StreamOverflowError);
    expect((outcome as StreamOverflowError).message).toMatch(/async iterable/);
    const { peak } = await t.host.call<{ peak: number }>('edges', 'memory', {});
    expect(peak / start).toBeLessThan(RSS_GROWTH_BOUND);
    // The session is still good.
    expect(await t.host.call<string>('edges', 'blobLater', { size: 3, delayMs: 0 })).toBe('bbb');
  }, 60_000);

  it('the host pulling a fast stream slowly pauses the plugin: both memories stay bounded', async () => {
    const { rss: pluginStart } = await t.host.call<{ rss: number }>('edges', 'memory', { reset: true });
    const hostStart = process.memoryUsage().rss;
    let hostPeak = hostStart;
    let seen = 0;
    let inOrder = true;
    for await (const v of t.host.iterate<number>('edges', 'count', { n: 200_000 })) {
      if (v !== seen) inOrder = false;
      seen += 1;
      if (seen % 100 === 0) {
        hostPeak = Math.max(hostPeak, process.memoryUsage().rss);
        await new Promise((r) => setImmediate(r)); // a consumer slower than its producer
      }
    }
    expect([seen, inOrder]).toEqual([200_000, true]);
    const { peak } = await t.host.call<{ peak: number }>('edges', 'memory', {});
    expect(peak / pluginStart).toBeLessThan(RSS_GROWTH_BOUND);
    expect(hostPeak / hostStart).toBeLessThan(RSS_GROWTH_BOUND);
  }, 120_000);

  it("a plugin pulling another plugin's stream through the host, slowly, gets all of it in order", async () => {
    await t.host.load(fixture('reader', 'integrity'));
    const hostStart = process.memoryUsage().rss;
    expect(await t.host.call('reader', 'relayCount', { target: 'edges', n: 100_000 }, { timeoutMs: 120_000 })).toEqual({ count: 100_000, inOrder: true });
    expect(process.memoryUsage().rss / hostStart).toBeLessThan(RSS_GROWTH_BOUND);
  }, 120_000);
});

describe('graceful stop delivers every answer already produced', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startHost({ shutdownGraceMs: 5_000 });
  });
  afterAll(() => t?.close());

  it('a 2 MB and a 1 KB result produced during stop() both arrive', async () => {
    await t.host.load(fixture('stopping', 'integrity'));
    const big = t.host.call<string>('stopping', 'blobLater', { size: 2 * 1024 * 1024, delayMs: 150 });
    const small = t.host.call<string>('stopping', 'blobLater', { size: 1024, delayMs: 150 });
    const stopped = t.host.stop('stopping');
    expect((await big).length).toBe(2 * 1024 * 1024);
    expect((await small).length).toBe(1024);
    expect((await stopped).state).toBe('stopped');
  });

  it('closing the host app with a 2 MB answer in flight delivers it first', async () => {
    const other = await startHost({ shutdownGraceMs: 5_000 });
    await other.host.load(fixture('closing', 'integrity'));
    const big = other.host.call<string>('closing', 'blobLater', { size: 2 * 1024 * 1024, delayMs: 150 });
    const closed = other.close();
    expect((await big).length).toBe(2 * 1024 * 1024);
    await closed;
  });
});

describe('chunk reassembly is bounded in time', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startHost({ chunkIdleTimeoutMs: 200 });
    await t.host.load({ path: `${ROOT}test/fixtures/raw-plugin/raw-plugin.mjs` });
  });
  afterAll(() => t?.close());

  it('a chunked frame a plugin never finishes is released, and the plugin is told; the session goes on', async () => {
    // White box: the host's record of the plugin shows what its session holds.
    type Record = { channel?: { reassemblyBytes: number }; stderrTail(): string };
    const registry = (t.host as unknown as { registry: { find(name: string): Record | undefined } }).registry;
    const channel = () => registry.find('raw')!.channel!;
    await t.host.call('raw', 'halfChunk', { n: 1_000_000 });
    expect(channel().reassemblyBytes).toBe(1_000_000);
    await until(() => channel().reassemblyBytes === 0, 10_000, 'the partial frame to be released');
    await until(() => registry.find('raw')!.stderrTail().includes('no piece for 200 ms'), 10_000, 'the plugin to be told');
    expect(await t.host.call('raw', 'upper', { text: 'still here' })).toBe('STILL HERE');
  });
});
