import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginCrashedError, type PluginEvent } from '@wwplugin/nestjs';
import { filter, ReplaySubject } from 'rxjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

// Crash detection and restart: a plugin that dies is noticed at once (not at the next heartbeat),
// its calls in flight fail with a typed error, and the restart policy brings it back.
describe('supervision: crash detection and restart', () => {
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  const log: PluginEvent[] = [];
  const seen = (type: PluginEvent['type'], after = 0) =>
    waitFor(events.pipe(filter((_, i) => i >= after)), (e) => e.type === type && e.plugin === 'crashy', 20_000);

  beforeAll(async () => {
    // Heartbeats off: whatever is detected here is detected by the exit alone.
    t = await startHost({ heartbeat: false, restart: { initialBackoffMs: 20, maxBackoffMs: 200, maxRestarts: 10 } });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
    events.subscribe((e) => log.push(e));
    await t.host.load(fixture('crashy', 'supervision'));
  }, 30_000);

  afterAll(async () => {
    const pid = t?.host.get('crashy')?.pid;
    await t?.close();
    expect(isAlive(pid)).toBe(false);
  }, 30_000);

  it('SIGKILL with 100 calls in flight: all reject with PluginCrashedError, then the plugin is back and serves', async () => {
    const before = t.host.get('crashy')!;
    const pid = before.pid!;
    expect(before.state).toBe('running');
    expect(before.restarts).toBe(0);
    const mark = countEvents();
    // Long deadlines: if anything waited for its deadline the test would time out long before.
    const calls = Array.from({ length: 100 }, () =>
      t.host.call('crashy', 'never', {}, { timeoutMs: 60_000 }).then(
        () => new Error('resolved'),
        (err: unknown) => err,
      ),
    );
    await until(() => t.host.get('crashy')!.inFlight === 100, 10_000, '100 calls in flight');
    process.kill(pid, 'SIGKILL');

    const outcomes = await Promise.all(calls);
    for (const err of outcomes) {
      expect(err).toBeInstanceOf(PluginCrashedError);
      expect((err as PluginCrashedError).details).toMatchObject({ signal: 'SIGKILL' });
      expect((err as Error).message).toContain('crashy');
    }

    const restarted = await seen('restarted', mark);
    expect(restarted).toMatchObject({ type: 'restarted', attempt: 1 });
    const newPid = await t.host.call<number>('crashy', 'supPid');
    expect(newPid).not.toBe(pid);
    expect(restarted).toMatchObject({ pid: newPid });
    expect(isAlive(pid)).toBe(false);
    expect(await t.host.call('crashy', 'echo', { value: 'still here' })).toBe('still here');

    // The events tell the story in order.
    const story = eventsSince(mark)
      .filter((e) => e.plugin === 'crashy')
      .map((e) => e.type);
    expect(story).toEqual(['exited', 'crashed', 'restarting', 'restarted']);
    expect(eventsSince(mark).find((e) => e.type === 'crashed')).toMatchObject({ code: null, signal: 'SIGKILL' });

    const info = t.host.list().find((p) => p.name === 'crashy')!;
    expect(info).toMatchObject({ state: 'running', pid: newPid, restarts: 1, inFlight: 0 });
    expect(info.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(info.lastExit!.at).toBeInstanceOf(Date);
  }, 30_000);

  it('an exit with a code: calls in flight carry the code, and the plugin is back', async () => {
    const mark = countEvents();
    const pid = t.host.get('crashy')!.pid;
    const inFlight = t.host.call('crashy', 'never', {}, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    const dying = t.host.call('crashy', 'supExit', { code: 7 }, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    for (const err of await Promise.all([inFlight, dying])) {
      expect(err).toBeInstanceOf(PluginCrashedError);
      expect((err as PluginCrashedError).details).toMatchObject({ code: 7, signal: null });
    }
    expect(await seen('crashed', mark)).toMatchObject({ code: 7, signal: null });
    await seen('restarted', mark);
    expect(await t.host.call<number>('crashy', 'supPid')).not.toBe(pid);
    expect(t.host.get('crashy')).toMatchObject({ state: 'running', restarts: 2, lastExit: { code: 7, signal: null } });
  }, 30_000);

  it('pushes sent while the plugin restarts arrive afterwards, in order; calls made meanwhile wait for it', async () => {
    const mark = countEvents();
    const sent = Array.from({ length: 200 }, (_, i) => ({ n: i }));
    let waitingCall: Promise<unknown> | undefined;
    let queuedWhileRestarting = -1;
    // Everything below runs while the plugin is down: synchronously inside the 'restarting' event.
    const sub = t.host.events().subscribe((e) => {
      if (e.type !== 'restarting' || e.plugin !== 'crashy') return;
      expect(t.host.get('crashy')!.state).toBe('restarting');
      for (const payload of sent.slice(0, 100)) t.host.push('crashy', 'sup', payload);
      waitingCall = t.host.call('crashy', 'echo', { value: 'waited' }, { timeoutMs: 60_000 });
      for (const payload of sent.slice(100)) t.host.push('crashy', 'sup', payload);
      queuedWhileRestarting = t.host.get('crashy')!.pushesQueued;
    });
    try {
      process.kill(t.host.get('crashy')!.pid!, 'SIGKILL');
      await seen('restarted', mark);
    } finally {
      sub.unsubscribe();
    }
    expect(queuedWhileRestarting).toBe(200);
    expect(await waitingCall).toBe('waited');
    // The new process receives exactly what was pushed while it was down, in order. (The outbox
    // flushes as the session drains, and calls do not queue behind pushes: poll until all are in.)
    let received: unknown[] = [];
    await until(async () => (received = await t.host.call<unknown[]>('crashy', 'supPushes')).length >= sent.length, 10_000, 'the pushes');
    expect(received).toEqual(sent);
    expect(t.host.get('crashy')).toMatchObject({ pushesQueued: 0, pushesDropped: 0 });
  }, 30_000);

  const countEvents = () => log.length;
  const eventsSince = (mark: number) => log.slice(mark);
});
