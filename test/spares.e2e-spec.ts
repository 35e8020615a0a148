import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HostConfigurationError, WwPluginModule, type PluginEvent } from '@wwplugin/nestjs';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplaySubject } from 'rxjs';
import { fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';
import { closeLeavingNothing, readySpare as waitForSpare } from './support/spares.js';

/** The environment block a same-user process reads in /proc: a secret must never be in it. */
const environBlock = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'latin1');

type Facts = { pid: number; argv: string[]; execArgv: string[]; cwd: string; env: Record<string, string>; stdinIsPipe: boolean };

// Prewarmed spares (host option `spares`): a start takes a ready spare instead of spawning Node,
// the process it becomes is the plugin exactly as a cold start makes it, and a new spare warms up.
describe('spares: prewarmed processes for load, restart and crashes', () => {
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  let workDir: string;
  const everySparePid = new Set<number>();
  const spec = (name: string, spare: boolean | 'own' = true) =>
    fixture(name, 'spares,messaging,supervision', { cwd: workDir, args: ['--flag', 'value'], env: { SPARE_MARK: 'marked' }, spare });

  /** The one ready shared spare (or the one of plugin id `plugin`), once there is one (and it is not `not`). */
  const readySpare = (not?: number, plugin?: string) => waitForSpare(t.host, { plugin, not, seen: everySparePid, alone: true });

  beforeAll(async () => {
    workDir = realpathSync(mkdtempSync(join(tmpdir(), 'wwplugin-spares-')));
    t = await startHost({ spares: 1, heartbeat: false, restart: { initialBackoffMs: 10, maxBackoffMs: 50, maxRestarts: 20 } });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
  }, 30_000);

  // Nothing outlives the host: no plugin and no spare.
  afterAll(() => closeLeavingNothing(t, everySparePid, workDir), 30_000);

  it('load() runs the plugin in the ready spare, and a new spare warms up', async () => {
    const spare = await readySpare();
    const info = await t.host.load(spec('warm'));
    expect(info.pid).toBe(spare.pid);
    expect(await t.host.call('warm', 'supPid')).toBe(spare.pid);
    // Its secret came in the assignment and was set in-process: not in its environment block.
    expect(environBlock(spare.pid)).not.toMatch(/WWPLUGIN_TOKEN/);
    const next = await readySpare(spare.pid);
    expect(next.pid).not.toBe(spare.pid);
    expect(next.flags).toEqual([]);
  }, 60_000);

  it('the plugin behaves exactly as a cold-started one: calls, pushes, argv, cwd, environment, stdin', async () => {
    await t.host.load(spec('cold', false));
    const warm = await t.host.call<Facts>('warm', 'processFacts');
    const cold = await t.host.call<Facts>('cold', 'processFacts');
    expect(warm.pid).toBe(t.host.get('warm')!.pid);
    expect(cold.pid).toBe(t.host.get('cold')!.pid);
    expect(everySparePid.has(cold.pid)).toBe(false);
    expect(warm.argv).toEqual(cold.argv);
    expect(warm.argv.slice(1)).toEqual(['--flag', 'value']);
    expect(warm.execArgv).toEqual(cold.execArgv);
    expect(warm.cwd).toBe(workDir);
    expect(cold.cwd).toBe(workDir);
    expect(warm.stdinIsPipe).toBe(cold.stdinIsPipe);
    // The same variables, the same values, but for the ones that name the plugin.
    const own = (env: Record<string, string>) => {
      const { WWPLUGIN_PLUGIN_ID: _id, FIXTURE_NAME: _name, ...rest } = env;
      return rest;
    };
    expect(own(warm.env)).toEqual(own(cold.env));
    expect(warm.env.SPARE_MARK).toBe('marked');
    expect(warm.env.FIXTURE_NAME).toBe('warm');
    expect(warm.env.WWPLUGIN_TOKEN).toBeUndefined();

    expect(await t.host.call('warm', 'echo', { value: { a: [1, 'two'] } })).toEqual({ a: [1, 'two'] });
    for (let i = 0; i < 5; i++) t.host.push('warm', 'topic', { i });
    await until(async () => (await t.host.call<number>('warm', 'pushCount', { topic: 'topic' })) === 5, 10_000, 'five pushes');
    expect((await t.host.call<{ payloads: unknown[] }>('warm', 'pushLog', { topic: 'topic' })).payloads).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    await t.host.unload('cold');
  }, 60_000);

  it('SIGKILL: the restart runs in the spare, and the plugin serves again', async () => {
    const spare = await readySpare();
    const before = t.host.get('warm')!.pid!;
    process.kill(before, 'SIGKILL');
    const restarted = await waitFor(events, (e) => e.type === 'restarted' && e.plugin === 'warm', 30_000);
    expect(restarted).toMatchObject({ pid: spare.pid });
    expect(await t.host.call('warm', 'supPid')).toBe(spare.pid);
    expect(isAlive(before)).toBe(false);
    await readySpare(spare.pid);
  }, 60_000);

  it('restart() starts the plugin in the spare', async () => {
    const spare = await readySpare();
    const before = t.host.get('warm')!.pid!;
    const info = await t.host.restart('warm');
    expect(info.pid).toBe(spare.pid);
    expect(isAlive(before)).toBe(false);
    expect(await t.host.call('warm', 'echo', { value: 'after restart' })).toBe('after restart');
    await readySpare(spare.pid);
  }, 60_000);

  it('a spare that dies while waiting is replaced', async () => {
    const spare = await readySpare();
    process.kill(spare.pid, 'SIGKILL');
    const next = await readySpare(spare.pid);
    expect(next.pid).not.toBe(spare.pid);
    expect(isAlive(spare.pid)).toBe(false);
    // And it serves the next start.
    const info = await t.host.load(spec('later'));
    expect(info.pid).toBe(next.pid);
    await t.host.unload('later');
  }, 60_000);

  it('a plugin started from a command never takes a spare', async () => {
    const spare = await readySpare();
    const info = await t.host.load({ ...spec('by-command'), path: undefined, command: process.execPath, args: [spec('x').path!] });
    expect(info.pid).not.toBe(spare.pid);
    expect(t.host.spares()).toEqual([spare]);
    await t.host.unload('by-command');
  }, 60_000);

  it("spare: 'own' keeps a spare that has run the plugin's entry: restarts use it, and it behaves as a cold start", async () => {
    const shared = await readySpare();
    const info = await t.host.load(spec('own-one', 'own'));
    // The first start has no spare of its own yet: it takes the shared one.
    expect(info.pid).toBe(shared.pid);
    const own = await readySpare(undefined, info.id);
    expect(own.plugin).toBe(info.id);
    expect(own.pid).not.toBe(info.pid);

    const before = info.pid!;
    process.kill(before, 'SIGKILL');
    const restarted = await waitFor(events, (e) => e.type === 'restarted' && e.plugin === 'own-one', 30_000);
    expect(restarted).toMatchObject({ pid: own.pid });
    const facts = await t.host.call<Facts>('own-one', 'processFacts');
    expect(facts.pid).toBe(own.pid);
    expect(facts.argv.slice(1)).toEqual(['--flag', 'value']);
    expect(facts.cwd).toBe(workDir);
    expect(facts.env.FIXTURE_NAME).toBe('own-one');
    expect(facts.env.SPARE_MARK).toBe('marked');
    expect(facts.env.WWPLUGIN_TOKEN).toBeUndefined();
    // Its secret came on the control pipe when it was let go: never in its environment block.
    expect(environBlock(own.pid)).not.toMatch(/WWPLUGIN_TOKEN/);
    await t.host.load(spec('own-cold', false));
    const cold = await t.host.call<Facts>('own-cold', 'processFacts');
    const own2 = (env: Record<string, string>) => {
      const { WWPLUGIN_PLUGIN_ID: _id, FIXTURE_NAME: _name, ...rest } = env;
      return rest;
    };
    expect(own2(facts.env)).toEqual(own2(cold.env));
    expect(facts.argv).toEqual(cold.argv);
    expect(facts.execArgv).toEqual(cold.execArgv);
    await t.host.unload('own-cold');
    expect(await t.host.call('own-one', 'echo', { value: 'own' })).toBe('own');

    // restart() uses the next one; stop() and unload() take the plugin's spare with them.
    const next = await readySpare(own.pid, info.id);
    expect((await t.host.restart('own-one')).pid).toBe(next.pid);
    const third = await readySpare(next.pid, info.id);
    await t.host.stop('own-one');
    await until(() => !isAlive(third.pid), 10_000, 'the stopped plugin to lose its spare');
    expect(t.host.spares().filter((s) => s.plugin === info.id)).toEqual([]);
    await t.host.start('own-one');
    const fourth = await readySpare(third.pid, info.id);
    await t.host.unload('own-one');
    await until(() => !isAlive(fourth.pid), 10_000, 'the unloaded plugin to lose its spare');
    expect(t.host.spares().filter((s) => s.plugin !== undefined)).toEqual([]);
  }, 120_000);

  it('a bad spares option fails at bootstrap, naming it', async () => {
    @Module({ imports: [WwPluginModule.forRoot({ spares: -1 })] })
    class BadSpares {}
    const err = await NestFactory.createApplicationContext(BadSpares, { logger: false, abortOnError: false }).then(
      (app) => app.close().then(() => new Error('started')),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostConfigurationError);
    expect((err as Error).message).toBe('WwPluginModule.forRoot: option "spares" must be an integer of 0 or more, got -1.');
  });
});
