import 'reflect-metadata';
import { afterEach, describe, expect, it } from 'vitest';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  DuplicatePluginError,
  HostConfigurationError,
  PluginHostService,
  RequiredPluginsError,
  UnknownPluginError,
  WwPluginModule,
  type PluginEvent,
  type WwPluginHostOptions,
} from '@wwplugin/nestjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Internal (not exported by the package): the registry gives the test a plugin's lifecycle to misuse.
import { PluginRegistry } from '../libs/wwplugin/dist/host/plugin.registry.js';
import { CapturingLogger } from './support/capturing-logger.js';
import { childPids } from './support/child-processes.js';
import { FIXTURE_PLUGIN, fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

const MAX_LINE_BYTES = 16 * 1024;

/** Boots a host with a capturing logger (for the log and for lifecycle bugs it reports). */
async function startLoggedHost(options: WwPluginHostOptions, logger = new CapturingLogger()) {
  @Module({ imports: [WwPluginModule.forRoot(options)] })
  class LifecycleHostModule {}
  const app = await NestFactory.createApplicationContext(LifecycleHostModule, { logger });
  return { app, host: app.get(PluginHostService), logger, close: () => app.close() };
}

const illegal = (logger: CapturingLogger) => logger.lines.filter((l) => l.context === 'WwPluginLifecycle');

describe('host lifecycle: process groups', () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const cases: Array<[string, (host: PluginHostService, pid: number) => Promise<unknown>]> = [
    ['SIGKILLed from outside', async (_host, pid) => process.kill(pid, 'SIGKILL')],
    ['stopped by the host', (host) => host.stop('gc')],
    ['crashed (exit code 7)', (host) => host.call('gc', 'lcCrash', { code: 7 }).catch(() => undefined)],
    ['unloaded', (host) => host.unload('gc')],
  ];
  for (const [how, end] of cases) {
    it(`a plugin's grandchild is gone after the plugin is ${how}`, async () => {
      t = await startHost({ heartbeat: false });
      const info = await t.host.load(fixture('gc', 'lifecycle', { restart: { mode: 'never' } }));
      const grandchild = await t.host.call<number>('gc', 'lcSpawnGrandchild');
      expect(isAlive(grandchild)).toBe(true);
      expect(grandchild).not.toBe(info.pid);
      await end(t.host, info.pid!);
      await until(() => !isAlive(info.pid), 10_000, 'the plugin to exit');
      await until(() => !isAlive(grandchild), 10_000, 'the grandchild to be gone');
    }, 30_000);
  }
});

describe('host lifecycle: one name, one entry', () => {
  let t: TestHost | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('load, stop, load of one name: the second load fails and says what to do; start, unload, load work', async () => {
    t = await startHost({ heartbeat: false });
    const { host } = t;
    const first = await host.load(fixture('dup', '', { name: 'dup' }));
    await host.stop('dup');
    const err = await host.load(fixture('dup', '', { name: 'dup' })).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicatePluginError);
    expect(err.message).toBe(
      `A plugin named "dup" is already loaded (id ${first.id}, state: stopped). Use start("dup") or restart("dup") to run it again, or unload("dup") first.`,
    );
    expect(host.list().map((p) => [p.name, p.state])).toEqual([['dup', 'stopped']]);
    // The name is unambiguous: every operation lands on the one entry.
    expect((await host.start('dup')).id).toBe(first.id);
    expect(await host.call('dup', 'whoami')).toMatchObject({ id: first.id });
    await host.unload('dup');
    const again = await host.load(fixture('dup', '', { name: 'dup' }));
    expect(again.id).not.toBe(first.id);
    expect(host.list().map((p) => p.id)).toEqual([again.id]);
  }, 60_000);

  it('a name learnt only at Hello is checked against a stopped entry too', async () => {
    t = await startHost({ heartbeat: false });
    const { host } = t;
    // fixture() gives no spec name: the host learns "hello-dup" from the plugin's Hello.
    const first = await host.load(fixture('hello-dup'));
    await host.stop('hello-dup');
    const err = await host.load(fixture('hello-dup')).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicatePluginError);
    expect(err.message).toContain(`A plugin named "hello-dup" is already loaded (id ${first.id}, state: stopped)`);
    expect(host.list()).toHaveLength(1);
    expect(err.message).not.toContain('refused');
  }, 60_000);

  it('a failed entry holds its name too (checked at Hello)', async () => {
    t = await startHost({ heartbeat: false });
    const { host } = t;
    const first = await host.load(fixture('hello-failed', 'lifecycle', { restart: { mode: 'never' } }));
    const failed = waitFor(host.events(), (e: PluginEvent) => e.type === 'failed' && e.id === first.id);
    await host.call('hello-failed', 'lcCrash', { code: 7 }).catch(() => undefined);
    await failed;
    const err = await host.load(fixture('hello-failed', 'lifecycle')).catch((e) => e);
    expect(err).toBeInstanceOf(DuplicatePluginError);
    expect(err.message).toContain(`(id ${first.id}, state: failed)`);
    expect(host.list().map((p) => [p.id, p.state])).toEqual([[first.id, 'failed']]);
  }, 60_000);

  it('concurrent restart, stop, start and load of one name serialize: one entry, no interleaving', async () => {
    const logger = new CapturingLogger(true);
    const h = await startLoggedHost({ heartbeat: false }, logger);
    try {
      const { host } = h;
      const loaded = await host.load(fixture('busy', '', { name: 'busy' }));
      const story: string[] = [];
      const sub = host.events().subscribe((e) => e.plugin === 'busy' && story.push(e.type));
      const outcomes = await Promise.allSettled([
        host.restart('busy'),
        host.load(fixture('busy', '', { name: 'busy' })),
        host.stop('busy'),
        host.restart(loaded.id),
        host.start('busy'),
        host.restart('busy'),
      ]);
      sub.unsubscribe();
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicatePluginError);
      // Operations ran one at a time in the order asked: restart, stop, restart, start (a no-op), restart.
      const steps = story.filter((s) => s === 'stopped' || s === 'ready');
      expect(steps).toEqual(['stopped', 'ready', 'stopped', 'ready', 'stopped', 'ready']);
      expect(host.list().map((p) => [p.id, p.state])).toEqual([[loaded.id, 'running']]);
      expect(illegal(logger)).toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('an operation queued behind an unload finds the plugin gone', async () => {
    t = await startHost({ heartbeat: false });
    const { host } = t;
    await host.load(fixture('gone', '', { name: 'gone' }));
    const [unloaded, started] = await Promise.allSettled([host.unload('gone'), host.start('gone')]);
    expect(unloaded.status).toBe('fulfilled');
    expect((started as PromiseRejectedResult).reason).toBeInstanceOf(UnknownPluginError);
    expect(host.list()).toEqual([]);
    // The name is free again.
    await expect(host.load(fixture('gone', '', { name: 'gone' }))).resolves.toMatchObject({ state: 'running' });
  }, 60_000);
});

