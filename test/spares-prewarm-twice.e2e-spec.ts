import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginSpec } from '@wwplugin/nestjs';
import { fixture, isAlive, startHost, type TestHost } from './support/host-harness.js';

// host.prewarm(spec) keeps one spare per spec: asking again, at once or later, shares that process.
describe('prewarm() twice for one spec', () => {
  let t: TestHost;
  const pids = new Set<number>();
  const spec = (name: string): PluginSpec => fixture(name, 'spares', { env: { SPARE_MARK: 'twice' } });
  const prewarmedPids = () => {
    const found = t.host.spares().filter((s) => s.prewarmed);
    for (const s of found) pids.add(s.pid);
    return found.map((s) => s.pid);
  };

  beforeAll(async () => {
    // No shared spares: only the prewarmed ones are listed.
    t = await startHost({ heartbeat: false });
  });

  afterAll(async () => {
    await t?.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 30_000);

  it('two calls at once start one process, and a later call finds it ready', async () => {
    const [first, second] = await Promise.all([t.host.prewarm(spec('twice')), t.host.prewarm(spec('twice'))]);
    expect([first, second]).toEqual([true, true]);
    const [pid, ...others] = prewarmedPids();
    expect(others).toEqual([]);
    expect(t.host.spares().find((s) => s.pid === pid)).toMatchObject({ ready: true, prewarmed: fixture('x').path });

    expect(await t.host.prewarm(spec('twice'))).toBe(true);
    expect(prewarmedPids()).toEqual([pid]);

    // The load() runs in that one process; the next prewarm() of the spec starts another.
    const info = await t.host.load(spec('twice'));
    expect(info.pid).toBe(pid);
    expect(prewarmedPids()).toEqual([]);
    expect(await t.host.prewarm(spec('twice'))).toBe(true);
    const [next, ...more] = prewarmedPids();
    expect(more).toEqual([]);
    expect(next).not.toBe(pid);
    expect(isAlive(pid)).toBe(true);
    await t.host.unload('twice');
  }, 120_000);
});
