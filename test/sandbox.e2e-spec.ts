import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  HostFunction,
  PluginCrashedError,
  PluginFunctionError,
  PluginHostService,
  PluginSandboxError,
  WwPluginModule,
  type PluginEvent,
  type WwPluginHostOptions,
} from '@wwplugin/nestjs';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapturingLogger } from './support/capturing-logger.js';
import { collect, fixture, isAlive, waitFor } from './support/host-harness.js';

@Injectable()
class SandboxHostFunctions {
  @HostFunction()
  sandboxEcho({ value }: { value: string }): string {
    return `host saw ${value}`;
  }
}

interface Host {
  app: INestApplicationContext;
  host: PluginHostService;
  logger: CapturingLogger;
  events: PluginEvent[];
}

async function startHost(options: WwPluginHostOptions): Promise<Host> {
  @Module({ imports: [WwPluginModule.forRoot(options)], providers: [SandboxHostFunctions] })
  class SandboxHostModule {}
  const logger = new CapturingLogger();
  const app = await NestFactory.createApplicationContext(SandboxHostModule, { logger });
  const host = app.get(PluginHostService);
  const events: PluginEvent[] = [];
  host.events().subscribe((e) => events.push(e));
  return { app, host, logger, events };
}

/** The rejection of `call`, which must fail. */
async function failure(call: Promise<unknown>): Promise<Error & { details?: Record<string, unknown> }> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: Error) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as Error & { details?: Record<string, unknown> };
}

const HEX_SECRET = /[0-9a-f]{64}/;

describe('sandbox: a plugin under the permission model has only the rights it was given', () => {
  let t: Host;
  let dir: string;
  let outside: string;
  let readable: string;
  let writable: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-sandbox-test-'));
    outside = join(dir, 'outside');
    readable = join(dir, 'readable');
    writable = join(dir, 'writable');
    for (const d of [outside, readable, writable]) mkdirSync(d);
    writeFileSync(join(outside, 'secret.txt'), 'not for plugins');
    writeFileSync(join(readable, 'shared.txt'), 'for plugins');
    // Every plugin sandboxed by default; the neighbour opts out.
    t = await startHost({ sandbox: true, logAccessDenials: true });
    await t.host.load(fixture('boxed', 'sandbox', { sandbox: { fsRead: [readable], fsWrite: [writable] } }));
    await t.host.load(fixture('open', 'sandbox', { sandbox: false }));
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs under the permission model, with the flag its Node line spells', () => {
    const pid = t.host.get('boxed')!.pid!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const expected = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
    expect(argv).toContain(expected);
    expect(argv).toContain(`--allow-fs-read=${readable}`);
    expect(argv).toContain(`--allow-fs-write=${writable}`);
    expect(argv.some((a) => a.startsWith('--allow-child-process') || a.startsWith('--allow-worker'))).toBe(false);
    expect(readFileSync(`/proc/${t.host.get('open')!.pid}/cmdline`, 'utf8')).not.toContain('permission');
  });

  it('process.permission in the plugin reports the same rights', async () => {
    expect(await t.host.call('boxed', 'permissions', { path: join(outside, 'secret.txt') })).toMatchObject({
      enabled: true,
      read: false,
      write: false,
      childProcess: false,
      worker: false,
    });
    expect(await t.host.call('boxed', 'permissions', { path: join(writable, 'x') })).toMatchObject({ read: false, write: true });
    expect(await t.host.call('open', 'permissions', { path: '/' })).toMatchObject({ enabled: false });
  });

  it('cannot read a file outside its allowed paths: ERR_ACCESS_DENIED reaches the caller as the plugin met it', async () => {
    const err = await failure(t.host.call('boxed', 'readFile', { path: join(outside, 'secret.txt') }));
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect((err as PluginFunctionError).remoteCode).toBe('ERR_ACCESS_DENIED');
    // The paths it was given, and its own files, it reads.
    expect(await t.host.call('boxed', 'readFile', { path: join(readable, 'shared.txt') })).toBe('for plugins');
    // The neighbour, not sandboxed, reads what the sandbox refused.
    expect(await t.host.call('open', 'readFile', { path: join(outside, 'secret.txt') })).toBe('not for plugins');
  });

  it('cannot write outside its allowed paths, and writes inside them', async () => {
    const err = await failure(t.host.call('boxed', 'writeFile', { path: join(outside, 'planted.txt'), text: 'x' }));
    expect((err as PluginFunctionError).remoteCode).toBe('ERR_ACCESS_DENIED');
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(await t.host.call('boxed', 'writeFile', { path: join(writable, 'ok.txt'), text: 'fine' })).toBe('written');
    expect(readFileSync(join(writable, 'ok.txt'), 'utf8')).toBe('fine');
  });

  it('cannot spawn a child process nor start a worker; its neighbour can', async () => {
    expect(((await failure(t.host.call('boxed', 'spawnChild'))) as PluginFunctionError).remoteCode).toBe('ERR_ACCESS_DENIED');
    expect(((await failure(t.host.call('boxed', 'startWorker'))) as PluginFunctionError).remoteCode).toBe('ERR_ACCESS_DENIED');
    expect(await t.host.call('open', 'spawnChild')).toBe('child ran');
    expect(await t.host.call('open', 'startWorker')).toBe('worker ran');
  });

  it('still serves calls, streams, pushes and calls the host', async () => {
    expect(await t.host.call('boxed', 'echo', { value: 'hi' })).toBe('hi');
    expect(await firstValueFrom(t.host.stream<number>('boxed', 'countUp', { count: 5 }).pipe(toArray()))).toEqual([0, 1, 2, 3, 4]);
    const pong = waitFor(t.host.messages('sandbox.pong', 'boxed'));
    expect(t.host.push('boxed', 'sandbox.ping', { n: 7 })).toBe(1);
    expect((await pong).payload).toEqual({ n: 7 });
    expect(await t.host.call('boxed', 'askHost', { value: 'boxed' })).toBe('host saw boxed');
  });

  it('with logAccessDenials, each denial is an access-denied event and a warning in the host log', async () => {
    const path = join(outside, 'secret.txt');
    const event = waitFor(t.host.events(), (e) => e.type === 'access-denied' && e.resource === path);
    await failure(t.host.call('boxed', 'readFile', { path }));
    expect(await event).toEqual({
      type: 'access-denied',
      plugin: 'boxed',
      id: t.host.get('boxed')!.id,
      permission: 'FileSystemRead',
      resource: path,
      during: 'readFile',
    });
    expect(t.logger.lines.some((l) => l.level === 'warn' && l.message.includes('was denied FileSystemRead') && l.message.includes(path))).toBe(true);
  });

  it('a denial in the middle of a stream ends it with ERR_ACCESS_DENIED, and is reported too', async () => {
    const path = join(outside, 'secret.txt');
    const event = waitFor(t.host.events(), (e) => e.type === 'access-denied' && e.during === 'readLater');
    const seen: string[] = [];
    const err = await new Promise<PluginFunctionError>((resolve, reject) =>
      t.host
        .stream<string>('boxed', 'readLater', { path })
        .subscribe({ next: (v) => seen.push(v), error: resolve, complete: () => reject(new Error('completed')) }),
    );
    expect(seen).toEqual(['first']);
    expect(err.remoteCode).toBe('ERR_ACCESS_DENIED');
    expect(await event).toMatchObject({ plugin: 'boxed', permission: 'FileSystemRead', resource: path });
  });

  it('the secret is in no environment: not in /proc/<pid>/environ, of a sandboxed plugin nor of another', () => {
    for (const name of ['boxed', 'open']) {
      const environ = readFileSync(`/proc/${t.host.get(name)!.pid}/environ`, 'utf8');
      expect(environ).not.toContain('WWPLUGIN_TOKEN=');
      expect(environ).not.toMatch(HEX_SECRET);
    }
  });
});

