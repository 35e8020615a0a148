// Pushes are never lost silently: a plugin acknowledges them; what a killed process had not
// acknowledged goes to its next process with the original seq (at-least-once), or is counted and
// reported lost (at-most-once). Overflow reports are rate-limited and exact.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PluginEvent, PushDelivery } from '@wwplugin/nestjs';
import { fixture, ROOT, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

const TOTAL = 1_000;
const KILL_AT = 400;
const RAW_PLUGIN = `${ROOT}test/fixtures/raw-plugin/raw-plugin.mjs`;

type Lost = Extract<PluginEvent, { type: 'push-lost' }>;
type Overflow = Extract<PluginEvent, { type: 'push-overflow' }>;
interface Line {
  pid: number;
  seq: number;
  n: number;
}

const readLog = (path: string): Line[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [pid, seq, n] = l.split(' ').map(Number);
          return { pid, seq, n };
        })
    : [];

/**
 * Pushes 1..TOTAL to `recv` in paced batches (so the plugin reads and acknowledges some: the first
 * 200 are all in before the next) and SIGKILLs its process right after push KILL_AT, with pushes
 * sent and not yet acknowledged.
 */
async function pushThroughAKill(t: TestHost, log: string): Promise<number> {
  const firstPid = t.host.get('recv')!.pid!;
  for (let n = 1; n <= TOTAL; n++) {
    t.host.push('recv', 'numbered', n);
    if (n === 200) await until(() => readLog(log).length === 200, 10_000, 'the first 200 pushes recorded');
    if (n === KILL_AT) process.kill(firstPid, 'SIGKILL');
    else if (n % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  return firstPid;
}

describe('push delivery across a SIGKILL', () => {
  let t: TestHost | undefined;
  let log = '';
  const events: PluginEvent[] = [];

  async function start(delivery: PushDelivery | undefined, where: 'host' | 'spec'): Promise<void> {
    log = join(tmpdir(), `wwplugin-push-delivery-${process.pid}-${Date.now()}.log`);
    t = await startHost({
      heartbeat: false,
      restart: { mode: 'on-failure', initialBackoffMs: 50, maxRestarts: 10, windowMs: 60_000 },
      ...(where === 'host' && delivery ? { pushDelivery: delivery } : {}),
    });
    events.length = 0;
    t.host.events().subscribe((e) => events.push(e));
    const spec = fixture('recv', 'delivery', { env: { DELIVERY_LOG: log } });
    await t.host.load(where === 'spec' && delivery ? { ...spec, pushDelivery: delivery } : spec);
  }

  afterEach(async () => {
    await t?.close();
    t = undefined;
    rmSync(log, { force: true });
  });

  it(`at-least-once (the default): every one of ${TOTAL} pushes reaches some process, in order per process, with its original seq`, async () => {
    await start(undefined, 'host');
    const firstPid = await pushThroughAKill(t!, log);
    await until(() => new Set(readLog(log).map((l) => l.n)).size === TOTAL, 30_000, `all ${TOTAL} pushes recorded`);
    await until(() => t!.host.get('recv')!.pushesUnacked === 0, 10_000, 'the last acknowledgement');

    const lines = readLog(log);
    const pids = [...new Set(lines.map((l) => l.pid))];
    expect(pids[0]).toBe(firstPid);
    expect(pids.length).toBe(2);
    // Original seq numbers: a redelivered push has the seq it had the first time (seq - n is fixed).
    const offset = lines[0].seq - lines[0].n;
    for (const l of lines) expect(l.seq - l.n).toBe(offset);
    // In order within each process, and the second process starts no later than the first gap.
    for (const pid of pids) {
      const seqs = lines.filter((l) => l.pid === pid).map((l) => l.seq);
      for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) expect.fail(`process ${pid}: seq ${seqs[i]} after ${seqs[i - 1]}`);
    }
    const seenByFirst = new Set(lines.filter((l) => l.pid === firstPid).map((l) => l.n));
    let firstGap = 1;
    while (seenByFirst.has(firstGap)) firstGap++;
    expect(firstGap).toBeLessThanOrEqual(KILL_AT);
    const second = lines.filter((l) => l.pid === pids[1]);
    expect(second[0].n).toBeLessThanOrEqual(firstGap);
    // The second process got everything from its first push on, without a hole.
    expect(second.map((l) => l.n)).toEqual(Array.from({ length: TOTAL - second[0].n + 1 }, (_, i) => second[0].n + i));
    // Duplicates are allowed (pushes seen but not acknowledged before the kill), identifiable by seq.
    const duplicates = lines.length - TOTAL;
    expect(duplicates).toBe(second.filter((l) => seenByFirst.has(l.n)).length);
    expect(t!.host.get('recv')).toMatchObject({ pushesDropped: 0, pushesLost: 0, pushesQueued: 0, pushesUnacked: 0, restarts: 1 });
    expect(events.some((e) => e.type === 'push-lost')).toBe(false);
  }, 60_000);

  it('a graceful stop right after a burst: what the plugin had not acknowledged waits for the next start', async () => {
    await start(undefined, 'host');
    const firstPid = t!.host.get('recv')!.pid!;
    for (let n = 1; n <= 500; n++) t!.host.push('recv', 'numbered', n);
    const stopped = await t!.host.stop('recv');
    // Nothing is held for a process that is gone: acknowledged, or back in the queue.
    expect(stopped.pushesUnacked).toBe(0);
    const before = readLog(log);
    expect(stopped.pushesQueued).toBe(500 - new Set(before.map((l) => l.n)).size);
    await t!.host.start('recv');
    await until(() => new Set(readLog(log).map((l) => l.n)).size === 500, 20_000, 'all 500 pushes recorded');
    const lines = readLog(log);
    // The first process acknowledged what it saw before closing its session: nothing twice.
    expect(lines.length).toBe(500);
    expect(lines.map((l) => l.n)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(lines.filter((l) => l.pid === firstPid).length).toBe(before.length);
    expect(t!.host.get('recv')).toMatchObject({ pushesLost: 0, pushesDropped: 0 });
  }, 60_000);

  for (const where of ['host', 'spec'] as const) {
    it(`at-most-once (set on the ${where}): pushes the killed process had not acknowledged are counted lost and named by an event`, async () => {
      await start('at-most-once', where);
      const firstPid = await pushThroughAKill(t!, log);
      await waitFor(t!.host.events(), (e) => e.type === 'restarted', 20_000).catch(() => undefined);
      await until(
        () => {
          const info = t!.host.get('recv')!;
          return info.state === 'running' && info.pushesQueued === 0 && info.pushesUnacked === 0;
        },
        30_000,
        'every push sent and acknowledged or lost',
      );
      await until(() => readLog(log).some((l) => l.n === TOTAL), 10_000, 'the last push recorded');

      const lines = readLog(log);
      const info = t!.host.get('recv')!;
      const lost = events.filter((e): e is Lost => e.type === 'push-lost');
      expect(info.pushesLost).toBeGreaterThan(0);
      expect(lost.reduce((sum, e) => sum + e.count, 0)).toBe(info.pushesLost);
      expect(lost.at(-1)!.pushesLost).toBe(info.pushesLost);
      // At most once: no seq recorded twice.
      expect(new Set(lines.map((l) => l.seq)).size).toBe(lines.length);
      expect(lines[0].pid).toBe(firstPid);
      // Every push that never arrived lies within a reported range; there are no more of them than
      // reported (a push may have been seen by the killed process without its acknowledgement).
      const offset = lines[0].seq - lines[0].n;
      const seen = new Set(lines.map((l) => l.n));
      const missing = Array.from({ length: TOTAL }, (_, i) => i + 1).filter((n) => !seen.has(n));
      expect(missing.length).toBeLessThanOrEqual(info.pushesLost);
      for (const n of missing) expect(lost.some((e) => e.first <= n + offset && n + offset <= e.last)).toBe(true);
      for (const e of lost) expect(e.count).toBeLessThanOrEqual(e.last - e.first + 1);
      expect(info.pushesDropped).toBe(0);
    }, 60_000);
  }
});

describe('push overflow accounting', () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('counts every drop exactly: the deltas of the (rate-limited) events add up to the counter', async () => {
    const BUFFER = 100;
    const N = 5_000;
    t = await startHost({ heartbeat: false, pushBufferSize: BUFFER });
    const overflow: Overflow[] = [];
    t.host.events().subscribe((e) => e.type === 'push-overflow' && overflow.push(e));
    await t.host.load(fixture('full', 'messaging'));
    await t.host.stop('full');
    // Paced in batches across several event-loop turns: events are rate-limited, not per drop.
    for (let i = 0; i < BUFFER + N; i++) {
      t.host.push('full', 'flood', i);
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 5));
    }
    expect(t.host.get('full')).toMatchObject({ pushesDropped: N, pushesQueued: BUFFER });
    await until(() => overflow.at(-1)?.dropped === N, 5_000, 'the trailing overflow event');
    expect(overflow.reduce((sum, e) => sum + e.droppedSinceLastEvent, 0)).toBe(N);
    let running = 0;
    for (const e of overflow) {
      running += e.droppedSinceLastEvent;
      expect(e.dropped).toBe(running);
    }
    expect(overflow[0]).toMatchObject({ plugin: 'full', dropped: 1, droppedSinceLastEvent: 1 });
    expect(overflow.length).toBeLessThan(N);

    // drop-oldest kept the newest BUFFER, which arrive in order once the plugin runs.
    await t.host.start('full');
    await until(async () => (await t!.host.call<number>('full', 'pushCount', { topic: 'flood' })) === BUFFER, 20_000, 'the kept pushes');
    const got = await t.host.call<{ payloads: number[] }>('full', 'pushLog', { topic: 'flood' });
    expect(got.payloads).toEqual(Array.from({ length: BUFFER }, (_, i) => N + i));
  }, 60_000);

  it('unloading a plugin with pushes still queued reports them lost', async () => {
    t = await startHost({ heartbeat: false });
    await t.host.load(fixture('gone', 'messaging'));
    await t.host.stop('gone');
    for (let i = 0; i < 30; i++) t.host.push('gone', 'never', i);
    const lost = waitFor(t.host.events(), (e) => e.type === 'push-lost');
    await t.host.unload('gone');
    expect(await lost).toMatchObject({ type: 'push-lost', plugin: 'gone', count: 30, last: expect.any(Number) });
    const e = (await lost) as Lost;
    expect(e.last - e.first + 1).toBe(30);
  }, 60_000);
});

