// Pushes meant for any one instance (`to: 'one'`) follow the plugin, not the process: while their
// instance restarts after a crash they wait for it; once it is gone for good (failed in a crash loop,
// unloaded) they go to another instance of the name, in order; only when none is left are they lost,
// and then counted and reported (push-lost).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginEvent, PluginInfo } from '@wwplugin/nestjs';
import { ReplaySubject } from 'rxjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

/** Small enough that a burst outgrows the send window (half of it) and waits in the host, large enough to drop nothing. */
const BUFFER = 200;
const BURST = 150;

interface Record {
  pid: number;
  seq: number;
  n: number;
}

describe("instances: pushes to: 'one' when their instance goes away", () => {
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-failover-'));
  const spawned: number[] = [];

  const instances = (name: string): PluginInfo[] => t.host.list().filter((p) => p.name === name);
  /** What each process recorded, in the order it handled it. */
  const records = (name: string): Record[] => {
    const path = join(dir, `${name}.log`);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [pid, seq, n] = line.split(' ').map(Number);
        return { pid, seq, n };
      });
  };
  const of = (name: string, pid: number) => records(name).filter((r) => r.pid === pid);
  /** Acknowledgements come in batches, a little after the pushes were handled. */
  const acknowledged = (name: string) => until(() => instances(name).every((p) => p.pushesUnacked === 0), 10_000, 'every push acknowledged');
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  async function load(name: string, extra: object = {}): Promise<[PluginInfo, PluginInfo]> {
    await t.host.load({
      ...fixture(name, 'push-failover', { env: { FAILOVER_LOG: join(dir, `${name}.log`), FAILOVER_DIR: dir } }),
      instances: 2,
      ...extra,
    });
    const [a, b] = instances(name);
    spawned.push(a.pid!, b.pid!);
    return [a, b];
  }

  /** Pushes 1..count to one instance of `name`; the first one freezes the process `freezeIn`. */
  function burst(name: string, count: number, freezeIn?: number): number[] {
    return range(1, count).map((n) => t.host.push(name, 'failover', n === 1 && freezeIn ? { n, freezeIn } : { n }, { to: 'one' }));
  }

  beforeAll(async () => {
    t = await startHost({
      heartbeat: false,
      pushBufferSize: BUFFER,
      restart: { initialBackoffMs: 20, maxBackoffMs: 100, maxRestarts: 2 },
    });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    for (const pid of spawned) expect(isAlive(pid)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const lostEvents = (name: string) => {
    const lost: Array<Extract<PluginEvent, { type: 'push-lost' }>> = [];
    events.subscribe((e) => e.type === 'push-lost' && e.plugin === name && lost.push(e));
    return lost;
  };

  it('an instance that crashes and restarts keeps its pushes: its next process gets them, in order, with their seq; the other instance gets none', async () => {
    const [victim, other] = await load('keep');
    const lost = lostEvents('keep');
    await t.host.stop(other.id);
    // Only the victim runs: the whole burst goes to it; it freezes on the first, so the rest waits.
    expect(burst('keep', BURST, victim.pid)).toEqual(Array(BURST).fill(1));
    await until(() => of('keep', victim.pid!).length === 1, 10_000, 'the victim frozen on push 1');
    await t.host.start(other.id);
    spawned.push(instances('keep')[1].pid!);
    process.kill(victim.pid!, 'SIGKILL');
    const back = await waitFor(events, (e) => e.type === 'restarted' && e.id === victim.id, 20_000);
    const newPid = (back as Extract<PluginEvent, { type: 'restarted' }>).pid;
    spawned.push(newPid);
    await until(() => of('keep', newPid).length >= BURST, 20_000, 'the burst handled by the restarted victim');

    expect(of('keep', victim.pid!).map((r) => r.n)).toEqual([1]);
    // Push 1 was handled and never acknowledged: at-least-once sends it again, with its own seq.
    expect(of('keep', newPid).map((r) => [r.n, r.seq])).toEqual(range(1, BURST).map((n) => [n, n]));
    expect(of('keep', instances('keep')[1].pid!)).toEqual([]);
    await acknowledged('keep');
    expect(instances('keep').map((p) => [p.state, p.pushesQueued, p.pushesUnacked, p.pushesLost])).toEqual([
      ['running', 0, 0, 0],
      ['running', 0, 0, 0],
    ]);
    expect(lost).toEqual([]);
  }, 60_000);

  it('an instance that fails for good (crash loop) hands its pushes to the other, in order under its seq: each handled, only the one the victim saw unacknowledged twice', async () => {
    const [victim, other] = await load('loop');
    const lost = lostEvents('loop');
    await t.host.call(victim.id, 'failoverCrashAtBoot');
    await t.host.stop(other.id);
    expect(burst('loop', BURST, victim.pid)).toEqual(Array(BURST).fill(1));
    await until(() => of('loop', victim.pid!).length === 1, 10_000, 'the victim frozen on push 1');
    // Queued on the victim (the other was stopped); the other runs again before the victim dies.
    expect(t.host.get(victim.id)!.pushesQueued + t.host.get(victim.id)!.pushesUnacked).toBe(BURST);
    await t.host.start(other.id);
    const survivor = t.host.get(other.id)!.pid!;
    spawned.push(survivor);
    process.kill(victim.pid!, 'SIGKILL');
    const failed = await waitFor(events, (e) => e.type === 'failed' && e.id === victim.id, 20_000);
    expect(failed).toMatchObject({ plugin: 'loop', instance: 0 });
    await until(() => of('loop', survivor).length >= BURST, 20_000, 'the burst handled by the other instance');

    expect(of('loop', victim.pid!).map((r) => r.n)).toEqual([1]);
    // Every push once, in order; push 1 twice in all (the victim handled it, never acknowledged it).
    expect(of('loop', survivor).map((r) => [r.n, r.seq])).toEqual(range(1, BURST).map((n) => [n, n]));
    expect(records('loop')).toHaveLength(BURST + 1);
    await acknowledged('loop');
    expect(instances('loop').map((p) => [p.state, p.pushesQueued, p.pushesUnacked, p.pushesLost, p.pushesDropped])).toEqual([
      ['failed', 0, 0, 0, 0],
      ['running', 0, 0, 0, 0],
    ]);
    expect(lost).toEqual([]);
    // New pushes for one instance go to the one that runs.
    expect(t.host.push('loop', 'failover', { n: BURST + 1 }, { to: 'one' })).toBe(1);
    await until(() => of('loop', survivor).some((r) => r.n === BURST + 1), 10_000, 'a later push');
    expect(of('loop', victim.pid!)).toHaveLength(1);
  }, 60_000);

  it('at-most-once: what the failed instance was sent is reported lost, what waited goes to the other; nothing twice, every push counted', async () => {
    const [victim, other] = await load('once', { pushDelivery: 'at-most-once' });
    const lost = lostEvents('once');
    await t.host.call(victim.id, 'failoverCrashAtBoot');
    await t.host.stop(other.id);
    burst('once', BURST, victim.pid);
    await until(() => of('once', victim.pid!).length === 1, 10_000, 'the victim frozen on push 1');
    await t.host.start(other.id);
    const survivor = t.host.get(other.id)!.pid!;
    spawned.push(survivor);
    const sent = t.host.get(victim.id)!.pushesUnacked;
    // The send window is half the buffer: some waited in the host.
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(BURST);
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor(events, (e) => e.type === 'failed' && e.id === victim.id, 20_000);
    await until(() => of('once', survivor).length >= BURST - sent, 20_000, 'the pushes that waited, handled by the other');

    // Lost: exactly what the victim had been sent (push 1 among them: it may have handled it).
    expect(lost.map((e) => [e.id, e.first, e.last, e.count, e.pushesLost])).toEqual([[victim.id, 1, sent, sent, sent]]);
    expect(of('once', survivor).map((r) => [r.n, r.seq])).toEqual(range(sent + 1, BURST).map((n, i) => [n, i + 1]));
    expect(instances('once').map((p) => [p.state, p.pushesQueued, p.pushesLost])).toEqual([
      ['failed', 0, sent],
      ['running', 0, 0],
    ]);
  }, 60_000);

  it('stop(id) hands the pushes for one instance that the stopped one left to the other that runs, in order', async () => {
    const [victim, other] = await load('halt');
    const lost = lostEvents('halt');
    await t.host.stop(other.id);
    expect(burst('halt', BURST, victim.pid)).toEqual(Array(BURST).fill(1));
    await until(() => of('halt', victim.pid!).length === 1, 10_000, 'the victim frozen on push 1');
    await t.host.start(other.id);
    const survivor = t.host.get(other.id)!.pid!;
    spawned.push(survivor);
    // Frozen, it cannot stop gracefully: it is killed once the grace period is over.
    await t.host.stop(victim.id, 0);
    await until(() => of('halt', survivor).length >= BURST, 20_000, 'the burst handled by the other instance');
    await acknowledged('halt');

    expect(of('halt', survivor).map((r) => [r.n, r.seq])).toEqual(range(1, BURST).map((n) => [n, n]));
    expect(instances('halt').map((p) => [p.state, p.pushesQueued, p.pushesUnacked, p.pushesLost])).toEqual([
      ['stopped', 0, 0, 0],
      ['running', 0, 0, 0],
    ]);
    expect(lost).toEqual([]);
    // Started again, it gets none of them a second time.
    await t.host.start(victim.id);
    spawned.push(t.host.get(victim.id)!.pid!);
    expect(t.host.get(victim.id)!.pushesQueued).toBe(0);
    expect(records('halt')).toHaveLength(BURST + 1);
  }, 60_000);

  it('unload(id) hands its pushes for one instance to another that runs; with none left, unload reports them lost', async () => {
    const [first, second] = await load('park');
    const lost = lostEvents('park');
    // Both stopped: pushes for one instance wait, spread over both by what each has pending.
    await t.host.stop('park');
    expect(burst('park', 10)).toEqual(Array(10).fill(1));
    expect(instances('park').map((p) => p.pushesQueued)).toEqual([5, 5]);
    await t.host.start(second.id);
    const survivor = t.host.get(second.id)!.pid!;
    spawned.push(survivor);
    await until(() => of('park', survivor).length === 5, 10_000, "the second's own pushes after its start");
    await t.host.unload(first.id);
    await until(() => of('park', survivor).length === 10, 10_000, "the first's pushes handed to the second");
    // Its own first (the first instance took push 1 on the tie, so the even ones), then the first's, each in order.
    expect(of('park', survivor).map((r) => [r.n, r.seq])).toEqual([2, 4, 6, 8, 10, 1, 3, 5, 7, 9].map((n, i) => [n, i + 1]));
    expect(lost).toEqual([]);
    expect(instances('park').map((p) => [p.id, p.pushesQueued])).toEqual([[second.id, 0]]);

    // No instance left to take them: counted lost, with an event.
    await t.host.stop('park');
    burst('park', 3);
    await t.host.unload('park');
    expect(lost.map((e) => [e.id, e.count, e.pushesLost])).toEqual([[second.id, 3, 3]]);
    expect(of('park', survivor)).toHaveLength(10);
  }, 60_000);
});