describe('host lifecycle: forRoot plugins', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  // The marker is written by a preload, before the plugin's imports: a process counts as soon as it runs.
  const MARK = "import { writeFileSync } from 'node:fs'; writeFileSync(process.env.BARRIER_DIR + '/' + process.env.FIXTURE_NAME + '-' + process.pid, '');";
  const barrier = (name: string, count: number, extra: object = {}) => {
    const spec = fixture(name, 'boot-barrier', { name, env: { BARRIER_DIR: dir, BARRIER_COUNT: String(count) }, ...extra });
    return { ...spec, path: undefined, command: process.execPath, args: ['--import', `data:text/javascript,${encodeURIComponent(MARK)}`, spec.path!] };
  };

  it('start in parallel: four plugins that each wait for all four to be spawned all come up', async () => {
    dir = mkdtempSync(join(tmpdir(), 'barrier-'));
    const h = await startLoggedHost({ heartbeat: false, plugins: ['a', 'b', 'c', 'd'].map((n) => barrier(n, 4)) });
    try {
      expect(
        h.host
          .list()
          .map((p) => [p.name, p.state])
          .sort(),
      ).toEqual([
        ['a', 'running'],
        ['b', 'running'],
        ['c', 'running'],
        ['d', 'running'],
      ]);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('with startConcurrency 2, at most two start at once: two of three wait for a third that never comes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'barrier-'));
    // Taken in order: a and b start first and can only time out; c, started when one of them has failed, has all the time it needs.
    const plugins = [barrier('a', 3, { startTimeoutMs: 6_000 }), barrier('b', 3, { startTimeoutMs: 6_000 }), barrier('c', 3)];
    const h = await startLoggedHost({ heartbeat: false, startConcurrency: 2, plugins });
    try {
      const states = h.host.list().map((p) => [p.name, p.state]);
      // The first two time out (non-required: left failed, listed); the third finds their markers.
      expect(states.sort()).toEqual([
        ['a', 'failed'],
        ['b', 'failed'],
        ['c', 'running'],
      ]);
      const errors = h.logger.lines.filter((l) => l.level === 'error' && l.context === 'WwPluginHost').map((l) => l.message);
      expect(errors).toHaveLength(2);
      expect(errors.every((m) => m.includes('could not start: Plugin "') && m.includes('did not complete its handshake within 6000 ms'))).toBe(true);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('a startConcurrency that is not a positive integer is a HostConfigurationError at bootstrap', async () => {
    dir = mkdtempSync(join(tmpdir(), 'barrier-'));
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const err = await startLoggedHost({ heartbeat: false, startConcurrency: bad }).catch((e) => e);
      expect(err).toBeInstanceOf(HostConfigurationError);
      expect(err.message).toBe(`startConcurrency must be a positive integer, got ${String(bad)}.`);
    }
  });

  it('bootstrap fails only for required plugins, listing each one that could not start, and leaves no process', async () => {
    dir = mkdtempSync(join(tmpdir(), 'barrier-'));
    const before = childPids();
    const err = await startLoggedHost({
      heartbeat: false,
      plugins: [
        fixture('fine', '', { name: 'fine' }),
        { path: join(dir, 'missing.js'), name: 'optional-missing' },
        { path: join(dir, 'missing.js'), name: 'needed-missing', required: true },
        fixture('needed-dies', 'die-at-boot', { name: 'needed-dies', required: true }),
      ],
    }).catch((e) => e);
    expect(err).toBeInstanceOf(RequiredPluginsError);
    expect(err.message).toMatch(/^2 required plugin\(s\) could not start:\n/);
    expect(err.message).toContain(`- needed-missing: Plugin entry "${join(dir, 'missing.js')}" does not exist.`);
    expect(err.message).toContain('- needed-dies: Plugin "needed-dies" exited before it became callable');
    expect(err.message).not.toContain('optional-missing');
    expect(err.details.failures.map((f: { plugin: string }) => f.plugin).sort()).toEqual(['needed-dies', 'needed-missing']);
    await until(() => childPids().filter((p) => !before.includes(p)).length === 0, 10_000, 'no plugin process left');
  }, 60_000);

  it('a non-required plugin that cannot start is logged and listed as failed; the others run; start() tries it again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'barrier-'));
    const entry = join(dir, 'opt.js');
    const opt = { path: entry, name: 'opt', env: { FIXTURE_NAME: 'opt' } };
    const h = await startLoggedHost({ heartbeat: false, plugins: [fixture('ok', '', { name: 'ok' }), opt] });
    try {
      expect(
        h.host
          .list()
          .map((p) => [p.name, p.state])
          .sort(),
      ).toEqual([
        ['ok', 'running'],
        ['opt', 'failed'],
      ]);
      expect(
        h.logger.lines.some((l) => l.level === 'error' && l.message.startsWith(`Plugin "opt" could not start: Plugin entry "${entry}" does not exist.`)),
      ).toBe(true);
      // Once its entry exists, the failed plugin can be started by name.
      writeFileSync(entry, `import ${JSON.stringify(FIXTURE_PLUGIN)};\n`);
      expect(await h.host.start('opt')).toMatchObject({ name: 'opt', state: 'running' });
      expect(await h.host.call('opt', 'echo', { value: 'up' })).toBe('up');
    } finally {
      await h.close();
    }
  }, 60_000);
});

describe('host lifecycle: output lines', () => {
  it('a 77,823-character line is logged in pieces of at most 16 KiB, nothing lost', async () => {
    const h = await startLoggedHost({ heartbeat: false });
    try {
      await h.host.load(fixture('long', 'lifecycle'));
      await h.host.call('long', 'lcLongLine', { chars: 77_823, fill: 'Q' });
      await h.host.call('long', 'lcLongLine', { chars: 3, fill: 'E' });
      const fromLong = () => h.logger.lines.filter((l) => l.context === 'Plugin:long').map((l) => l.message);
      await until(() => fromLong().includes('EEE'), 10_000, 'the line after the long one');
      const pieces = fromLong().filter((m) => m.startsWith('Q'));
      expect(pieces.join('')).toBe('Q'.repeat(77_823));
      expect(Math.max(...fromLong().map((m) => Buffer.byteLength(m)))).toBeLessThanOrEqual(MAX_LINE_BYTES);
    } finally {
      await h.close();
    }
  }, 30_000);
});

describe('host lifecycle: an illegal move', () => {
  it('is refused, logged as a bug under WwPluginLifecycle, and the host keeps serving', async () => {
    const h = await startLoggedHost({ heartbeat: false });
    try {
      await h.host.load(fixture('strict', '', { name: 'strict' }));
      const plugin = h.app.get(PluginRegistry).resolve('strict');
      // running -> starting is not in the table.
      expect(plugin.lifecycle.moveTo('starting')).toBe(false);
      expect(h.host.get('strict')!.state).toBe('running');
      const bugs = illegal(h.logger);
      expect(bugs.map((l) => [l.level, l.message])).toEqual([
        [
          'error',
          'Illegal lifecycle transition of plugin "strict": running -> starting (from running it may go to: stopping, unresponsive, restarting, stopped, failed, disconnected). This is a bug in the host.',
        ],
      ]);
      expect(await h.host.call('strict', 'echo', { value: 1 })).toBe(1);
    } finally {
      await h.close();
    }
  }, 30_000);
});
