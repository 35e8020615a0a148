import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginFunctionError } from '@wwplugin/nestjs';
import { firstValueFrom, toArray } from 'rxjs';
import { ROOT, fixture, startHost, type TestHost } from './support/host-harness.js';

const DIRECT_GLOBAL = `${ROOT}dist/test/fixtures/plugin/direct-global.main.js`;

type Probe = { marks?: string[]; [k: string]: unknown };

async function rejection(p: Promise<unknown>): Promise<PluginFunctionError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginFunctionError);
  return err as PluginFunctionError;
}

// A plugin function with no guard, interceptor or decorated parameter is called directly instead
// of through Nest's pipeline (a shorter path for every call): its answers, errors and exception
// filters must be those of the pipeline, and any enhancer, its own or global, still runs.
describe('nest: functions called without Nest pipeline', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost();
    await t.host.load(fixture('direct', 'nest-direct'));
    await t.host.load({ path: DIRECT_GLOBAL, name: 'direct-global', env: { FIXTURE_NAME: 'direct-global' } });
  });
  afterAll(() => t?.close());

  it('a plain function gets its data and its call context', async () => {
    expect(await t.host.call('direct', 'direct.sync', { n: 1 })).toEqual({ n: 1, caller: 'host', fn: 'direct.sync' });
    expect(await t.host.call('direct', 'direct.async', { n: 2 })).toEqual({ n: 2 });
  });

  it('an error thrown or rejected without a filter reaches the caller with its class name', async () => {
    for (const fn of ['direct.sync', 'direct.async']) {
      const err = await rejection(t.host.call('direct', fn, { fail: true }));
      expect(err.message).toBe('boiled dry');
      expect(err.remoteName).toBe('KettleError');
    }
  });

  it('its exception filter maps an error thrown, rejected or sent through an Observable', async () => {
    for (const fn of ['direct.filtered', 'direct.filteredAsync', 'direct.lastValue']) {
      const err = await rejection(t.host.call('direct', fn, { fail: true }));
      expect(err.message).toBe('filtered: boiled dry');
      expect(err.remoteCode).toBe('E_KETTLE');
      expect(err.remoteName).toBe('RpcException');
    }
    expect(await t.host.call('direct', 'direct.filtered', { n: 3 })).toEqual({ n: 3 });
    expect(await t.host.call('direct', 'direct.lastValue', {})).toBe(2);
  });

  it('what a filter returns is the result', async () => {
    expect(await t.host.call('direct', 'direct.answered', { fail: true })).toBe('answered: boiled dry');
  });

  it('a streaming function: its values, then the error its filter maps', async () => {
    expect(await firstValueFrom(t.host.stream('direct', 'direct.stream', {}).pipe(toArray()))).toEqual([1, 2]);
    const seen: unknown[] = [];
    const err = await new Promise<unknown>((resolve) =>
      t.host.stream('direct', 'direct.stream', { fail: true }).subscribe({ next: (v) => seen.push(v), error: resolve, complete: () => resolve(undefined) }),
    );
    expect(seen).toEqual([1, 2]);
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect((err as PluginFunctionError).remoteCode).toBe('E_KETTLE');
  });

  it('a guard of its own still runs, and still refuses', async () => {
    expect(await t.host.call<Probe>('direct', 'direct.guarded', { n: 1 })).toEqual({ n: 1, marks: ['guard:di'] });
    const err = await rejection(t.host.call('direct', 'direct.guarded', { deny: true }));
    expect(err.remoteName).toBe('ForbiddenException');
    expect(err.status).toBe(403);
  });

  it('an interceptor of its own still runs', async () => {
    expect(await t.host.call<Probe>('direct', 'direct.intercepted', { n: 1 })).toEqual({ n: 1, marks: ['interceptor:di'] });
  });

  it('a pipe on a decorated parameter still runs', async () => {
    expect(await t.host.call<Probe>('direct', 'direct.piped', { n: 1 })).toEqual({ n: 1, marks: ['pipe:di'] });
  });

  it('global guards, interceptors and filters run on a function with none of its own', async () => {
    expect(await t.host.call<Probe>('direct-global', 'direct.sync', { n: 1 })).toEqual({
      n: 1,
      marks: ['guard:di', 'interceptor:di'],
      caller: 'host',
      fn: 'direct.sync',
    });
    const refused = await rejection(t.host.call('direct-global', 'direct.sync', { deny: true }));
    expect(refused.remoteName).toBe('ForbiddenException');
    const filtered = await rejection(t.host.call('direct-global', 'direct.sync', { fail: true }));
    expect(filtered.remoteCode).toBe('E_KETTLE');
    expect(filtered.message).toBe('filtered: boiled dry');
  });
});
