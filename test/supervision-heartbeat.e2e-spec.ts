import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginCrashedError, type PluginEvent } from '@wwplugin/nestjs';
import { readFileSync } from 'node:fs';
import { ReplaySubject } from 'rxjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

// Hang detection: a plugin that stops answering heartbeats (process stopped, or event loop
// blocked) is marked unresponsive, killed and restarted by its policy.
describe('supervision: heartbeats', () => {
  let t: TestHost;
  const log: PluginEvent[] = [];
  const events = new ReplaySubject<PluginEvent>();
  const stoppedPids: number[] = [];
  const seen = (plugin: string, type: PluginEvent['type'], after: number) =>
    waitFor(events, (e) => log.indexOf(e) >= after && e.type === type && e.plugin === plugin, 20_000);

  beforeAll(async () => {
    t = await startHost({
      heartbeat: { intervalMs: 200, timeoutMs: 200, misses: 3 },
      restart: { initialBackoffMs: 20, maxBackoffMs: 200 },
    });
    t.host.events().subscribe((e) => {
      log.push(e);
      events.next(e);
    });
    await Promise.all([t.host.load(fixture('hb-stopped', 'supervision')), t.host.load(fixture('hb-blocked', 'supervision'))]);
  }, 30_000);

  afterAll(async () => {
    // A SIGSTOPped process the test left behind (only if it failed) must not outlive it. PIDs are
    // reused quickly here: signal only a process that is still stopped (state T), never another.
    for (const pid of stoppedPids) {
      try {
        if (!readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T')) continue;
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    const pids = t?.host.list().map((p) => p.pid);
    await t?.close();
    for (const pid of pids ?? []) expect(isAlive(pid)).toBe(false);
  }, 30_000);

  it('reports the heartbeat round trip of a healthy plugin in list()', async () => {
    await until(() => t.host.get('hb-stopped')!.lastHeartbeatMs !== undefined, 10_000, 'a heartbeat answer');
    const info = t.host.list().find((p) => p.name === 'hb-stopped')!;
    expect(info.state).toBe('running');
    expect(info.lastHeartbeatMs).toBeGreaterThanOrEqual(0);
  }, 20_000);

  it('SIGSTOP: detected by missed heartbeats, marked unresponsive, replaced by a new process that serves', async () => {
    const mark = log.length;
    const pid = t.host.get('hb-stopped')!.pid!;
    stoppedPids.push(pid);
    process.kill(pid, 'SIGSTOP');

    const unresponsive = await seen('hb-stopped', 'unresponsive', mark);
    expect(unresponsive).toMatchObject({ missed: 3 });
    const missed = log.slice(mark).filter((e) => e.type === 'heartbeat-missed' && e.plugin === 'hb-stopped');
    // Counted beat by beat up to the limit (a slow beat just before the stop may have counted 1 already).
    const counts = missed.map((e) => (e as { missed: number }).missed);
    expect(counts.at(-1)).toBe(3);
    expect(counts).toEqual([...counts].sort());
    expect(await seen('hb-stopped', 'crashed', mark)).toMatchObject({ signal: 'SIGKILL' });

    const restarted = await seen('hb-stopped', 'restarted', mark);
    expect(restarted.type === 'restarted' && restarted.pid).not.toBe(pid);
    const newPid = await t.host.call<number>('hb-stopped', 'supPid');
    expect(newPid).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
    expect(t.host.get('hb-stopped')).toMatchObject({ state: 'running', restarts: 1, lastExit: { signal: 'SIGKILL' } });
    // The order of the story.
    const story = log
      .slice(mark)
      .filter((e) => e.plugin === 'hb-stopped' && e.type !== 'heartbeat-missed')
      .map((e) => e.type);
    expect(story).toEqual(['unresponsive', 'exited', 'crashed', 'restarting', 'restarted']);
  }, 30_000);

  it('a blocked event loop: detected, killed (the blocking call fails as crashed), replaced', async () => {
    const mark = log.length;
    const pid = t.host.get('hb-blocked')!.pid!;
    const blocking = t.host.call('hb-blocked', 'supBlock', { ms: 60_000 }, { timeoutMs: 90_000 }).catch((e: unknown) => e);
    await seen('hb-blocked', 'unresponsive', mark);
    expect(t.host.get('hb-blocked')!.state).not.toBe('running');
    const err = await blocking;
    expect(err).toBeInstanceOf(PluginCrashedError);
    expect((err as PluginCrashedError).details).toMatchObject({ signal: 'SIGKILL' });
    await seen('hb-blocked', 'restarted', mark);
    expect(await t.host.call('hb-blocked', 'echo', { value: 1 })).toBe(1);
    expect(isAlive(pid)).toBe(false);
  }, 30_000);
});