describe('a plugin written from docs/protocol.md alone: push acknowledgements', () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('a raw plugin that acknowledges: sent pushes are held until its PushAck, then released', async () => {
    t = await startHost({ heartbeat: false });
    await t.host.load({ command: process.execPath, args: [RAW_PLUGIN], name: 'raw' });
    for (let i = 0; i < 300; i++) t.host.push('raw', 'raw.count', i);
    const info = t.host.get('raw')!;
    // Nothing can have been acknowledged yet: the host has not read anything since.
    expect(info.pushesQueued + info.pushesUnacked).toBe(300);
    expect(info.pushesUnacked).toBeGreaterThan(0);
    await until(
      () => {
        const now = t!.host.get('raw')!;
        return now.pushesQueued === 0 && now.pushesUnacked === 0;
      },
      10_000,
      'every push acknowledged',
    );
    expect(await t.host.call('raw', 'pushes')).toEqual({ count: 300, lastSeq: 300 });
  }, 30_000);

  it('a raw plugin that does not acknowledge (acks_pushes unset) keeps the old behaviour: a push counts as delivered when written', async () => {
    t = await startHost({ heartbeat: false });
    await t.host.load({ command: process.execPath, args: [RAW_PLUGIN], name: 'raw', env: { RAW_ACKS: '0' } });
    for (let i = 0; i < 300; i++) t.host.push('raw', 'raw.count', i);
    expect(t.host.get('raw')!.pushesUnacked).toBe(0);
    await until(async () => (await t!.host.call<{ count: number }>('raw', 'pushes')).count === 300, 10_000, 'every push received');
    expect(t.host.get('raw')).toMatchObject({ pushesQueued: 0, pushesUnacked: 0, pushesDropped: 0, pushesLost: 0 });
  }, 30_000);
});
