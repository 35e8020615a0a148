import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpareInfo } from '@wwplugin/nestjs';
import { fixture, startHost, until, type TestHost } from './support/host-harness.js';
import { bundleEcho, closeLeavingNothing } from './support/spares.js';

type Facts = { pid: number; argv: string[]; execArgv: string[]; cwd: string; env: Record<string, string> };
/** The environment block a same-user process reads in /proc: a secret must never be in it. */
const environBlock = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'latin1');

// host.prewarm(spec): a spare for the next load() of a plugin not loaded yet, its entry imported
// (what a bundle's start is made of); load() of exactly that spec runs in it.
describe('prewarm(): a spare for the next load() of a spec', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'wwplugin-prewarm-')));
  const bundle = join(dir, 'echo', 'main.mjs');
  let t: TestHost;
  const pids = new Set<number>();
  const prewarmedOf = (entry: string): SpareInfo | undefined => {
    const found = t.host.spares().find((s) => s.prewarmed === entry);
    if (found) pids.add(found.pid);
    return found;
  };
  const spec = (name: string, mark = 'one') => fixture(name, 'spares', { cwd: dir, args: ['--flag', 'value'], env: { SPARE_MARK: mark } });

  beforeAll(async () => {
    await bundleEcho(bundle);
    // No shared spares: a prewarmed spare needs none.
    t = await startHost({ heartbeat: false });
  }, 60_000);

  afterAll(() => closeLeavingNothing(t, pids, dir), 30_000);

  it('load() of a prewarmed bundle runs in its spare, which is then gone from the list', async () => {
    expect(await t.host.prewarm(bundle)).toBe(true);
    const spare = prewarmedOf(bundle)!;
    expect(spare).toMatchObject({ ready: true, flags: [] });
    expect(spare.plugin).toBeUndefined();
    const info = await t.host.load(bundle);
    expect(info.pid).toBe(spare.pid);
    expect(await t.host.call('echo', 'greet', { name: 'prewarmed' })).toBe('Hello, prewarmed');
    expect(prewarmedOf(bundle)).toBeUndefined();
    await t.host.unload('echo');
  }, 120_000);

  it('the plugin gets its id and secret when it is loaded (the secret never in its environment block), and is what a cold start makes', async () => {
    expect(await t.host.prewarm(spec('warmed'))).toBe(true);
    const spare = prewarmedOf(fixture('x').path!)!;
    // Another environment is another spec: it does not take the spare.
    const other = await t.host.load(spec('other', 'two'));
    expect(other.pid).not.toBe(spare.pid);
    expect(prewarmedOf(fixture('x').path!)?.pid).toBe(spare.pid);
    // FIXTURE_NAME differs too: prewarm the spec that is loaded next.
    await t.host.unload('other');
    const info = await t.host.load(spec('warmed'));
    expect(info.pid).toBe(spare.pid);
    const warm = await t.host.call<Facts>('warmed', 'processFacts');
    expect(warm.env.WWPLUGIN_PLUGIN_ID).toBe(info.id);
    expect(warm.env.WWPLUGIN_TOKEN).toBeUndefined();
    expect(environBlock(spare.pid)).not.toMatch(/WWPLUGIN_TOKEN/);
    await t.host.load({ ...spec('cold'), spare: false });
    const cold = await t.host.call<Facts>('cold', 'processFacts');
    const own = (env: Record<string, string>) => {
      const { WWPLUGIN_PLUGIN_ID: _id, FIXTURE_NAME: _name, ...rest } = env;
      return rest;
    };
    expect(own(warm.env)).toEqual(own(cold.env));
    expect(warm.argv).toEqual(cold.argv);
    expect(warm.execArgv).toEqual(cold.execArgv);
    expect(warm.cwd).toBe(cold.cwd);
    await t.host.unload('cold');
    await t.host.unload('warmed');
  }, 120_000);

  it('a spec that cannot use a spare is not prewarmed; a spare still waiting goes with the host', async () => {
    expect(await t.host.prewarm({ command: process.execPath, args: [fixture('x').path!] })).toBe(false);
    expect(await t.host.prewarm({ ...spec('never'), spare: false })).toBe(false);
    expect(await t.host.prewarm(spec('left'))).toBe(true);
    // Asked twice, one spare.
    expect(await t.host.prewarm(spec('left'))).toBe(true);
    expect(t.host.spares().filter((s) => s.prewarmed)).toHaveLength(1);
    await until(() => !!prewarmedOf(fixture('x').path!), 1_000, 'the prewarmed spare listed');
  }, 60_000);
});
