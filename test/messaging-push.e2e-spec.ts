import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { from, range, Subject, throwError, concat, of } from 'rxjs';
import { UnknownPluginError, type PluginEvent } from '@wwplugin/nestjs';
import { fixture, startHost, until, type TestHost } from './support/host-harness.js';

type Log = { payloads: unknown[]; seqs: number[] };
const N = 1_000;
const sequence = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Polls the plugin until `count` pushes arrived on `topic` through `route`. */
function arrived(t: TestHost, plugin: string, topic: string, count: number, route = 'messages'): Promise<void> {
  return until(
    async () => (await t.host.call<number>(plugin, 'pushCount', { topic, route })) >= count,
    20_000,
    `${count} pushes on ${topic} at ${plugin} (${route})`,
  );
}

/** Waits for `count` pushes, then returns what arrived, in arrival order. */
async function received(t: TestHost, plugin: string, topic: string, count: number, route = 'messages'): Promise<Log> {
  await arrived(t, plugin, topic, count, route);
  return t.host.call<Log>(plugin, 'pushLog', { topic, route });
}

function expectConsecutive(seqs: number[]): void {
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== seqs[i - 1] + 1) expect.fail(`seq ${seqs[i]} follows ${seqs[i - 1]} at ${i}`);
}

describe('messaging: push from host to plugins', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost({ heartbeat: false });
    await Promise.all([t.host.load(fixture('a', 'messaging')), t.host.load(fixture('b', 'messaging'))]);
  }, 60_000);

  afterAll(() => t?.close());

  it(`push to one plugin: ${N} messages arrive in order, none missing, through messages() and @OnPush`, async () => {
    for (let i = 0; i < N; i++) expect(t.host.push('a', 'one', i)).toBe(1);
    const viaMessages = await received(t, 'a', 'one', N);
    expect(viaMessages.payloads).toEqual(sequence(N));
    expectConsecutive(viaMessages.seqs);
    const viaOnPush = await received(t, 'a', 'one', N, 'onPush');
    expect(viaOnPush.payloads).toEqual(sequence(N));
    // b was not a target.
    expect(await t.host.call('b', 'pushCount', { topic: 'one' })).toBe(0);
    expect(t.host.get('a')!.pushesDropped).toBe(0);
  });

  it(`push to '*': every plugin gets all ${N}, in order`, async () => {
    for (let i = 0; i < N; i++) expect(t.host.push('*', 'all', { i })).toBe(2);
    for (const plugin of ['a', 'b']) {
      const log = await received(t, plugin, 'all', N);
      expect(log.payloads).toEqual(sequence(N).map((i) => ({ i })));
      expectConsecutive(log.seqs);
    }
  });

  it('order holds per topic when topics interleave, and messages(topic) filters', async () => {
    for (let i = 0; i < 300; i++) t.host.push('b', i % 3 === 0 ? 'x' : 'y', i);
    const x = await received(t, 'b', 'x', 100);
    const y = await received(t, 'b', 'y', 200);
    expect(x.payloads).toEqual(sequence(300).filter((i) => i % 3 === 0));
    expect(y.payloads).toEqual(sequence(300).filter((i) => i % 3 !== 0));
  });

  it('@EventPattern handlers of plugin controllers receive pushes of their topic', async () => {
    for (let i = 0; i < 20; i++) t.host.push('a', 'evt', { n: i, text: `event ${i}` });
    const log = await received(t, 'a', 'evt', 20, 'event');
    expect(log.payloads).toEqual(sequence(20).map((n) => ({ n, text: `event ${n}` })));
  });

  it('every payload type survives a push', async () => {
    const values = ['text', 42, 2n ** 60n, 1.5, true, null, Buffer.from([1, 2, 3]), { nested: [1, { a: 'b' }] }];
    for (const v of values) t.host.push('b', 'types', v);
    await arrived(t, 'b', 'types', values.length);
    for (let index = 0; index < values.length; index++) {
      expect(await t.host.call('b', 'pushAt', { topic: 'types', index })).toEqual(values[index]);
    }
  });

  it('pushStream forwards every value of an Observable, in order', async () => {
    const sub = t.host.pushStream('a', 'stream', range(0, 500));
    const log = await received(t, 'a', 'stream', 500);
    expect(log.payloads).toEqual(sequence(500));
    expect(sub.closed).toBe(true);
  });

  it('pushStream stops forwarding once unsubscribed', async () => {
    const source = new Subject<string>();
    const sub = t.host.pushStream('b', 'live', source);
    source.next('one');
    source.next('two');
    sub.unsubscribe();
    source.next('after unsubscribe');
    // Order per topic is kept, so once the marker is in, anything forwarded after it would be too.
    t.host.push('b', 'live', 'marker');
    const log = await received(t, 'b', 'live', 3);
    expect(log.payloads).toEqual(['one', 'two', 'marker']);
  });

  it("pushStream to '*' reaches every plugin; a failing source ends it without hurting the host", async () => {
    const failing = concat(
      of('before'),
      throwError(() => new Error('source broke')),
    );
    const sub = t.host.pushStream('*', 'broken', failing);
    expect(sub.closed).toBe(true);
    for (const plugin of ['a', 'b']) expect((await received(t, plugin, 'broken', 1)).payloads).toEqual(['before']);
    // A value that cannot be encoded ends the stream too, with the host still serving.
    const bad = t.host.pushStream('a', 'bad', from([1, () => 'not sendable', 3]));
    expect(bad.closed).toBe(true);
    expect((await received(t, 'a', 'bad', 1)).payloads).toEqual([1]);
    expect(await t.host.call('a', 'echo', { value: 'still here' })).toBe('still here');
  });

  it('push and pushStream to an unknown plugin throw UnknownPluginError', () => {
    expect(() => t.host.push('nobody', 'x', 1)).toThrow(UnknownPluginError);
    expect(() => t.host.pushStream('nobody', 'x', of(1))).toThrow(UnknownPluginError);
  });

  it('pushes to a stopped plugin wait in its buffer and arrive in order once it runs again', async () => {
    await t.host.stop('b');
    for (let i = 0; i < 50; i++) t.host.push('b', 'later', i);
    expect(t.host.get('b')!.pushesQueued).toBe(50);
    await t.host.start('b');
    const log = await received(t, 'b', 'later', 50);
    expect(log.payloads).toEqual(sequence(50));
    expect(t.host.get('b')!.pushesQueued).toBe(0);
  }, 30_000);
});

