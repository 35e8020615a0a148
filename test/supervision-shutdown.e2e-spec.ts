import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginNotRunningError, type PluginEvent } from '@wwplugin/nestjs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ReplaySubject } from 'rxjs';
import { fixture, isAlive, ROOT, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

const HOST_SCRIPT = `${ROOT}dist/test/fixtures/supervision-host/main.js`;
const APP_LIFECYCLE = `${ROOT}dist/test/fixtures/plugin/app-lifecycle.main.js`;

/** PIDs of fixture plugin processes whose parent is this test process. */
function ownPluginProcesses(): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are no children
  }
  return out
    .split('\n')
    .filter((l) => l.includes('fixtures/plugin/main.js'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/**
 * True once the process has exited. A plugin of a killed host is re-parented to PID 1, and until
 * PID 1 reaps it, it lingers as a zombie (state Z): exited, holding no resources, but still
 * answering kill(pid, 0).
 */
function hasExited(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return !isAlive(pid);
  }
}

const shutdownMarker = (dir: string, name: string, pid: number) => join(dir, `${name}-${pid}.shutdown`);

// Graceful shutdown: stop(id) and app.close() let calls in flight finish and the plugin run its
// own Nest shutdown hooks; a plugin that does not stop in time is terminated, then killed.
describe('supervision: graceful shutdown', () => {
  let t: TestHost;
  let dir: string;
  const log: PluginEvent[] = [];
  const events = new ReplaySubject<PluginEvent>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-shutdown-'));
    t = await startHost({ heartbeat: false, shutdownGraceMs: 10_000, restart: { initialBackoffMs: 60_000, maxBackoffMs: 60_000, jitter: 0 } });
    t.host.events().subscribe((e) => {
      log.push(e);
      events.next(e);
    });
    const env = { SUPERVISION_DIR: dir };
    await Promise.all(['grace-stop', 'grace-close', 'stubborn', 'pending'].map((name) => t.host.load(fixture(name, 'supervision', { env }))));
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('stop(id) lets a call in flight finish, runs the plugin’s shutdown hooks, and the process exits', async () => {
    const pid = t.host.get('grace-stop')!.pid!;
    const mark = log.length;
    // The calls go out first on the session, so the plugin holds them when the Shutdown frame
    // arrives. Each answer reaches the host even though the process exits right after the last.
    const slow = Array.from({ length: 20 }, (_, i) => t.host.call('grace-stop', 'supSleep', { ms: 500 + i * 10 }, { timeoutMs: 60_000 }));
    const info = await t.host.stop('grace-stop');
    expect(await Promise.all(slow)).toEqual(Array.from({ length: 20 }, (_, i) => `slept ${500 + i * 10}`));
    expect(info).toMatchObject({ state: 'stopped', pid: undefined, lastExit: { code: 0, signal: null } });
    expect(isAlive(pid)).toBe(false);
    expect(readFileSync(shutdownMarker(dir, 'grace-stop', pid), 'utf8')).toContain('closed');
    const story = log
      .slice(mark)
      .filter((e) => e.plugin === 'grace-stop')
      .map((e) => e.type);
    expect(story).toEqual(['exited', 'stopped']);
    // Stopped on purpose: no restart, and calls say so.
    const err = await t.host.call('grace-stop', 'echo', { value: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginNotRunningError);
  }, 30_000);

  it('a plugin whose own code closes its app runs its shutdown hooks once, though the host then lets go of it', async () => {
    const hooks = join(dir, 'self-close.hooks');
    await t.host.load({ name: 'self-close', path: APP_LIFECYCLE, env: { HOOKS_FILE: hooks, FIXTURE_NAME: 'self-close' }, restart: { maxRestarts: 0 } });
    const pid = t.host.get('self-close')!.pid!;
    expect(await t.host.call('self-close', 'closeApp')).toBe('closing');
    // The session ends with the app; the host ends the process it no longer talks to.
    await until(() => hasExited(pid), 10_000, 'the self-closed plugin to be gone');
    const runs = readFileSync(hooks, 'utf8')
      .split('\n')
      .filter((l) => l === `shutdown ${pid}`);
    expect(runs).toHaveLength(1);
  }, 30_000);

  it('a plugin that does not stop within the grace period is terminated, then killed', async () => {
    const pid = t.host.get('stubborn')!.pid!;
    // A blocked event loop reads neither the Shutdown frame nor SIGTERM's handler.
    const blocked = t.host.call('stubborn', 'supBlock', { ms: 60_000 }, { timeoutMs: 90_000 }).catch((e: unknown) => e);
    await until(() => t.host.get('stubborn')!.inFlight === 1, 5_000, 'the blocking call');
    const info = await t.host.stop('stubborn', 200);
    expect(info).toMatchObject({ state: 'stopped', lastExit: { signal: 'SIGKILL' } });
    expect(isAlive(pid)).toBe(false);
    expect(await blocked).toBeInstanceOf(PluginNotRunningError);
    expect(log.some((e) => e.plugin === 'stubborn' && (e.type === 'crashed' || e.type === 'restarting'))).toBe(false);
  }, 30_000);

  it('app.close() stops every plugin gracefully, cancels pending restarts and leaves no process', async () => {
    const closePid = t.host.get('grace-close')!.pid!;
    // One plugin waits out a long backoff: closing the host must not bring it back.
    const restarting = waitFor(events, (e) => e.type === 'restarting' && e.plugin === 'pending', 20_000);
    process.kill(t.host.get('pending')!.pid!, 'SIGKILL');
    await restarting;
    expect(t.host.get('pending')!.state).toBe('restarting');

    const slow = t.host.call('grace-close', 'supSleep', { ms: 800 }, { timeoutMs: 60_000 });
    const host = t.host;
    await t.close();
    expect(await slow).toBe('slept 800');
    expect(existsSync(shutdownMarker(dir, 'grace-close', closePid))).toBe(true);
    expect(isAlive(closePid)).toBe(false);
    for (const p of host.list()) {
      expect(['stopped', 'failed']).toContain(p.state);
      expect(p.pid).toBeUndefined();
    }
    expect(ownPluginProcesses()).toEqual([]);
  }, 30_000);
});

// The host in a process of its own, so that it can be killed.
describe('supervision: the host process dies or is terminated', () => {
  const hosts: ChildProcess[] = [];
  const pids: number[] = [];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-hostdeath-'));
  });

  afterAll(() => {
    // Only if a test failed: leave nothing behind. PIDs are reused quickly, so a plugin PID is
    // signalled only while it is an orphan (parent PID 1) running the fixture: never another
    // test's process. Host processes are our children: ChildProcess.kill is a no-op once reaped.
    for (const host of hosts) host.kill('SIGKILL');
    for (const pid of pids) {
      try {
        const [, after] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ');
        const orphan = after?.split(' ')[1] === '1';
        if (orphan && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fixtures/plugin/main.js')) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the host script and resolves with the PIDs of its plugins once they are running. */
  async function startHostProcess(names: string[]): Promise<{ host: ChildProcess; pids: number[]; exited: Promise<unknown> }> {
    const host = spawn(process.execPath, [HOST_SCRIPT], {
      env: { ...process.env, SUP_HOST_PLUGINS: names.join(','), SUPERVISION_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hosts.push(host);
    const exited = new Promise((resolve) => host.once('exit', resolve));
    let stderr = '';
    host.stderr!.on('data', (d) => (stderr += d));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: host.stdout! }).on('line', (l) => l.startsWith('{') && resolve(l));
      host.once('exit', (code) => reject(new Error(`host script exited (${code}) before loading its plugins: ${stderr}`)));
    });
    const started = JSON.parse(line) as { pids: number[] };
    pids.push(...started.pids);
    return { host, pids: started.pids, exited };
  }

  it('SIGKILL of the host: every plugin notices and exits on its own (no orphans)', async () => {
    const { host, pids: plugins, exited } = await startHostProcess(['orphan-a', 'orphan-b']);
    expect(plugins).toHaveLength(2);
    for (const pid of plugins) expect(isAlive(pid)).toBe(true);
    host.kill('SIGKILL');
    await exited;
    await until(() => plugins.every(hasExited), 5_000, 'the plugins of a killed host to exit');
  }, 30_000);

  it('SIGTERM of the host (Nest shutdown hooks): plugins stop gracefully and run their own hooks', async () => {
    const { host, pids: plugins, exited } = await startHostProcess(['term-a', 'term-b']);
    host.kill('SIGTERM');
    await exited;
    // The host waited for its plugins' exits before it exited itself.
    for (const pid of plugins) expect(hasExited(pid)).toBe(true);
    expect(existsSync(shutdownMarker(dir, 'term-a', plugins[0]))).toBe(true);
    expect(existsSync(shutdownMarker(dir, 'term-b', plugins[1]))).toBe(true);
  }, 30_000);
});
