// What the spares tests share: waiting for a ready spare, and the echo app bundled by the repository's script.
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import type { PluginHostService, SpareInfo } from '@wwplugin/nestjs';
import { APP, ROOT, isAlive, until, type TestHost } from './host-harness.js';

export interface SpareWait {
  /** Plugin id whose own spare is wanted; absent: the host's shared spare (not a prewarmed one). */
  plugin?: string;
  /** A spare that must not be the one found (the one just used). */
  not?: number;
  /** Collects the pid of every spare seen meanwhile (the test checks they are gone at the end). */
  seen?: Set<number>;
  /** Also wait until it is the only spare of its kind (no other warming up beside it). */
  alone?: boolean;
}

/** The ready spare `wait` describes, once there is one (30 s at most). */
export async function readySpare(host: PluginHostService, wait: SpareWait = {}): Promise<SpareInfo> {
  let found: SpareInfo | undefined;
  await until(
    () => {
      const all = host.spares();
      for (const s of all) wait.seen?.add(s.pid);
      const kind = all.filter((s) => s.plugin === wait.plugin && !s.prewarmed);
      found = kind.find((s) => s.ready && s.pid !== wait.not);
      return !!found && (!wait.alone || kind.length === 1);
    },
    30_000,
    wait.plugin ? `a ready spare of ${wait.plugin}` : 'a ready shared spare',
  );
  return found!;
}

/** Bundles the echo app into `out` (a start file and parts beside it) with scripts/bundle-plugin.mjs. */
export async function bundleEcho(out: string): Promise<void> {
  const { bundlePlugin } = (await import(`${ROOT}scripts/bundle-plugin.mjs`)) as {
    bundlePlugin(entry: string, out: string): Promise<{ ok: boolean; reason?: string }>;
  };
  expect(await bundlePlugin(APP('echo'), out)).toMatchObject({ ok: true });
}

/** Closes the host, then checks nothing outlives it: no spare listed, and no plugin or spare process (`pids` too) alive; removes `dir`. */
export async function closeLeavingNothing(t: TestHost, pids: Iterable<number>, dir: string): Promise<void> {
  const all = [...pids, ...t.host.list().flatMap((p) => (p.pid ? [p.pid] : []))];
  await t.close();
  expect(t.host.spares()).toEqual([]);
  for (const pid of all) expect(isAlive(pid)).toBe(false);
  rmSync(dir, { recursive: true, force: true });
}