describe('limits: a plugin over its memory limit is reported out of memory and restarted', () => {
  let t: Host;

  beforeAll(async () => {
    t = await startHost({ restart: { initialBackoffMs: 20 } });
    await t.host.load(fixture('hog', 'sandbox', { sandbox: true, limits: { maxHeapMiB: 64 } }));
    await t.host.load(fixture('fat', 'sandbox', { limits: { maxRssMiB: 400, rssSampleMs: 50 } }));
    await t.host.load(fixture('neighbour', 'sandbox'));
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
  });

  it('a heap growing without bound dies at its heap limit: PluginCrashedError out of memory, an event, a log line, a restart', async () => {
    const neighbourPid = t.host.get('neighbour')!.pid;
    const firstPid = t.host.get('hog')!.pid!;
    const restarted = waitFor(t.host.events(), (e) => e.type === 'restarted' && e.plugin === 'hog', 30_000);
    const err = await failure(t.host.call('hog', 'growHeap', {}, { timeoutMs: 60_000 }));
    expect(err).toBeInstanceOf(PluginCrashedError);
    expect(err.message).toContain('ran out of memory');
    expect(err.details).toMatchObject({ reason: 'out-of-memory', limit: 'heap', limitMiB: 64, signal: 'SIGABRT' });
    const oom = t.events.find((e) => e.type === 'out-of-memory' && e.plugin === 'hog');
    expect(oom).toMatchObject({ type: 'out-of-memory', limit: 'heap', limitMiB: 64 });
    expect(t.events.find((e) => e.type === 'crashed' && e.plugin === 'hog')).toMatchObject({ reason: 'out-of-memory' });
    expect(t.logger.lines.some((l) => l.level === 'error' && l.message.includes('"hog" ran out of memory') && l.message.includes('64 MiB'))).toBe(true);
    await restarted;
    expect(isAlive(firstPid)).toBe(false);
    expect(await t.host.call('hog', 'echo', { value: 'back' })).toBe('back');
    // The neighbour did not notice.
    expect(t.host.get('neighbour')!.pid).toBe(neighbourPid);
    expect(await t.host.call('neighbour', 'echo', { value: 'calm' })).toBe('calm');
  }, 60_000);

  it('resident memory over maxRssMiB is killed by the host and reported the same way', async () => {
    const restarted = waitFor(t.host.events(), (e) => e.type === 'restarted' && e.plugin === 'fat', 30_000);
    const err = await failure(t.host.call('fat', 'growRss', {}, { timeoutMs: 60_000 }));
    expect(err).toBeInstanceOf(PluginCrashedError);
    expect(err.details).toMatchObject({ reason: 'out-of-memory', limit: 'rss', limitMiB: 400, signal: 'SIGKILL' });
    expect(err.details!.rssMiB as number).toBeGreaterThan(400);
    const oom = t.events.find((e) => e.type === 'out-of-memory' && e.plugin === 'fat');
    expect(oom).toMatchObject({ limit: 'rss', limitMiB: 400 });
    expect(t.logger.lines.some((l) => l.level === 'error' && l.message.includes('"fat" ran out of memory') && l.message.includes('maxRssMiB'))).toBe(true);
    await restarted;
    expect(await t.host.call('fat', 'echo', { value: 'slim again' })).toBe('slim again');
    expect(await t.host.call('neighbour', 'echo', { value: 'calm' })).toBe('calm');
  }, 60_000);
});

