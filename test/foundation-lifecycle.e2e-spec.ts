import { afterEach, describe, expect, it } from 'vitest';
import { PluginNotRunningError, UnknownPluginError, type PluginFunctionError } from '@wwplugin/nestjs';
import { APP, fixture, isAlive, startHost, until, type TestHost } from './support/host-harness.js';

describe('foundation: life cycle', () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('start, stop, restart and unload, with list() and get() telling the truth', async () => {
    t = await startHost();
    const { host } = t;
    const loaded = await host.load(fixture('life'));
    expect(loaded).toMatchObject({ name: 'life', state: 'running', version: '1.0.0', restarts: 0 });
    expect(loaded.pid).toBeGreaterThan(0);
    expect(isAlive(loaded.pid)).toBe(true);
    expect(host.get(loaded.id)).toMatchObject({ name: 'life', state: 'running' });
    expect(host.get('life')!.id).toBe(loaded.id);
    expect(await host.call('life', 'whoami')).toMatchObject({ id: loaded.id, name: 'life', pid: loaded.pid });

    const stopped = await host.stop('life');
    expect(stopped.state).toBe('stopped');
    expect(stopped.pid).toBeUndefined();
    expect(isAlive(loaded.pid)).toBe(false);
    const err = await host.call<never>('life', 'whoami').catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(PluginNotRunningError);
    expect(err.message).toBe('Plugin "life" is not running (state: stopped).');

    const started = await host.start('life');
    expect(started.state).toBe('running');
    expect(started.pid).not.toBe(loaded.pid);
    expect(await host.call('life', 'whoami')).toMatchObject({ pid: started.pid });

    const restarted = await host.restart(loaded.id);
    expect(restarted.state).toBe('running');
    expect(restarted.pid).not.toBe(started.pid);
    expect(isAlive(started.pid)).toBe(false);

    await host.unload('life');
    expect(host.get('life')).toBeUndefined();
    expect(host.list()).toEqual([]);
    expect(isAlive(restarted.pid)).toBe(false);
    await expect(host.call('life', 'whoami')).rejects.toBeInstanceOf(UnknownPluginError);
  }, 60_000);

  it('closing the host app leaves no plugin process running', async () => {
    t = await startHost();
    const infos = await Promise.all([t.host.load(APP('echo')), t.host.load(fixture('one')), t.host.load(fixture('two'))]);
    const pids = infos.map((i) => i.pid!);
    expect(pids.every(isAlive)).toBe(true);
    await t.close();
    t = undefined;
    // app.close() resolves only after each plugin exited; nothing should be left to wait for.
    await until(() => pids.every((pid) => !isAlive(pid)), 5_000, 'plugin processes to be gone');
    expect(pids.filter(isAlive)).toEqual([]);
  }, 60_000);

  it('loads the plugins listed in forRoot({ plugins }) at bootstrap', async () => {
    t = await startHost({ plugins: [APP('echo'), fixture('boot')] });
    expect(
      t.host
        .list()
        .map((p) => [p.name, p.state])
        .sort(),
    ).toEqual([
      ['boot', 'running'],
      ['echo', 'running'],
    ]);
    expect(await t.host.call('echo', 'greet', { name: 'boot' })).toBe('Hello, boot');
  }, 60_000);
});
