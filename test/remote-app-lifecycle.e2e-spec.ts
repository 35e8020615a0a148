// A remote plugin's own lifecycle around bootstrapPlugin: its probes answer while its app's startup
// hooks run (its orchestrator must see it live before it has joined the host), and an app its own
// code closed runs its shutdown hooks once when SIGTERM comes after. Real processes, mutual TLS on loopback.
import { createCertificateAuthority, type PluginEvent } from '@wwplugin/nestjs';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplaySubject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, ROOT, startHost, until, waitFor, type TestHost } from './support/host-harness.js';
import { freePort, probeStatus } from './support/ports.js';

const APP_LIFECYCLE = `${ROOT}dist/test/fixtures/plugin/app-lifecycle.main.js`;

describe('a remote plugin: probes during startup hooks, shutdown hooks once', () => {
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-remote-lifecycle-'));
  const children: ChildProcess[] = [];

  /** Starts the plugin as its orchestrator would, as `replica`, with `extra` in its environment. */
  function start(replica: string, extra: Record<string, string>) {
    const child = spawn(process.execPath, [APP_LIFECYCLE], { env: { ...env, ...extra, WWPLUGIN_REPLICA: replica }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.resume();
    children.push(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, exited };
  }
  const connected = (replica: string) => waitFor(events, (e) => e.type === 'connected' && e.plugin === 'life' && e.replica === replica, 20_000);
  const hookRuns = (file: string, pid: number) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []).filter((l) => l === `shutdown ${pid}`);

  beforeAll(async () => {
    const ca = await createCertificateAuthority({ name: 'test CA' });
    const server = await ca.issue({ name: 'wwplugin-host', usage: 'server', hosts: ['127.0.0.1'] });
    const port = await freePort();
    t = await startHost({
      heartbeat: false,
      remote: { listen: `127.0.0.1:${port}`, tls: { ca: ca.cert, ...server }, plugins: [{ name: 'life', maxReplicas: 2 }] },
    });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
    const client = await ca.issue({ name: 'life', usage: 'client' });
    env = {
      PATH: process.env.PATH ?? '',
      FIXTURE_NAME: 'life',
      WWPLUGIN_HOST: `127.0.0.1:${port}`,
      WWPLUGIN_TLS_CA: ca.cert,
      WWPLUGIN_TLS_CERT: client.cert,
      WWPLUGIN_TLS_KEY: client.key,
    };
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await until(() => children.every((c) => !isAlive(c.pid)), 10_000, 'every plugin process gone');
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('answers /livez while its startup hooks run, and /readyz only once it has joined the host', async () => {
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    const port = await freePort();
    const { child, exited } = start('held', { HOLD_FILE: hold, WWPLUGIN_HEALTH_PORT: String(port) });
    // The startup hook waits for the file to go: the process is up, its app not created yet.
    await until(async () => (await probeStatus(port, '/livez').catch(() => 0)) === 200, 20_000, '/livez during the startup hook');
    expect(await probeStatus(port, '/readyz')).toBe(503);
    expect(t.host.list().filter((p) => p.remote?.replica === 'held')).toEqual([]);
    const joined = connected('held');
    unlinkSync(hold);
    await joined;
    await until(async () => (await probeStatus(port, '/readyz')) === 200, 10_000, '/readyz once connected');
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('an app its own code closed runs its shutdown hooks once, SIGTERM after it included', async () => {
    const hooks = join(dir, 'hooks');
    const { child, exited } = start('closer', { HOOKS_FILE: hooks });
    await connected('closer');
    expect(await t.host.call('life', 'closeApp')).toBe('closing');
    await until(() => hookRuns(hooks, child.pid!).length > 0, 10_000, 'the shutdown hooks');
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(hookRuns(hooks, child.pid!)).toHaveLength(1);
  }, 60_000);
});
