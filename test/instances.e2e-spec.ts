// Instances: `instances: N` runs N processes of one plugin. Calls by name go to the running instance
// with the fewest in flight; a crash of one fails only its own calls while the others serve; pushes
// go to every instance or one; list(), messages and events name the instance.
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PluginCrashedError, type PluginEvent, type PluginInfo, type PluginMessage } from '@wwplugin/nestjs';
import { TerminusModule } from '@nestjs/terminus';
import { PluginHealthIndicator } from '@wwplugin/nestjs/health';
import { filter, ReplaySubject } from 'rxjs';
import { collect, fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

describe('instances: one plugin name, several processes', () => {
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  const instances = (): PluginInfo[] => t.host.list().filter((p) => p.name === 'pool');
  const pids = () => instances().map((p) => p.pid!);

  beforeAll(async () => {
    t = await startHost(
      { heartbeat: false, restart: { initialBackoffMs: 20, maxBackoffMs: 200, maxRestarts: 10 } },
      { imports: [TerminusModule], providers: [PluginHealthIndicator] },
    );
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
    await t.host.load({ ...fixture('pool', 'instances'), instances: 2 });
  }, 60_000);

  afterAll(async () => {
    const all = t ? pids() : [];
    await t?.close();
    for (const pid of all) expect(isAlive(pid)).toBe(false);
  }, 30_000);

  it('list() shows one entry per instance: its own id and pid, its index, the size of its set', async () => {
    const list = instances();
    expect(list.map((p) => [p.instance, p.instances, p.state])).toEqual([
      [0, 2, 'running'],
      [1, 2, 'running'],
    ]);
    expect(new Set(list.map((p) => p.id)).size).toBe(2);
    expect(new Set(pids()).size).toBe(2);
    // By name, get() answers with a running instance.
    expect(list.map((p) => p.id)).toContain(t.host.get('pool')!.id);
    // Each instance said 'loaded' and 'ready' under its own id and index.
    const told = await collect(events.pipe(filter((e) => e.plugin === 'pool')), 4);
    expect(told.map((e) => [e.type, e.id, e.instance])).toEqual(
      list.flatMap((p) => [
        ['loaded', p.id, p.instance],
        ['ready', p.id, p.instance],
      ]),
    );
  });

  it('calls by name spread over the instances by calls in flight; by id they go to that instance', async () => {
    // Issued together: each goes to the instance with fewer in flight, so two land on each.
    const answered = await Promise.all(Array.from({ length: 4 }, () => t.host.call<number>('pool', 'instHold', { ms: 300 })));
    const [a, b] = pids();
    expect(answered.filter((pid) => pid === a)).toHaveLength(2);
    expect(answered.filter((pid) => pid === b)).toHaveLength(2);
    // While a long call holds the first instance, calls made one at a time all go to the idle one.
    const busy = t.host.call<number>(instances()[0].id, 'instHold', { ms: 2_000 });
    await until(() => instances()[0].inFlight === 1, 10_000, 'the long call in flight');
    const next: number[] = [];
    for (let i = 0; i < 3; i++) next.push((await t.host.call<{ pid: number }>('pool', 'instWhoami')).pid);
    expect(next).toEqual([b, b, b]);
    expect(await busy).toBe(a);
    for (const info of instances()) expect(await t.host.call<{ pid: number }>(info.id, 'instWhoami')).toMatchObject({ pid: info.pid });
  }, 30_000);

  it('a SIGKILLed instance fails only its own calls; the other serves throughout, and the killed one restarts', async () => {
    const [victim, survivor] = instances();
    const onVictim = Array.from({ length: 5 }, () => t.host.call(victim.id, 'instHold', { ms: 60_000 }, { timeoutMs: 60_000 }).catch((e: unknown) => e));
    const onSurvivor = Array.from({ length: 5 }, () => t.host.call<number>(survivor.id, 'instHold', { ms: 5_000 }));
    await until(() => instances()[0].inFlight === 5 && instances()[1].inFlight === 5, 10_000, 'calls in flight on both');
    process.kill(victim.pid!, 'SIGKILL');
    for (const err of await Promise.all(onVictim)) expect(err).toBeInstanceOf(PluginCrashedError);
    await until(() => t.host.get(victim.id)!.pid !== victim.pid, 10_000, 'the exit seen');
    // While the victim is away, calls by name all go to the survivor and none fails.
    const meanwhile = await Promise.all(Array.from({ length: 10 }, () => t.host.call<{ pid: number }>('pool', 'instWhoami')));
    expect(meanwhile.filter((w) => w.pid === victim.pid)).toEqual([]);
    expect(await Promise.all(onSurvivor)).toEqual(Array(5).fill(survivor.pid));
    const restarted = await waitFor(events, (e) => e.type === 'restarted' && e.id === victim.id, 20_000);
    expect(restarted).toMatchObject({ instance: 0, attempt: 1 });
    const after = instances();
    expect(after.map((p) => [p.id, p.instance, p.state])).toEqual([
      [victim.id, 0, 'running'],
      [survivor.id, 1, 'running'],
    ]);
    expect(after[0].pid).not.toBe(victim.pid);
    expect(after[0].restarts).toBe(1);
    expect(after[1]).toMatchObject({ pid: survivor.pid, restarts: 0 });
    const crashed = await waitFor(events, (e) => e.type === 'crashed' && e.id === victim.id);
    expect(crashed).toMatchObject({ plugin: 'pool', instance: 0, signal: 'SIGKILL' });
  }, 60_000);

  it('with every instance down, a call by name waits for the first one back (whileRestarting: wait)', async () => {
    const before = instances();
    // Live events only (the ReplaySubject holds earlier restarts of the same ids).
    const restarting = before.map((p) => waitFor(t.host.events(), (e) => e.type === 'restarting' && e.id === p.id, 20_000));
    for (const p of before) process.kill(p.pid!, 'SIGKILL');
    await Promise.all(restarting);
    // No instance runs now: the set reports the state closest to serving.
    expect(t.host.get('pool')!.state).toBe('restarting');
    const answer = await t.host.call<{ pid: number }>('pool', 'instWhoami', {}, { timeoutMs: 30_000 });
    expect(before.map((p) => p.pid)).not.toContain(answer.pid);
    await until(() => instances().every((p) => p.state === 'running'), 20_000, 'both instances back');
  }, 60_000);

  it("push reaches every instance by default, or one with { to: 'one' }; by id, that instance", async () => {
    expect(t.host.push('pool', 'inst', 'to-all')).toBe(2);
    expect(t.host.push('pool', 'inst', 'to-one', { to: 'one' })).toBe(1);
    const [first, second] = instances();
    expect(t.host.push(second.id, 'inst', 'to-second')).toBe(1);
    const seen = async (id: string) => t.host.call<string[]>(id, 'instPushes');
    await until(async () => (await seen(first.id)).includes('to-all') && (await seen(second.id)).includes('to-second'), 10_000, 'pushes delivered');
    await until(async () => [...(await seen(first.id)), ...(await seen(second.id))].includes('to-one'), 10_000, "the push 'to-one' delivered");
    const [a, b] = [await seen(first.id), await seen(second.id)];
    expect(a.filter((p) => p === 'to-all')).toHaveLength(1);
    expect(b.filter((p) => p === 'to-all')).toHaveLength(1);
    expect([...a, ...b].filter((p) => p === 'to-one')).toHaveLength(1);
    expect(a).not.toContain('to-second');
    // '*' counts instances too.
    expect(t.host.push('*', 'inst', 'everyone')).toBe(2);
  }, 30_000);

  it('messages name the instance (its id and index) that emitted them', async () => {
    const list = instances();
    const got = collect(t.host.messages<{ pid: number }>('hello-from'), 2);
    for (const info of list) await t.host.call(info.id, 'instEmitPid', { topic: 'hello-from' });
    const messages: Array<PluginMessage<{ pid: number }>> = await got;
    expect(messages.map((m) => [m.plugin, m.pluginId, m.instance, m.payload.pid])).toEqual(list.map((p) => ['pool', p.id, p.instance, p.pid]));
    // from: an instance id selects that instance's messages only.
    const fromSecond = collect(t.host.messages('hello-from', list[1].id), 1);
    await t.host.call(list[0].id, 'instEmitPid', { topic: 'hello-from' });
    await t.host.call(list[1].id, 'instEmitPid', { topic: 'hello-from' });
    expect((await fromSecond)[0]).toMatchObject({ pluginId: list[1].id, instance: 1 });
  }, 30_000);

  it('restart by name restarts every instance, one after the other: calls by name never fail meanwhile', async () => {
    const before = pids();
    let stop = false;
    const failures: unknown[] = [];
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        try {
          await t.host.call('pool', 'instWhoami', {}, { timeoutMs: 20_000 });
          answered++;
        } catch (err) {
          failures.push(err);
        }
      }
    })();
    await t.host.restart('pool');
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    const after = pids();
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    expect(instances().map((p) => p.state)).toEqual(['running', 'running']);
  }, 60_000);

  it('stop by id stops one instance (the name keeps serving, health is degraded); start by name brings it back', async () => {
    const health = t.app.get(PluginHealthIndicator);
    const [first, second] = instances();
    expect(health.isHealthy('plugins').plugins).toMatchObject({
      status: 'up',
      plugins: {
        pool: {
          state: 'running',
          running: 2,
          instances: [
            { instance: 0, id: first.id, state: 'running', pid: first.pid },
            { instance: 1, id: second.id, state: 'running', pid: second.pid },
          ],
        },
      },
    });
    const stopped = await t.host.stop(first.id);
    expect(stopped).toMatchObject({ id: first.id, state: 'stopped' });
    expect(t.host.get('pool')!.state).toBe('running');
    expect(await t.host.call<{ pid: number }>('pool', 'instWhoami')).toMatchObject({ pid: second.pid });
    const degraded = health.isHealthy('plugins').plugins;
    expect(degraded).toMatchObject({ status: 'degraded', message: 'pool: 1 of 2 instances running.', plugins: { pool: { state: 'running', running: 1 } } });
    // By name the set is running; by id the stopped instance is down.
    expect(health.isRunning('pool', 'pool').pool.status).toBe('up');
    expect(health.isRunning('first', first.id).first).toMatchObject({ status: 'down', state: 'stopped' });
    await t.host.start('pool');
    expect(instances().map((p) => p.state)).toEqual(['running', 'running']);
    expect(health.isHealthy('plugins').plugins.status).toBe('up');
  }, 30_000);

  it("instances: 'auto' runs one per core; anything but a positive integer or 'auto' is an InvalidArgumentError", async () => {
    await t.host.load({ ...fixture('auto', 'instances'), instances: 'auto' });
    expect(t.host.list().filter((p) => p.name === 'auto')).toHaveLength(availableParallelism());
    await t.host.unload('auto');
    expect(t.host.list().filter((p) => p.name === 'auto')).toEqual([]);
    for (const bad of [0, 1.5, 'many'] as const) {
      const err = await t.host.load({ ...fixture('bad', 'instances'), instances: bad as never }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toContain(`instances must be a positive integer or 'auto', got ${typeof bad === 'string' ? `"${bad}"` : bad}`);
    }
    expect(t.host.get('bad')).toBeUndefined();
  }, 60_000);
});
