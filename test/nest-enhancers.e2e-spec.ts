import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginFunctionError } from '@wwplugin/nestjs';
import { FIXTURE_PLUGIN, ROOT, fixture, startHost, waitFor, type TestHost } from './support/host-harness.js';

const GLOBAL_PLUGIN = `${ROOT}dist/test/fixtures/plugin/global-enhancers.main.js`;

type Probe = { marks?: string[]; n?: number };

async function rejection(p: Promise<unknown>): Promise<PluginFunctionError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginFunctionError);
  return err as PluginFunctionError;
}

// Guards, interceptors, pipes and exception filters on every kind of plugin function: given by
// class (Nest creates them, injecting a provider), by instance, or globally in bootstrapPlugin.
describe('nest: enhancers on every kind of plugin function', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost();
    await t.host.load(fixture('enh', 'nest'));
    await t.host.load({ path: GLOBAL_PLUGIN, name: 'globalclass', env: { FIXTURE_NAME: 'globalclass', FIXTURE_GLOBAL: 'class' } });
    await t.host.load({ path: GLOBAL_PLUGIN, name: 'globalinstance', env: { FIXTURE_NAME: 'globalinstance', FIXTURE_GLOBAL: 'instance' } });
    for (const [name, kind] of [
      ['appclass', 'class'],
      ['appinstance', 'instance'],
    ]) {
      await t.host.load({ path: GLOBAL_PLUGIN, name, env: { FIXTURE_NAME: name, FIXTURE_GLOBAL: kind, FIXTURE_APP_INTERCEPTOR: '1' } });
    }
  });
  afterAll(() => t?.close());

  // [plugin, function, stamp the enhancers carry]
  const functions: Array<[string, string, string]> = [
    ['enh', 'provider.class', 'di'],
    ['enh', 'provider.instance', 'instance'],
    ['enh', 'controller.class', 'di'],
    ['enh', 'controller.instance', 'instance'],
    ['enh', 'pattern.class', 'di'],
    ['enh', 'pattern.instance', 'instance'],
    ['globalclass', 'provider.global', 'di'],
    ['globalclass', 'controller.global', 'di'],
    ['globalclass', 'pattern.global', 'di'],
    ['globalinstance', 'provider.global', 'instance'],
    ['globalinstance', 'controller.global', 'instance'],
    ['globalinstance', 'pattern.global', 'instance'],
  ];

  it.each(functions)('%s %s: guard, interceptor and pipe run in order, each with its dependency', async (plugin, fn, stamp) => {
    const out = await t.host.call<Probe>(plugin, fn, { n: 1 });
    expect(out).toEqual({ n: 1, marks: [`guard:${stamp}`, `interceptor:${stamp}`, `pipe:${stamp}`] });
  });

  // bootstrapPlugin's classes wrap the app's module (their APP_* providers come first); its instances
  // come after the app's own global enhancers, where app.useGlobal*() put them.
  it.each([
    ['appclass', ['guard:di', 'interceptor:di', 'interceptor:app', 'pipe:di']],
    ['appinstance', ['guard:instance', 'interceptor:app', 'interceptor:instance', 'pipe:instance']],
  ])("%s: bootstrapPlugin's global enhancers and the app's own run in Nest's order", async (plugin, marks) => {
    expect(await t.host.call<Probe>(plugin, 'provider.global', { n: 1 })).toEqual({ n: 1, marks });
  });

  it.each(functions)('%s %s: the guard refuses with ForbiddenException (status 403)', async (plugin, fn) => {
    const err = await rejection(t.host.call(plugin, fn, { deny: true }));
    expect(err.remoteName).toBe('ForbiddenException');
    expect(err.status).toBe(403);
    expect(err.message).toBe('Forbidden resource');
  });

  it.each(functions)('%s %s: the exception filter maps the handler error', async (plugin, fn, stamp) => {
    const err = await rejection(t.host.call(plugin, fn, { teapot: true }));
    expect(err.message).toBe('filtered: short and stout');
    expect(err.remoteCode).toBe(`E_TEAPOT_${stamp.toUpperCase()}`);
    expect(err.remoteName).toBe('RpcException');
  });

  // [plugin, topic, kind the handler reports, stamp]
  const events: Array<[string, string, string, string]> = [
    ['enh', 'event.class', 'class', 'di'],
    ['enh', 'event.instance', 'instance', 'instance'],
    ['globalclass', 'event.global', 'global', 'di'],
    ['globalinstance', 'event.global', 'global', 'instance'],
  ];

  it.each(events)('%s @EventPattern(%s): the guard drops refused pushes; interceptor and pipe run', async (plugin, topic, kind, stamp) => {
    const seen = waitFor(t.host.messages<{ kind: string; data: Probe }>('probe.seen', plugin), (m) => m.payload.kind === kind);
    // Pushes arrive in order: the refused one would be seen first if the guard let it through.
    t.host.push(plugin, topic, { deny: true, n: 1 });
    t.host.push(plugin, topic, { n: 2 });
    const msg = await seen;
    expect(msg.payload.data).toEqual({ n: 2, marks: [`guard:${stamp}`, `interceptor:${stamp}`, `pipe:${stamp}`] });
  });
});

// The developer guide's "Nest features" example, verbatim in the fixture (mode nest-guide).
describe('nest: the developer guide example', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost();
    await t.host.load(fixture('admin', 'nest-guide'));
    await t.host.load(fixture('other', 'messaging'));
  });
  afterAll(() => t?.close());

  it('HostOnlyGuard lets the host call purge', async () => {
    await expect(t.host.call('admin', 'purge', { older: '2024-01-01' })).resolves.toBe('purged before 2024-01-01 for host');
  });

  it('HostOnlyGuard refuses another plugin, with the code of its RpcException', async () => {
    const out = await t.host.call<{ error: { name: string; message: string; details: { remoteCode: string } } }>('other', 'callPlugin', {
      target: 'admin',
      fn: 'purge',
      args: { older: 'x' },
    });
    expect(out.error).toMatchObject({ name: 'PluginFunctionError', message: 'host only', details: { remoteCode: 'E_HOST_ONLY' } });
  });

  it('@MessagePattern admin.sum is a plugin function', async () => {
    await expect(t.host.call('admin', 'admin.sum', { values: [1, 2, 3] })).resolves.toBe(6);
  });

  it('lists purge and admin.sum among its functions', () => {
    expect(t.host.get('admin')!.functions).toEqual(expect.arrayContaining(['purge', 'admin.sum']));
  });
});

export { FIXTURE_PLUGIN };