describe('sandbox: what cannot be applied is a typed error', () => {
  let t: Host;

  beforeAll(async () => {
    t = await startHost({});
  }, 30_000);

  afterAll(async () => {
    await t?.app.close();
  });

  it('a command that is not Node cannot be sandboxed: PluginSandboxError, nothing spawned', async () => {
    const err = await failure(t.host.load({ name: 'sh', command: '/bin/sh', args: ['-c', 'sleep 60'], sandbox: true }));
    expect(err).toBeInstanceOf(PluginSandboxError);
    expect(err.message).toContain('is not Node');
    expect(t.host.list()).toEqual([]);
  });

  it('a limit that is not a positive integer: PluginSandboxError naming it', async () => {
    const err = await failure(t.host.load(fixture('bad', 'sandbox', { limits: { maxHeapMiB: -5 } })));
    expect(err).toBeInstanceOf(PluginSandboxError);
    expect(err.message).toContain('limits.maxHeapMiB');
  });

  it('rights of the wrong shape: PluginSandboxError naming the field', async () => {
    const err = await failure(t.host.load(fixture('odd', 'sandbox', { sandbox: { fsRead: '/tmp' as unknown as string[] } })));
    expect(err).toBeInstanceOf(PluginSandboxError);
    expect(err.message).toContain('sandbox.fsRead must be an array of paths');
  });

  it('a user that does not exist: PluginSandboxError', async () => {
    const err = await failure(t.host.load(fixture('ghost', 'sandbox', { user: 'no-such-user-wwplugin' })));
    expect(err).toBeInstanceOf(PluginSandboxError);
    expect(err.message).toContain('no-such-user-wwplugin');
  });

  it('a plugin started through a `node` command gets the same sandbox', async () => {
    const spec = fixture('by-command', 'sandbox', { sandbox: true });
    await t.host.load({ ...spec, path: undefined, command: process.execPath, args: [spec.path!] });
    expect(await t.host.call('by-command', 'permissions', { path: '/etc/hostname' })).toMatchObject({ enabled: true, read: false });
    expect(await t.host.call('by-command', 'echo', { value: 'via command' })).toBe('via command');
  });
});

describe('identity: a plugin under its own uid', () => {
  let t: Host;
  let privateDir: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('This test switches users: run it as root (the CI container does).');
    // A file only its owner (root, like the other plugin) may read.
    privateDir = mkdtempSync(join(tmpdir(), 'wwplugin-private-'));
    writeFileSync(join(privateDir, 'mine.txt'), 'root plugin data');
    chmodSync(privateDir, 0o700);
    t = await startHost({});
    await t.host.load(fixture('owner', 'sandbox'));
    await t.host.load(fixture('stranger', 'sandbox', { user: 65534, group: 65534 }));
  }, 60_000);

  afterAll(async () => {
    await t?.app.close();
    rmSync(privateDir, { recursive: true, force: true });
  });

  it('runs as that uid and serves', async () => {
    expect(await t.host.call('stranger', 'permissions', { path: '/' })).toMatchObject({ uid: 65534 });
    expect(await t.host.call('stranger', 'echo', { value: 'from nobody' })).toBe('from nobody');
    expect(await collect(t.host.stream<number>('stranger', 'countUp', { count: 3 }), 3)).toEqual([0, 1, 2]);
  });

  it("cannot read another plugin's files, nor its process's environment", async () => {
    expect(await t.host.call('owner', 'readFile', { path: join(privateDir, 'mine.txt') })).toBe('root plugin data');
    const err = await failure(t.host.call('stranger', 'readFile', { path: join(privateDir, 'mine.txt') }));
    expect((err as PluginFunctionError).remoteCode).toBe('EACCES');
    const environ = await failure(t.host.call('stranger', 'readFile', { path: `/proc/${t.host.get('owner')!.pid}/environ` }));
    expect((environ as PluginFunctionError).remoteCode).toBe('EACCES');
  });
});
