import { createCertificateAuthority, type CertificateAuthority } from '@wwplugin/nestjs';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PLUGIN, until } from './support/host-harness.js';
import { createNetnsPair, netnsUnavailable, type NetnsPair } from './support/netns.js';
import { REMOTE_HOST, RemoteHostClient, ROGUE_CLIENT, type RemoteError } from './support/remote-host-client.js';

// "Another machine": the host runs in one network namespace, remote plugins in another, joined by a
// veth pair. Namespaces need root; where the OS refuses them, this file is skipped and says why.
const unavailable = netnsUnavailable();
if (unavailable) console.warn(`remote-plugins: skipped: ${unavailable}.`);

const PORT = 7443;
const TOKEN_A = 'token-of-remote-a';
const HEALTH_PORT = 9464;

describe.skipIf(!!unavailable)('remote plugins over mutual TLS, across two network namespaces', () => {
  let pair: NetnsPair;
  let dir: string;
  let host: RemoteHostClient;
  let ca: CertificateAuthority;
  const files: Record<string, string> = {};
  const plugins = new Set<ChildProcess>();

  /** Writes a PEM pair to the temporary directory; returns the paths. */
  const save = (name: string, pem: { cert: string; key: string }) => {
    writeFileSync((files[`${name}.crt`] = join(dir, `${name}.crt`)), pem.cert);
    writeFileSync((files[`${name}.key`] = join(dir, `${name}.key`)), pem.key, { mode: 0o600 });
  };

  /** Starts the fixture plugin in the plugin namespace as a remote plugin, as its orchestrator would. */
  const startRemote = (name: string, opts: { cert?: string; replica?: string; token?: string; env?: Record<string, string> } = {}) => {
    const cert = opts.cert ?? name;
    const child = pair.spawnIn(pair.pluginNs, process.execPath, [FIXTURE_PLUGIN], {
      env: {
        PATH: process.env.PATH,
        FIXTURE_NAME: name,
        FIXTURE_MODE: 'messaging',
        WWPLUGIN_HOST: `${pair.hostIp}:${PORT}`,
        WWPLUGIN_TLS_CA: files['ca.crt']!,
        WWPLUGIN_TLS_CERT: files[`${cert}.crt`]!,
        WWPLUGIN_TLS_KEY: files[`${cert}.key`]!,
        WWPLUGIN_REPLICA: opts.replica ?? `${name}-pod`,
        ...(opts.token ? { WWPLUGIN_TOKEN: opts.token } : {}),
        ...opts.env,
      },
    });
    child.stdout!.resume();
    child.stderr!.resume();
    plugins.add(child);
    child.once('exit', () => plugins.delete(child));
    return child;
  };

  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });

  /** Runs the rogue client in the plugin namespace and returns how its session ended. */
  const rogue = async (config: Record<string, string | undefined>) => {
    const child = pair.spawnIn(pair.pluginNs, process.execPath, [ROGUE_CLIENT], {
      env: { PATH: process.env.PATH, ROGUE_CONFIG: JSON.stringify({ address: `${pair.hostIp}:${PORT}`, ...config }) },
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.resume();
    await exited(child);
    return JSON.parse(out.trim().split('\n').pop()!) as {
      end: { code: number; details: string } | string;
      frames: string[];
      refused?: { code: string; reason: string };
    };
  };

  /** The HTTP status of a probe of the remote plugin, fetched from the host's namespace (as a kubelet would). */
  const probe = async (path: string) => {
    const script = `fetch('http://${pair.pluginIp}:${HEALTH_PORT}${path}').then((r) => console.log(r.status), () => console.log(0))`;
    const child = pair.spawnIn(pair.hostNs, process.execPath, ['-e', script], { env: { PATH: process.env.PATH } });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.resume();
    await exited(child);
    return Number(out.trim());
  };

  const failure = (p: Promise<unknown>) =>
    p.then(
      (value) => {
        throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
      },
      (err: RemoteError) => err,
    );

  beforeAll(async () => {
    pair = createNetnsPair();
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-remote-'));
    // The same code as scripts/make-certs.mjs: the library's certificate authority.
    ca = await createCertificateAuthority({ name: 'test CA' });
    writeFileSync((files['ca.crt'] = join(dir, 'ca.crt')), ca.cert);
    save('host', await ca.issue({ name: 'wwplugin-host', usage: 'server', hosts: [pair.hostIp] }));
    for (const name of ['remote-a', 'remote-b', 'intruder']) save(name, await ca.issue({ name, usage: 'client' }));
    const otherCa = await createCertificateAuthority({ name: 'another CA' });
    save('other-ca-remote-a', await otherCa.issue({ name: 'remote-a', usage: 'client' }));

    const config = {
      listen: `${pair.hostIp}:${PORT}`,
      tls: { ca: files['ca.crt'], cert: files['host.crt'], key: files['host.key'] },
      plugins: [
        { name: 'remote-a', token: TOKEN_A },
        { name: 'remote-b', maxReplicas: 2 },
      ],
      local: ['local-1'],
      options: { heartbeat: { intervalMs: 200, timeoutMs: 300, misses: 3 }, defaultTimeoutMs: 20_000 },
    };
    host = new RemoteHostClient(
      pair.spawnIn(pair.hostNs, process.execPath, [REMOTE_HOST], { env: { ...process.env, REMOTE_HOST_CONFIG: JSON.stringify(config) } }),
    );
    await Promise.race([
      host.ready,
      exited(host.child).then(() => {
        throw new Error(`the remote host exited: ${host.stderr.join('')}`);
      }),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const child of plugins) child.kill('SIGKILL');
    await host?.close();
    pair?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists allowed remote plugins as disconnected until they join, beside local ones', async () => {
    const list = await host.list();
    const byName = Object.fromEntries(list.map((p) => [p.name, p]));
    expect(byName['remote-a']).toMatchObject({ state: 'disconnected', functions: [] });
    expect(byName['remote-a']!.pid).toBeUndefined();
    expect(byName['remote-b']).toMatchObject({ state: 'disconnected' });
    expect(byName['local-1']!.state).toBe('running');
    expect(byName['local-1']!.pid).toBeGreaterThan(0);
    expect(byName['local-1']!.remote).toBeUndefined();
  });

  it('a remote plugin registers over mTLS and serves calls both ways, pushes, emits and streams', async () => {
    const connected = host.nextEvent('connected', 'remote-a');
    startRemote('remote-a', { token: TOKEN_A, replica: 'pod-a-1', env: { WWPLUGIN_HEALTH_PORT: String(HEALTH_PORT) } });
    const event = await connected;
    // Its own probes, for its orchestrator: live, and ready now that the host welcomed it.
    expect(await probe('/livez')).toBe(200);
    expect(await probe('/readyz')).toBe(200);
    expect(event.peer).toContain(pair.pluginIp);
    expect(event.replica).toBe('pod-a-1');

    const info = await host.info('remote-a');
    expect(info.state).toBe('running');
    expect(info.remote).toMatchObject({ replica: 'pod-a-1' });
    expect(info.remote!.peer).toContain(pair.pluginIp);
    expect(info.functions).toEqual(expect.arrayContaining(['echo', 'callHost', 'ticks', 'pushLog']));

    // host → remote plugin
    expect(await host.call('remote-a', 'echo', { value: { n: 1, s: 'x' } })).toEqual({ n: 1, s: 'x' });
    // remote plugin → host function
    expect(await host.call('remote-a', 'callHost', { fn: 'hostEcho', args: { value: 7 } })).toEqual({ value: { value: 7, caller: 'remote-a' } });
    // remote plugin → local plugin, through the host
    expect(await host.call('remote-a', 'callPlugin', { target: 'local-1', fn: 'echo', args: { value: 'across' } })).toEqual({ value: 'across' });
    // local plugin → remote plugin, through the host
    expect(await host.call('local-1', 'callPlugin', { target: 'remote-a', fn: 'echo', args: { value: 'back' } })).toEqual({ value: 'back' });
    // streams
    expect(await host.request('stream', { name: 'remote-a', fn: 'ticks', args: { count: 5, intervalMs: 2 } })).toEqual([0, 1, 2, 3, 4]);
    // pushes
    expect(await host.request('push', { target: 'remote-a', topic: 'news', payload: { headline: 'remote' } })).toBe(1);
    await until(async () => (await host.call<{ payloads: unknown[] }>('remote-a', 'pushLog', { topic: 'news' })).payloads.length === 1, 10_000, 'the push');
    expect((await host.call<{ payloads: unknown[] }>('remote-a', 'pushLog', { topic: 'news' })).payloads).toEqual([{ headline: 'remote' }]);
    // emits
    const message = new Promise((resolve) => host.messages$.subscribe((m) => m.topic === 'remote-news' && resolve(m)));
    await host.call('remote-a', 'emit', { topic: 'remote-news', payload: { from: 'a' } });
    expect(await message).toMatchObject({ plugin: 'remote-a', payload: { from: 'a', i: 0 } });
  }, 60_000);

  it('refuses a client without a certificate, with one from another CA, for another name, or without its token; the host keeps serving', async () => {
    const noCert = await rogue({ ca: files['ca.crt'], name: 'remote-a', token: TOKEN_A });
    expect(noCert.frames).toEqual([]);
    expect(noCert.end).toMatchObject({ code: 14 }); // UNAVAILABLE: refused in the TLS handshake

    const otherCa = await rogue({
      ca: files['ca.crt'],
      cert: files['other-ca-remote-a.crt'],
      key: files['other-ca-remote-a.key'],
      name: 'remote-a',
      token: TOKEN_A,
    });
    expect(otherCa.frames).toEqual([]);
    expect(otherCa.end).toMatchObject({ code: 14 });

    const notAllowed = await rogue({ ca: files['ca.crt'], cert: files['intruder.crt'], key: files['intruder.key'], name: 'intruder' });
    expect(notAllowed.frames).toEqual([]);
    expect(notAllowed.end).toMatchObject({ code: 7 }); // PERMISSION_DENIED
    expect((notAllowed.end as { details: string }).details).toContain('"intruder"');

    // A valid certificate for remote-b cannot register as remote-a.
    const otherName = await rogue({ ca: files['ca.crt'], cert: files['remote-b.crt'], key: files['remote-b.key'], name: 'remote-a' });
    expect(otherName.frames).toEqual(['refuse']);
    expect(otherName.refused).toMatchObject({ code: 'UNAUTHENTICATED', reason: expect.stringContaining('"remote-b"') });

    // remote-a's own certificate without its bearer token.
    const noToken = await rogue({ ca: files['ca.crt'], cert: files['remote-a.crt'], key: files['remote-a.key'], name: 'remote-a', token: 'wrong' });
    expect(noToken.frames).toEqual([]);
    expect(noToken.end).toMatchObject({ code: 16 }); // UNAUTHENTICATED

    expect((await host.info('remote-b')).state).toBe('disconnected');
    expect((await host.info('remote-a')).state).toBe('running');
    expect(await host.call('remote-a', 'echo', { value: 'still here' })).toBe('still here');
    expect(await host.call('local-1', 'echo', { value: 'local too' })).toBe('local too');
  }, 90_000);

  it('killing the remote plugin fails its calls in flight at once; calls made meanwhile wait, and it is back when it reconnects', async () => {
    const [child] = [...plugins];
    const inFlight = failure(host.call('remote-a', 'sleep', { ms: 60_000 }, { timeoutMs: 0 }));
    await until(async () => (await host.info('remote-a')).inFlight === 1, 10_000, 'the call in flight');
    const disconnected = host.nextEvent('disconnected', 'remote-a');
    child!.kill('SIGKILL');
    // No deadline, and a sleep of 60 s: what ends the call is the loss itself.
    const err = await inFlight;
    expect(err.name).toBe('PluginDisconnectedError');
    expect(err.code).toBe('PLUGIN_DISCONNECTED');
    expect(err.details).toMatchObject({ peer: expect.stringContaining(pair.pluginIp) });
    await disconnected;
    expect((await host.info('remote-a')).state).toBe('disconnected');

    // Held per whileRestarting ('wait'): it completes once the orchestrator's new process joins.
    const waiting = host.call('remote-a', 'echo', { value: 'after' });
    const connected = host.nextEvent('connected', 'remote-a');
    startRemote('remote-a', { token: TOKEN_A, replica: 'pod-a-2' });
    await connected;
    expect(await waiting).toBe('after');
    expect((await host.info('remote-a')).remote?.replica).toBe('pod-a-2');
  }, 60_000);

  it('detects a cut link by heartbeat; the plugin reconnects by itself once the link is back', async () => {
    const disconnected = host.nextEvent('disconnected', 'remote-a');
    const missed = host.nextEvent('heartbeat-missed', 'remote-a');
    pair.ip(pair.hostNs, 'link', 'set', pair.hostIf, 'down');
    try {
      await missed;
      const event = await disconnected;
      expect(event.reason).toContain('heartbeats');
      expect((await host.info('remote-a')).state).toBe('disconnected');
    } finally {
      pair.ip(pair.hostNs, 'link', 'set', pair.hostIf, 'up');
    }
    await host.nextEvent('connected', 'remote-a', 45_000);
    expect(await host.call('remote-a', 'echo', { value: 'reconnected' })).toBe('reconnected');
  }, 90_000);

  it('a remote plugin sent SIGTERM finishes its calls in flight, then exits cleanly', async () => {
    const [child] = [...plugins];
    const call = host.call('remote-a', 'sleep', { ms: 800 });
    await until(async () => (await host.info('remote-a')).inFlight === 1, 10_000, 'the call in flight');
    const disconnected = host.nextEvent('disconnected', 'remote-a');
    // Sent by the host just before the signal: it may still be on its way when the plugin starts
    // draining, and is finished all the same (the host answers Draining after every call it sent).
    const onItsWay = host.call('remote-a', 'sleep', { ms: 50 });
    await until(async () => (await host.info('remote-a')).inFlight === 2, 10_000, 'the second call sent');
    child!.kill('SIGTERM');
    expect(await call).toBe('slept 800');
    expect(await onItsWay).toBe('slept 50');
    expect(await exited(child!)).toEqual({ code: 0, signal: null });
    await disconnected;
    expect((await host.info('remote-a')).state).toBe('disconnected');
    // New calls fail at once rather than wait here: this host does not restart remote plugins.
    const stop = await failure(host.request('stop', { name: 'remote-a' }));
    expect(stop.name).toBe('RemotePluginOperationError');
  }, 60_000);

  it('two replicas of one remote plugin share its calls (least in flight), each listed; losing one leaves the other serving', async () => {
    const connected = host.events$.pipe();
    const joined: string[] = [];
    const sub = connected.subscribe((e) => e.type === 'connected' && e.plugin === 'remote-b' && joined.push(e.replica));
    const first = startRemote('remote-b', { replica: 'pod-b-1' });
    startRemote('remote-b', { replica: 'pod-b-2' });
    await until(() => joined.length === 2, 30_000, 'both replicas');
    sub.unsubscribe();
    const replicas = (await host.list()).filter((p) => p.name === 'remote-b');
    expect(replicas.map((p) => p.state)).toEqual(['running', 'running']);
    expect(replicas.map((p) => p.remote?.replica).sort()).toEqual(['pod-b-1', 'pod-b-2']);
    expect(replicas.map((p) => p.instances)).toEqual([2, 2]);
    // maxReplicas: 2, both connected: a third is refused.
    const third = await rogue({ ca: files['ca.crt'], cert: files['remote-b.crt'], key: files['remote-b.key'], name: 'remote-b' });
    expect(third.refused).toMatchObject({ code: 'DUPLICATE_PLUGIN', reason: expect.stringContaining('maxReplicas') });
    expect((await host.list()).filter((p) => p.name === 'remote-b')).toHaveLength(2);

    const calls = Array.from({ length: 20 }, () => host.call('remote-b', 'sleep', { ms: 5_000 }));
    await until(async () => (await host.list()).filter((p) => p.name === 'remote-b').reduce((n, p) => n + p.inFlight, 0) === 20, 10_000, '20 calls in flight');
    const spread = (await host.list()).filter((p) => p.name === 'remote-b').map((p) => p.inFlight);
    expect(spread).toEqual([10, 10]);
    expect(await Promise.all(calls)).toEqual(Array(20).fill('slept 5000'));

    // One replica goes: the other serves calls by name at once.
    const gone = host.nextEvent('disconnected', 'remote-b');
    first.kill('SIGKILL');
    expect((await gone).reason).toBeTruthy();
    expect(await host.call('remote-b', 'echo', { value: 'from the other' })).toBe('from the other');
    const after = (await host.list()).filter((p) => p.name === 'remote-b');
    expect(after.map((p) => [p.remote?.replica, p.state]).sort()).toEqual([
      ['pod-b-1', 'disconnected'],
      ['pod-b-2', 'running'],
    ]);
  }, 90_000);
});
