// Zero-downtime upgrade: host.upgrade(name, spec) starts the new version beside the old, sends new
// calls and pushes to it once it is ready, lets the old one finish its calls, then stops it. Under
// a continuous load of calls and pushes, no call fails and no push is lost, across an upgrade and
// across one whose new version cannot start.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PluginStartError, UnknownPluginError, UpgradeFailedError, type PluginEvent, type PluginSpec } from '@wwplugin/nestjs';
import { ReplaySubject } from 'rxjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

const readPushes = (path: string): number[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[2]))
    : [];

/** Callers that call `up` back to back, and a pusher that pushes first, first + 1, ... until stopped. */
function startLoad(t: TestHost, first: number) {
  let stop = false;
  const failures: unknown[] = [];
  const generations: string[] = [];
  let next = first;
  const callers = Array.from({ length: 4 }, async () => {
    while (!stop) {
      try {
        generations.push((await t.host.call<{ generation: string }>('up', 'instWhoami', {}, { timeoutMs: 30_000 })).generation);
      } catch (err) {
        failures.push(err);
      }
    }
  });
  const pusher = (async () => {
    while (!stop) {
      t.host.push('up', 'numbered', next++);
      // Paced, so the load runs for as long as the upgrade takes without flooding the buffer.
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    failures,
    generations,
    pushed: () => next - first,
    /** The numbers pushed so far. */
    numbers: () => Array.from({ length: next - first }, (_, i) => first + i),
    end: async () => {
      stop = true;
      await Promise.all([...callers, pusher]);
    },
  };
}

describe('upgrade under load', () => {
  let t: TestHost;
  let log = '';
  let events: ReplaySubject<PluginEvent>;
  const spec = (generation: string, mode = 'instances,delivery'): PluginSpec => ({
    ...fixture('up', mode, { env: { DELIVERY_LOG: log, FIXTURE_GENERATION: generation } }),
    instances: 2,
    pushTo: 'one',
  });
  const instances = () => t.host.list().filter((p) => p.name === 'up');

  beforeAll(async () => {
    log = join(tmpdir(), `wwplugin-upgrade-${process.pid}-${Date.now()}.log`);
    t = await startHost({ heartbeat: false });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
    await t.host.load(spec('1'));
  }, 60_000);

  afterAll(async () => {
    const pids = t ? instances().map((p) => p.pid) : [];
    await t?.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    rmSync(log, { force: true });
  }, 30_000);

  /** Every number in `numbers` was recorded by some process of `up`, and nothing is pending or lost. */
  async function everyPushArrived(numbers: number[]): Promise<void> {
    const missing = () => {
      const seen = new Set(readPushes(log));
      return numbers.filter((n) => !seen.has(n));
    };
    await until(() => missing().length === 0, 30_000, `all ${numbers.length} pushes recorded`);
    await until(() => instances().every((p) => p.pushesQueued === 0 && p.pushesUnacked === 0), 10_000, 'no push pending');
    expect(instances().map((p) => p.pushesLost)).toEqual([0, 0]);
    expect(instances().map((p) => p.pushesDropped)).toEqual([0, 0]);
  }

  it('no call fails and no push is lost; new calls go to the new version, and the old processes are gone', async () => {
    const old = instances();
    expect(old.map((p) => p.state)).toEqual(['running', 'running']);
    const load = startLoad(t, 1);
    await until(() => load.generations.length >= 50 && load.pushed() >= 50, 20_000, 'the load running');
    const upgraded = await t.host.upgrade('up', spec('2'));
    const answeredBefore = load.generations.length;
    await until(() => load.generations.length >= answeredBefore + 50, 20_000, 'calls after the upgrade');
    await load.end();

    expect(load.failures).toEqual([]);
    // Every call made after upgrade() resolved was answered by the new version.
    expect(new Set(load.generations.slice(answeredBefore))).toEqual(new Set(['2']));
    expect(load.generations.slice(0, 10)).toEqual(Array(10).fill('1'));
    expect(upgraded.map((p) => [p.instance, p.instances, p.state])).toEqual([
      [0, 2, 'running'],
      [1, 2, 'running'],
    ]);
    expect(instances().map((p) => p.id)).toEqual(upgraded.map((p) => p.id));
    for (const p of old) expect(isAlive(p.pid)).toBe(false);
    await everyPushArrived(load.numbers());
    // Pushes reached the old processes before the switch and the new ones after it.
    const recorders = new Set(
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[0])),
    );
    for (const p of [...old, ...upgraded]) expect(recorders).toContain(p.pid);
    const told = await waitFor(events, (e) => e.type === 'upgraded');
    expect(told).toMatchObject({ plugin: 'up', from: '1.0.0', to: '1.0.0', ids: upgraded.map((p) => p.id) });
    // The old instances were unloaded, each under its own id.
    for (const p of old) await waitFor(events, (e) => e.type === 'unloaded' && e.id === p.id);
  }, 120_000);

  it('a new version that cannot start: upgrade rejects with UpgradeFailedError and why, the old one served throughout', async () => {
    const before = instances();
    const serving = (await t.host.call<{ generation: string }>('up', 'instWhoami')).generation;
    // Numbers of its own: the log still holds the first test's.
    const load = startLoad(t, 1_000_000);
    await until(() => load.generations.length >= 50, 20_000, 'the load running');
    const err = await t.host.upgrade('up', spec('3', 'instances,delivery,exit-at-boot')).catch((e: unknown) => e);
    const answeredBefore = load.generations.length;
    await until(() => load.generations.length >= answeredBefore + 50, 20_000, 'calls after the failed upgrade');
    await load.end();

    expect(err).toBeInstanceOf(UpgradeFailedError);
    expect((err as Error).message).toMatch(
      /^The upgrade of plugin "up" failed; the running version keeps serving\. Plugin "up" exited before it became callable \(exit code 3\)/,
    );
    expect((err as Error).cause).toBeInstanceOf(PluginStartError);
    expect(load.failures).toEqual([]);
    expect(new Set(load.generations)).toEqual(new Set([serving]));
    // Same instances as before; the new version's processes are gone and unlisted.
    expect(instances().map((p) => [p.id, p.pid, p.state])).toEqual(before.map((p) => [p.id, p.pid, 'running']));
    await everyPushArrived(load.numbers());
  }, 120_000);

  it('pushes waiting for an old instance that is down at the upgrade go to the new version (at-least-once)', async () => {
    const downLog = `${log}.down`;
    const downSpec = (generation: string): PluginSpec => ({
      ...fixture('down', 'instances,delivery', { env: { DELIVERY_LOG: downLog, FIXTURE_GENERATION: generation } }),
      instances: 2,
      // Its restart waits long: the killed instance is down, its pushes queued, when the upgrade comes.
      restart: { initialBackoffMs: 60_000 },
    });
    try {
      await t.host.load(downSpec('1'));
      const [victim, survivor] = t.host.list().filter((p) => p.name === 'down');
      process.kill(victim.pid!, 'SIGKILL');
      await waitFor(events, (e) => e.type === 'restarting' && e.id === victim.id);
      // To every instance (pushTo 'all'): the down one queues them.
      for (let n = 1; n <= 100; n++) expect(t.host.push('down', 'numbered', n)).toBe(2);
      expect(t.host.get(victim.id)).toMatchObject({ state: 'restarting', pushesQueued: 100 });
      const upgraded = await t.host.upgrade('down', downSpec('2'));
      const byPid = () => {
        const lines = existsSync(downLog) ? readFileSync(downLog, 'utf8').split('\n').filter(Boolean) : [];
        const seen = new Map<number, number[]>();
        for (const [pid, , n] of lines.map((l) => l.split(' ').map(Number))) seen.set(pid, [...(seen.get(pid) ?? []), n]);
        return seen;
      };
      const all = Array.from({ length: 100 }, (_, i) => i + 1);
      // The survivor took its own copies; the victim's went to the new instance in its place.
      await until(() => byPid().get(upgraded[0].pid!)?.length === 100, 20_000, "the down instance's pushes at its heir");
      expect(byPid().get(upgraded[0].pid!)).toEqual(all);
      expect(new Set(byPid().get(survivor.pid!))).toEqual(new Set(all));
      const lost = t.host
        .list()
        .filter((p) => p.name === 'down')
        .map((p) => p.pushesLost);
      expect(lost).toEqual([0, 0]);
    } finally {
      await t.host.unload('down').catch(() => undefined);
      rmSync(downLog, { force: true });
    }
  }, 60_000);

  it('bad upgrades are refused at once with a typed error', async () => {
    await expect(t.host.upgrade('nope', spec('4'))).rejects.toBeInstanceOf(UnknownPluginError);
    const renamed = await t.host.upgrade('up', { ...spec('4'), name: 'other' }).catch((e: unknown) => e);
    expect(renamed).toBeInstanceOf(InvalidArgumentError);
    expect((renamed as Error).message).toBe('upgrade("up") was given a spec named "other": an upgrade keeps the plugin\'s name (leave name out, or use "up").');
    const missing = await t.host.upgrade('up', { path: '/nonexistent/plugin.js' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UpgradeFailedError);
    expect((missing as Error).message).toContain('Plugin entry "/nonexistent/plugin.js" does not exist.');
    expect(instances().map((p) => p.state)).toEqual(['running', 'running']);
  }, 30_000);

  it('operations on the name asked during an upgrade wait for it and then act on the new instances', async () => {
    const upgrading = t.host.upgrade('up', spec('5'));
    const stopping = t.host.stop('up');
    const upgraded = await upgrading;
    const stopped = await stopping;
    expect(stopped.id).toBe(upgraded[0].id);
    expect(instances().map((p) => [p.id, p.state])).toEqual(upgraded.map((p) => [p.id, 'stopped']));
  }, 60_000);
});
