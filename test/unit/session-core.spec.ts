import fc from 'fast-check';
import { from, lastValueFrom, Observable, range, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, StreamOverflowError } from '../../libs/wwplugin/src/errors/wwplugin.errors.js';
import type { CallFrame } from '../../libs/wwplugin/src/protocol/frames.js';
import type { IncomingCall } from '../../libs/wwplugin/src/protocol/incoming-call.js';
import { decodeArgs } from '../../libs/wwplugin/src/protocol/parameters.js';
import { STREAM_WINDOW } from '../../libs/wwplugin/src/protocol/outgoing-calls.js';
import { SessionChannel, type SessionChannelOptions } from '../../libs/wwplugin/src/protocol/session-channel.js';
import { memoryPair, pump, type MemoryEnd } from '../support/memory-pipe.js';

const MAX = 16 * 1024 * 1024;

/** How many 'late' handlers have answered. */
let lateAnswers = 0;

/** Delivers frames both ways until `done()`, on real time (for deadlines and timers), failing after `ms`. */
async function pumpUntil(pair: ReturnType<typeof memoryPair>, done: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    pair.a.deliver();
    pair.b.deliver();
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The plugin side's functions, by name: what a handler returns decides the shape of the answer. */
function handler(call: CallFrame, incoming: IncomingCall): unknown {
  const args = decodeArgs(call.args).named as { size?: number; sizes?: number[]; gen?: boolean };
  switch (call.function) {
    case 'blob':
      return 'x'.repeat(args.size ?? 0);
    case 'items': {
      const items = (args.sizes ?? []).map((size, k) => ({ k, s: 'y'.repeat(size) }));
      if (!args.gen) return from(items);
      return (async function* () {
        for (const item of items) yield item;
      })();
    }
    case 'count':
      return (function* () {
        for (let i = 0; i < (args.size ?? 0); i++) yield i;
      })();
    case 'flood':
      return range(0, args.size ?? 0);
    case 'never':
      return new Promise((_, reject) => incoming.onAbort(reject));
    case 'late':
      // Answers after `size` ms whatever happened meanwhile, and says when it did.
      return new Promise((resolve) =>
        setTimeout(() => {
          lateAnswers += 1;
          resolve('late');
        }, args.size ?? 0),
      );
    case 'endless':
      return new Observable<number>((s) => {
        let i = 0;
        while (!s.closed) s.next(i++);
      });
    case 'huge-error':
      throw new Error('e'.repeat(args.size ?? 0));
    case 'fail':
      throw new Error('boom');
    default:
      throw new Error(`no function ${call.function}`);
  }
}

function session(capacity = 16, extra: Partial<SessionChannelOptions> = {}) {
  const pair = memoryPair(capacity);
  // The writers may leave as many frames unconfirmed as the pipe holds before it says it is full.
  const transportWindow = { frames: capacity, bytes: 256 * 1024 };
  const host = new SessionChannel(pair.a, {
    peer: 'plugin',
    maxMessageBytes: MAX,
    onCall: () => undefined,
    onFrame: () => undefined,
    transportWindow,
    ...extra,
  });
  const plugin = new SessionChannel(pair.b, { peer: 'host', maxMessageBytes: MAX, onCall: handler, onFrame: () => undefined, transportWindow, ...extra });
  return { pair, host, plugin };
}

/** Reads an iterator to its end; what it failed with, or 'completed'. */
async function errorOfRest(it: AsyncIterator<unknown>): Promise<unknown> {
  try {
    while (!(await it.next()).done);
    return 'completed';
  } catch (err) {
    return err;
  }
}

/** Index in `written` of the first frame matching `match`. */
const indexOf = (end: MemoryEnd, match: (f: (typeof end.written)[number]) => boolean) => end.written.findIndex(match);

describe('session core over an in-memory duplex', () => {
  it('keeps a stream in order when one item is over the chunk size: small, 400 KB, small', async () => {
    for (const gen of [false, true]) {
      const { pair, host } = session();
      const got = lastValueFrom(host.stream('items', { sizes: [7, 400_000, 7], gen }).pipe(toArray()));
      await pump(pair, () => false, 200);
      const items = (await got) as Array<{ k: number; s: string }>;
      expect(items.map((i) => [i.k, i.s.length])).toEqual([
        [0, 7],
        [1, 400_000],
        [2, 7],
      ]);
    }
  });

  it('does not complete a stream before its large last item arrives', async () => {
    const { pair, host } = session();
    const got = lastValueFrom(host.stream('items', { sizes: [5, 400_000] }).pipe(toArray()));
    await pump(pair, () => false, 200);
    expect(((await got) as Array<{ s: string }>).map((i) => i.s.length)).toEqual([5, 400_000]);
  });

  it('lets a small answer of another call and a heartbeat pass a large answer in pieces', async () => {
    const { pair, host } = session();
    const big = host.call('blob', { size: 2 * 1024 * 1024 });
    pair.a.deliver(); // the call reaches the plugin, which queues 2 MiB in chunks
    await new Promise((r) => setImmediate(r));
    pair.b.deliver(1); // the first piece is on its way
    const small = host.call('blob', { size: 3 });
    host.send({ ping: { seq: 7 } });
    await pump(pair, () => false, 200);
    expect(((await big) as string).length).toBe(2 * 1024 * 1024);
    expect(await small).toBe('xxx');
    const lastChunk = pair.b.written.findLastIndex((f) => f.chunk?.last);
    expect(indexOf(pair.b, (f) => f.pong?.seq === 7)).toBeLessThan(lastChunk);
    expect(indexOf(pair.b, (f) => f.result?.value?.stringValue === 'xxx')).toBeLessThan(lastChunk);
    expect(pair.b.maxChunksBuffered).toBe(1);
  });

  it('pauses a generator while the transport is full: it is pulled only as far as frames leave', async () => {
    const { pair, host } = session(4);
    let seen = 0;
    const sub = host.stream('count', { size: 100_000 }).subscribe(() => (seen += 1));
    pair.a.deliver();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // Nothing delivered yet: 4 frames in the transport and at most 8 waiting behind them.
    expect(pair.b.pending).toBeLessThanOrEqual(4);
    expect(pair.b.written.length).toBeLessThanOrEqual(4);
    await pump(pair, () => seen === 100_000, 1_000_000);
    expect(seen).toBe(100_000);
    expect(pair.b.maxBuffered).toBeLessThanOrEqual(4);
    sub.unsubscribe();
  });

  it('ends an Observable that outruns its bound with StreamOverflowError, keeping what it buffered bounded', async () => {
    const { pair, host } = session(16, { streamBuffer: { items: 1_000, bytes: 1 << 20 } });
    const got = lastValueFrom(host.stream('flood', { size: 1_000_000 }).pipe(toArray()));
    const outcome = got.then(
      () => 'completed',
      (e: Error) => e,
    );
    await pump(pair, () => false, 100);
    const err = await outcome;
    expect(err).toBeInstanceOf(StreamOverflowError);
    expect(pair.b.written.filter((f) => f.item).length).toBeLessThanOrEqual(1_001);
  });

  it('a graceful end writes every answer already produced, chunks included, before the stream ends', async () => {
    const { pair, host, plugin } = session();
    const big = host.call('blob', { size: 2 * 1024 * 1024 });
    pair.a.deliver();
    await new Promise((r) => setImmediate(r));
    const ended = plugin.end(new Error('stopping'));
    expect(pair.b.ended).toBe(false);
    await pump(pair, () => pair.b.ended, 200);
    await ended;
    expect(((await big) as string).length).toBe(2 * 1024 * 1024);
    expect(pair.b.ended).toBe(true);
    expect(pair.b.writesAfterEnd).toBe(0);
  });

  it('a call cancelled before it left is never written', async () => {
    const { pair, host } = session(1);
    host.send({ ping: { seq: 1 } }); // fills the transport
    const ac = new AbortController();
    const p = host.call('blob', { size: 1 }, { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toThrow(/aborted/);
    await pump(pair, () => false, 10);
    expect(pair.a.written.some((f) => f.call)).toBe(false);
    expect(pair.a.written.some((f) => f.cancel)).toBe(false);
  });

  it('releases a chunked frame the peer never finishes, and refuses pieces over the budget', async () => {
    const pair = memoryPair();
    const complaints: string[] = [];
    const host = new SessionChannel(pair.a, { peer: 'plugin', maxMessageBytes: 1 << 20, onCall: () => undefined, onFrame: () => undefined, chunkIdleMs: 40 });
    pair.b.on('data', (f: { error?: { message: string } }) => f.error && complaints.push(f.error.message));
    pair.a.peer = pair.b;
    // A misbehaving peer: a piece with no end.
    pair.a.emit('data', { kind: 'chunk', chunk: { id: 9, data: Buffer.alloc(500_000), last: false } });
    expect(host.reassemblyBytes).toBe(500_000);
    await pumpUntil(pair, () => complaints.length > 0);
    expect(host.reassemblyBytes).toBe(0);
    expect(complaints[0]).toMatch(/Chunk 9: no piece for 40 ms/);
    // Over the budget (two frames of the largest size): refused at once, memory released.
    for (let id = 10; id < 20; id++) pair.a.emit('data', { kind: 'chunk', chunk: { id, data: Buffer.alloc(600_000), last: false } });
    await pump(pair, () => false, 5);
    expect(host.reassemblyBytes).toBeLessThanOrEqual(2 * ((1 << 20) + 65_536));
    expect(complaints.some((c) => /reassembly budget/.test(c))).toBe(true);
  });

  it('a pulling consumer that stops taking values pauses the producer: at most one window is sent ahead', async () => {
    const { pair, host, plugin } = session();
    const it = host.iterate('count', { size: 10_000 })[Symbol.asyncIterator]();
    const taken: number[] = [];
    const take = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const next = it.next();
        await pump(pair, () => false, 3);
        taken.push((await next).value as number);
      }
    };
    await take(10);
    await pump(pair, () => false, 200); // the consumer rests: whatever the producer may send, it sends
    const sent = () => pair.b.written.filter((f) => f.item).length;
    expect(sent()).toBeLessThanOrEqual(10 + STREAM_WINDOW);
    expect(sent()).toBeGreaterThan(10);
    await take(990);
    expect(taken).toEqual([...Array(1000).keys()]);
    expect(sent()).toBeLessThanOrEqual(1000 + STREAM_WINDOW);
    // Leaving early cancels the call at the producer.
    await it.return!();
    await pump(pair, () => plugin.handling === 0, 1_000);
    expect(plugin.handling).toBe(0);
  });

  it('an Observable producer facing a consumer that does not take its values ends with StreamOverflowError', async () => {
    const { pair, host } = session(16, { streamBuffer: { items: 500, bytes: 1 << 20 } });
    const it = host.iterate('flood', { size: 100_000 })[Symbol.asyncIterator]();
    const first = it.next();
    await pump(pair, () => false, 50);
    expect((await first).value).toBe(0);
    expect(await errorOfRest(it)).toBeInstanceOf(StreamOverflowError);
  });

  it("chunks no more than the peer can hold once it learns the peer's smaller limit", async () => {
    const { pair, host, plugin } = session();
    host.setMaxMessageBytes(1 << 20);
    plugin.setMaxMessageBytes(1 << 20); // as a plugin does on Welcome
    const calls = Array.from({ length: 6 }, () => host.call('blob', { size: 900_000 }));
    await pump(pair, () => false, 2_000);
    for (const c of calls) expect(((await c) as string).length).toBe(900_000);
  });

  it('counts Observable values waiting for credit against the byte bound', async () => {
    const { pair, host } = session(16, { streamBuffer: { items: 1_000_000, bytes: 1 << 20 } });
    const it = host.iterate('items', { sizes: Array(2_000).fill(3_000) })[Symbol.asyncIterator]();
    const first = it.next();
    await pump(pair, () => false, 50);
    await first;
    expect(await errorOfRest(it)).toBeInstanceOf(StreamOverflowError);
  });

  it('stops a synchronous Observable at once when its stream overflows', async () => {
    const { pair, host } = session(16, { streamBuffer: { items: 100, bytes: 1 << 20 } });
    const outcome = lastValueFrom(host.stream('endless', {})).catch((e: Error) => e);
    await pump(pair, () => false, 20); // an endless source that did not stop would never return here
    expect(await outcome).toBeInstanceOf(StreamOverflowError);
  });

  it('a late answer of a given-up call is not sent as the answer of a new call with the same id', async () => {
    const { pair, plugin } = session();
    const ms = (n: number) => [{ name: 'size', type: 2, intValue: String(n) }];
    const before = lateAnswers;
    pair.b.emit('data', { kind: 'call', call: { id: 5, function: 'late', args: ms(30), timeoutMs: 5 } });
    await pumpUntil(pair, () => plugin.handling === 0); // its deadline passed: given up, id 5 is free
    pair.b.emit('data', { kind: 'call', call: { id: 5, function: 'never', args: [] } });
    const answered = () => pair.b.written.some((f) => f.result?.id === 5 || f.error?.id === 5);
    // The first handler answers 'late' now; the new call 5 is still running and must not get it.
    await pumpUntil(pair, () => lateAnswers > before);
    await pump(pair, () => false, 10);
    expect(answered()).toBe(false);
    expect(plugin.handling).toBe(1);
  });

  it('a cancel that arrives after the answer was produced drops it if it was not sent yet', async () => {
    const { pair, host, plugin } = session(1);
    plugin.send({ ping: { seq: 1 } }); // the plugin's transport is full
    const ac = new AbortController();
    const p = host.call('blob', { size: 10 }, { signal: ac.signal }).catch((e: Error) => e);
    pair.a.deliver();
    await new Promise((r) => setImmediate(r)); // the answer is produced and waits in the plugin's writer
    ac.abort();
    pair.a.deliver(); // the cancel reaches the plugin
    await pump(pair, () => false, 10);
    expect(((await p) as Error).message).toMatch(/aborted/);
    expect(pair.b.written.some((f) => f.result)).toBe(false);
  });

  it('an error too large for a frame is cut down, and the session lives on', async () => {
    const { pair, host } = session();
    const outcome = host.call('huge-error', { size: 2_000_000 }).catch((e: Error) => e);
    await pump(pair, () => false, 50);
    const err = (await outcome) as Error;
    expect(err.message.length).toBeLessThan(20_000);
    expect(err.message).toMatch(/2000000 characters/);
    const small = host.call('blob', { size: 2 });
    await pump(pair, () => false, 20);
    expect(await small).toBe('xx');
  });

  it('a pulled stream whose callee ignores credit fails instead of filling memory', async () => {
    const pair = memoryPair();
    const host = new SessionChannel(pair.a, { peer: 'rogue', maxMessageBytes: MAX, onCall: () => undefined, onFrame: () => undefined });
    const it = host.iterate('flood', {})[Symbol.asyncIterator]();
    const first = it.next();
    pair.a.deliver();
    const call = pair.a.written.find((f) => f.call)!.call!;
    expect(call.credit).toBe(STREAM_WINDOW);
    // A callee that ignores credit: far more items than asked for.
    for (let i = 0; i < 4 * STREAM_WINDOW; i++)
      pair.a.emit('data', { kind: 'item', item: { id: call.id, value: { name: 'result', type: 2, intValue: String(i) } } });
    expect((await first).value).toBe(0);
    expect(await errorOfRest(it)).toBeInstanceOf(StreamOverflowError);
  });

  it('counts pushes, emits and log records waiting behind a full transport, in bytes, until they leave', async () => {
    const { pair, plugin } = session(1);
    plugin.send({ ping: { seq: 1 } }); // the transport is full
    plugin.send({ log: { level: 'log', context: 'Ctx', message: 'm'.repeat(1000) } });
    plugin.send({ emit: { topic: 't', payload: { name: 'payload', type: 1, stringValue: 'e'.repeat(500) } } });
    expect(plugin.messageBacklogBytes).toBeGreaterThanOrEqual(1500);
    expect(plugin.isBlocked).toBe(true);
    await pump(pair, () => plugin.messageBacklogBytes === 0, 100);
    expect(plugin.messageBacklogBytes).toBe(0);
    expect(pair.b.written.filter((f) => f.log || f.emit).length).toBe(2);
  });

  it('fails a call at its deadline and cancels it at the peer', async () => {
    const { pair, host, plugin } = session();
    const p = host.call('never', {}, { timeoutMs: 20 });
    const outcome = p.catch((e: Error) => e);
    await pumpUntil(pair, () => plugin.handling === 0 && host.inFlight === 0);
    expect(await outcome).toBeInstanceOf(DeadlineExceededError);
    expect(plugin.handling).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random interleavings of calls, streams (items of 0 B to 2 MiB), cancels, deadlines,
// blocked and drained writes and a close at a random point. Invariants:
//  - every call settles exactly once;
//  - per call, items arrive in the order produced, and nothing arrives after its end or error;
//  - a call that succeeded got exactly what was produced;
//  - no frame is written after close or end;
//  - the transport never holds more than its capacity, nor more than one chunk at a time;
//  - reassembly stays within its budget.
// ---------------------------------------------------------------------------------------------

const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 60_000, max: 70_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * 1024 * 1024 }) },
);
const op = fc.oneof(
  fc.record({ kind: fc.constant('unary' as const), size }),
  fc.record({ kind: fc.constant('stream' as const), sizes: fc.array(size, { maxLength: 5 }), gen: fc.boolean(), pull: fc.boolean() }),
  fc.record({ kind: fc.constant('cancel' as const), which: fc.nat(20) }),
  fc.record({ kind: fc.constant('deadline' as const), ms: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('deliver' as const), n: fc.integer({ min: 0, max: 12 }) }),
  fc.record({ kind: fc.constant('fail' as const) }),
);

interface Tracked {
  settled: number;
  events: string[];
  violations: string[];
  abort: AbortController;
  expect?: number[];
}

describe('session core property', () => {
  it('holds its invariants under random interleavings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 10 }),
        fc.option(fc.nat(10)),
        fc.integer({ min: 1, max: 24 }),
        async (ops, closeAt, capacity) => {
          const { pair, host, plugin } = session(capacity);
          const calls: Tracked[] = [];
          let writtenAtClose: [number, number] | undefined;
          // whenIdle (what a used-up spare's refill waits for) runs once no call is in flight, never before.
          let idleAsked = 0;
          let idleRan = 0;
          const idleViolations: string[] = [];
          const track = (): Tracked => {
            const t: Tracked = { settled: 0, events: [], violations: [], abort: new AbortController() };
            calls.push(t);
            return t;
          };
          const settle = (t: Tracked, what: string) => {
            if (t.settled) t.violations.push(`${what} after ${t.events.at(-1)}`);
            t.settled += 1;
            t.events.push(what);
          };
          for (let i = 0; i < ops.length; i++) {
            if (closeAt === i) {
              host.close(new Error('closed'));
              plugin.close(new Error('closed'));
              writtenAtClose = [pair.a.written.length, pair.b.written.length];
            }
            const o = ops[i];
            if (o.kind === 'unary' || o.kind === 'fail' || o.kind === 'deadline') {
              const t = track();
              const fn = o.kind === 'unary' ? 'blob' : o.kind === 'fail' ? 'fail' : 'never';
              const args = o.kind === 'unary' ? { size: o.size } : {};
              const timeoutMs = o.kind === 'deadline' ? o.ms : 0;
              host.call(fn, args, { signal: t.abort.signal, timeoutMs }).then(
                (v) => {
                  if (o.kind === 'unary' && (v as string).length !== o.size) t.violations.push(`result of ${(v as string).length} bytes, ${o.size} sent`);
                  settle(t, 'result');
                },
                () => settle(t, 'error'),
              );
            } else if (o.kind === 'stream') {
              const t = track();
              t.expect = o.sizes;
              let next = 0;
              const onItem = (v: unknown) => {
                const item = v as { k: number; s: string };
                if (t.settled) t.violations.push(`item after ${t.events.at(-1)}`);
                if (item.k !== next || item.s.length !== o.sizes[item.k]) t.violations.push(`item ${item.k} (${item.s.length} B) where ${next} was due`);
                next += 1;
                t.events.push(`item ${item.k}`);
              };
              const onEnd = () => {
                if (next !== o.sizes.length) t.violations.push(`completed after ${next} of ${o.sizes.length} items`);
                settle(t, 'end');
              };
              if (o.pull) {
                // Pulled: values are taken one by one as the test's loop gets to them.
                const it = host.iterate('items', { sizes: o.sizes, gen: o.gen })[Symbol.asyncIterator]();
                t.abort.signal.addEventListener('abort', () => void it.return!());
                void (async () => {
                  try {
                    for (;;) {
                      const r = await it.next();
                      if (r.done) return t.abort.signal.aborted ? settle(t, 'unsubscribed') : onEnd();
                      onItem(r.value);
                    }
                  } catch {
                    settle(t, 'error');
                  }
                })();
              } else {
                const sub = host.stream('items', { sizes: o.sizes, gen: o.gen }).subscribe({ next: onItem, complete: onEnd, error: () => settle(t, 'error') });
                t.abort.signal.addEventListener('abort', () => {
                  if (!t.settled) {
                    sub.unsubscribe();
                    settle(t, 'unsubscribed');
                  }
                });
              }
            } else if (o.kind === 'cancel') {
              calls[o.which % Math.max(1, calls.length)]?.abort.abort();
            } else {
              pair.a.deliver(o.n);
              pair.b.deliver(o.n);
              await new Promise((r) => setImmediate(r));
            }
            expect(host.reassemblyBytes + plugin.reassemblyBytes).toBeLessThanOrEqual(2 * 2 * (MAX + 65_536));
            idleAsked += 1;
            host.whenIdle(() => {
              idleRan += 1;
              if (host.inFlight) idleViolations.push(`whenIdle ran with ${host.inFlight} calls in flight`);
            });
          }
          // Whatever is left: a call that waits for nothing gets a deadline's worth of time, then is cancelled.
          for (const t of calls) if (!t.settled && t.events.length === 0) setTimeout(() => t.abort.abort(), 100);
          await pump(pair, () => calls.every((t) => t.settled > 0) && idleRan === idleAsked, 1_000_000);
          expect(idleViolations).toEqual([]);
          expect(host.inFlight).toBe(0);
          for (const t of calls) {
            expect(t.violations).toEqual([]);
            expect(t.settled).toBe(1);
          }
          if (writtenAtClose) {
            expect([pair.a.written.length, pair.b.written.length]).toEqual(writtenAtClose);
          }
          expect(pair.a.writesAfterEnd + pair.b.writesAfterEnd).toBe(0);
          expect(pair.a.maxBuffered).toBeLessThanOrEqual(capacity);
          expect(pair.b.maxBuffered).toBeLessThanOrEqual(capacity);
          expect(pair.a.maxChunksBuffered).toBeLessThanOrEqual(1);
          expect(pair.b.maxChunksBuffered).toBeLessThanOrEqual(1);
          host.close(new Error('done'));
          plugin.close(new Error('done'));
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