describe('messaging: a slow consumer', () => {
  const BUFFER = 64;
  const TOTAL = 4_000;

  for (const policy of ['drop-oldest', 'drop-newest'] as const) {
    describe(policy, () => {
      let t: TestHost;
      const overflow: Array<Extract<PluginEvent, { type: 'push-overflow' }>> = [];

      beforeAll(async () => {
        t = await startHost({ heartbeat: false, pushBufferSize: BUFFER, pushOverflow: policy });
        t.host.events().subscribe((e) => e.type === 'push-overflow' && overflow.push(e));
        await t.host.load(fixture('slow', 'messaging'));
        // The plugin now holds its event loop for 2 ms per push it reads.
        await t.host.call('slow', 'setPushDelay', { ms: 2 });
      }, 60_000);

      afterAll(() => t?.close());

      it('keeps the host buffer within pushBufferSize, counts what it drops and reports it', async () => {
        let maxQueued = 0;
        for (let i = 0; i < TOTAL; i++) {
          t.host.push('slow', 'flood', i);
          maxQueued = Math.max(maxQueued, t.host.get('slow')!.pushesQueued);
          // A paced producer (batches smaller than the buffer, the session gets to write between
          // them): what overflows is what the slow plugin does not read.
          if (i % 16 === 15) await new Promise((r) => setTimeout(r, 0));
        }
        const dropped = t.host.get('slow')!.pushesDropped;
        expect(maxQueued).toBeLessThanOrEqual(BUFFER);
        expect(dropped).toBeGreaterThan(0);
        expect(overflow[0]).toMatchObject({ type: 'push-overflow', plugin: 'slow', dropped: 1 });

        // Everything not dropped arrives, in order: received + dropped = sent.
        const log = await received(t, 'slow', 'flood', TOTAL - dropped);
        expect(log.payloads.length).toBe(TOTAL - dropped);
        const payloads = log.payloads as number[];
        for (let i = 1; i < payloads.length; i++) if (payloads[i] <= payloads[i - 1]) expect.fail(`out of order at ${i}`);
        expect(t.host.get('slow')!.pushesQueued).toBe(0);
        // drop-oldest always keeps the newest message. drop-newest drops nothing until the buffer is
        // full, so the first BUFFER all arrive; whether the very last one does depends on how many
        // acknowledgements freed room during the producer's last batch.
        if (policy === 'drop-oldest') expect(payloads.at(-1)).toBe(TOTAL - 1);
        else expect(payloads.slice(0, BUFFER)).toEqual(Array.from({ length: BUFFER }, (_, i) => i));
        expect(payloads[0]).toBe(0);
      }, 60_000);
    });
  }
});
