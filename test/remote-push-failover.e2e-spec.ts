// A remote replica that drops off (killed, its pod gone) may be back in a second or never: pushes
// meant for any one instance that waited on it go to a replica that serves, in order, and only when
// none serves do they wait for it to come back. Remote plugins on loopback, real processes, mutual TLS.
import { createCertificateAuthority, type PluginEvent, type PluginInfo } from '@wwplugin/nestjs';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplaySubject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PLUGIN, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';
import { freePort } from './support/ports.js';

/** Small enough that a burst outgrows the send window (half of it) and waits in the host, large enough to drop nothing. */
const BUFFER = 200;
const BURST = 150;

describe("remote replicas: pushes to: 'one' when a replica drops off", () => {
  let t: TestHost;
  let events: ReplaySubject<PluginEvent>;
  /** The host's address and CA, and each name's own client certificate. */
  let base: Record<string, string>;
  const certs: Record<string, Record<string, string>> = {};
  /** The connected events already waited for (the replay holds every one). */
  const seen = new Set<PluginEvent>();
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-remote-failover-'));
  const children: ChildProcess[] = [];

  /** Starts a replica of `name` as its orchestrator would; resolves once the host says it is connected. */
  async function replica(name: string, replicaName: string): Promise<ChildProcess> {
    const connected = waitFor(events, (e) => e.type === 'connected' && e.plugin === name && e.replica === replicaName && !seen.has(e), 20_000);
    const child = spawn(process.execPath, [FIXTURE_PLUGIN], {
      env: {
        ...base,
        ...certs[name],
        FIXTURE_NAME: name,
        FIXTURE_MODE: 'push-failover',
        FAILOVER_LOG: join(dir, `${name}.log`),
        WWPLUGIN_REPLICA: replicaName,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.resume();
    children.push(child);
    seen.add(await connected);
    return child;
  }

  const instances = (name: string): PluginInfo[] => t.host.list().filter((p) => p.name === name);
  /** What each process recorded, in the order it handled it: [n, seq] per pid. */
  const handledBy = (name: string, pid: number): Array<[number, number]> => {
    const path = join(dir, `${name}.log`);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ').map(Number))
      .filter(([p]) => p === pid)
      .map(([, seq, n]) => [n, seq]);
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  /** Pushes 1..BURST to one instance of `name`; the first freezes the process `freezeIn` for good. */
  const burst = (name: string, freezeIn: number) => range(1, BURST).map((n) => t.host.push(name, 'failover', n === 1 ? { n, freezeIn } : { n }, { to: 'one' }));
  const killed = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  beforeAll(async () => {
    const ca = await createCertificateAuthority({ name: 'test CA' });
    const server = await ca.issue({ name: 'wwplugin-host', usage: 'server', hosts: ['127.0.0.1'] });
    const port = await freePort();
    const plugins = ['far', 'lone'].map((name) => ({ name, maxReplicas: 2 }));
    t = await startHost({ heartbeat: false, pushBufferSize: BUFFER, remote: { listen: `127.0.0.1:${port}`, tls: { ca: ca.cert, ...server }, plugins } });
    events = new ReplaySubject<PluginEvent>();
    t.host.events().subscribe(events);
    const client = async (name: string) => ca.issue({ name, usage: 'client' });
    const [far, lone] = await Promise.all([client('far'), client('lone')]);
    base = { PATH: process.env.PATH ?? '', WWPLUGIN_HOST: `127.0.0.1:${port}`, WWPLUGIN_TLS_CA: ca.cert };
    certs.far = { WWPLUGIN_TLS_CERT: far.cert, WWPLUGIN_TLS_KEY: far.key };
    certs.lone = { WWPLUGIN_TLS_CERT: lone.cert, WWPLUGIN_TLS_KEY: lone.key };
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map(killed));
    for (const c of children) expect(isAlive(c.pid)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('the pushes waiting on a replica that is killed go to the replica that serves, in order, none lost', async () => {
    const lost: PluginEvent[] = [];
    events.subscribe((e) => e.type === 'push-lost' && e.plugin === 'far' && lost.push(e));
    const a = await replica('far', 'a');
    // Only a serves: the whole burst goes to it; it freezes on the first, so the rest waits in the host.
    expect(burst('far', a.pid!)).toEqual(Array(BURST).fill(1));
    await until(() => handledBy('far', a.pid!).length === 1, 10_000, 'replica a frozen on push 1');
    const b = await replica('far', 'b');
    const gone = waitFor(events, (e) => e.type === 'disconnected' && e.plugin === 'far', 10_000);
    await killed(a);
    await gone;
    await until(() => handledBy('far', b.pid!).length >= BURST, 20_000, 'the burst handled by replica b');

    expect(handledBy('far', a.pid!)).toEqual([[1, 1]]);
    // Every push, in order; push 1 again too (a handled it, never acknowledged it: at-least-once).
    expect(handledBy('far', b.pid!)).toEqual(range(1, BURST).map((n) => [n, n]));
    await until(() => instances('far').every((p) => p.pushesUnacked === 0), 10_000, 'every push acknowledged');
    const byReplica = Object.fromEntries(instances('far').map((p) => [p.remote?.replica, [p.state, p.pushesQueued, p.pushesLost, p.pushesDropped]]));
    expect(byReplica).toEqual({ a: ['disconnected', 0, 0, 0], b: ['running', 0, 0, 0] });
    expect(lost).toEqual([]);
  }, 60_000);

  it('with no other replica serving (one disconnected is not serving) they wait for it, and its next connection gets them, in order', async () => {
    const byReplica = (name: string) => instances('lone').find((p) => p.remote?.replica === name)!;
    const dropped = (name: string) => waitFor(events, (e) => e.type === 'disconnected' && e.id === byReplica(name).id, 10_000);
    // Two replicas, then b gone: it may come back, but it serves nothing now.
    const a = await replica('lone', 'a');
    const b = await replica('lone', 'b');
    const bGone = dropped('b');
    await killed(b);
    await bGone;
    expect(burst('lone', a.pid!)).toEqual(Array(BURST).fill(1));
    await until(() => handledBy('lone', a.pid!).length === 1, 10_000, 'replica a frozen on push 1');
    const aGone = dropped('a');
    await killed(a);
    await aGone;
    expect(byReplica('a')).toMatchObject({ state: 'disconnected', pushesQueued: BURST, pushesLost: 0 });
    expect(byReplica('b')).toMatchObject({ state: 'disconnected', pushesQueued: 0 });
    const back = await replica('lone', 'a');
    await until(() => handledBy('lone', back.pid!).length >= BURST, 20_000, 'the burst handled by the replica back');
    expect(handledBy('lone', back.pid!)).toEqual(range(1, BURST).map((n) => [n, n]));
    await until(() => instances('lone').every((p) => p.pushesUnacked === 0), 10_000, 'every push acknowledged');
    expect(byReplica('a')).toMatchObject({ state: 'running', pushesQueued: 0, pushesLost: 0, pushesDropped: 0 });
  }, 60_000);
});
