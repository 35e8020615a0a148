import 'reflect-metadata';
import { Injectable, Module, type CanActivate, type DynamicModule, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AdminPageExposedError, HostConfigurationError, PluginHostService, WwPluginAdminModule, WwPluginModule, type AdminSnapshot } from '@wwplugin/nestjs';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from './support/host-harness.js';

/** A guard class with a dependency of its own: the admin module takes it from the app's providers. */
@Injectable()
class Tokens {
  readonly valid = 'let-me-in';
}
@Injectable()
class TokenGuard implements CanActivate {
  constructor(private readonly tokens: Tokens) {}
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers.authorization === `Bearer ${this.tokens.valid}`;
  }
}

describe('WwPluginAdminModule', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(admin: DynamicModule, listenOn = '127.0.0.1', prefix?: string): Promise<{ url: string; host: PluginHostService }> {
    @Module({ imports: [WwPluginModule.forRoot({ plugins: [fixture('alpha')] }), admin], providers: [Tokens, TokenGuard] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    if (prefix) app.setGlobalPrefix(prefix);
    await app.listen(0, listenOn);
    const { port } = app.getHttpServer().address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, host: app.get(PluginHostService) };
  }

  const post = (url: string, headers: Record<string, string> = { 'x-wwplugin-admin': '1' }) => fetch(url, { method: 'POST', headers });

  it('refuses to listen beyond loopback without a guard, with a typed error, and leaves nothing listening', async () => {
    @Module({ imports: [WwPluginModule.forRoot(), WwPluginAdminModule.forRoot()] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    const failure = await app.listen(0, '0.0.0.0').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AdminPageExposedError);
    expect((failure as Error).message).toMatch(/WwPluginAdminModule has no guard, and the HTTP server listens on 0\.0\.0\.0:\d+, beyond loopback/);
    expect(app.getHttpServer().listening).toBe(false);
  });

  it('serves the page, its files, a snapshot and SSE below its path and the global prefix', async () => {
    const { url, host } = await boot(WwPluginAdminModule.forRoot({ path: 'ops/plugins' }), '127.0.0.1', 'api');
    const page = await fetch(`${url}/api/ops/plugins`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<base href="/api/ops/plugins/" />');
    expect((await fetch(`${url}/api/ops/plugins/admin-page.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${url}/api/ops/plugins/admin-page.css`)).status).toBe(200);

    const snapshot = (await (await fetch(`${url}/api/ops/plugins/api/plugins`)).json()) as AdminSnapshot;
    const alpha = host.get('alpha')!;
    expect(snapshot.plugins).toEqual([
      expect.objectContaining({ id: alpha.id, name: 'alpha', state: 'running', pid: alpha.pid, restarts: 0, lastExit: null, inFlight: 0, pushesDropped: 0 }),
    ]);
    expect(snapshot.plugins[0]!.uptimeMs).toBeGreaterThanOrEqual(0);
    // No env (it may hold secrets) in what the page gets.
    expect(Object.keys(snapshot.plugins[0]!)).not.toContain('spec');

    const sse = openSse(`${url}/api/ops/plugins/api/events`);
    const first = await sse.next();
    sse.close();
    expect(first).toMatchObject({ event: 'snapshot', data: { plugins: [expect.objectContaining({ name: 'alpha', state: 'running' })] } });
  });

  it('lists each instance of a plugin with several on a row of its own, with its index', async () => {
    const { url, host } = await boot(WwPluginAdminModule.forRoot());
    await host.load({ ...fixture('multi'), instances: 2 });
    const snapshot = (await (await fetch(`${url}/wwplugin/api/plugins`)).json()) as AdminSnapshot;
    const rows = snapshot.plugins.filter((p) => p.name === 'multi');
    expect(rows.map((r) => [r.instance, r.instances, r.state, r.where])).toEqual([
      [0, 2, 'running', null],
      [1, 2, 'running', null],
    ]);
    expect(new Set(rows.map((r) => r.pid)).size).toBe(2);
  });

  it('streams a plugin event followed by a snapshot taken at once', async () => {
    const { url, host } = await boot(WwPluginAdminModule.forRoot({ updateIntervalMs: 60_000 }));
    const sse = openSse(`${url}/wwplugin/api/events`);
    // The first snapshot comes at once: the stream is open.
    expect((await sse.next()).event).toBe('snapshot');
    await host.stop('alpha');
    let event = await sse.next();
    while (!(event.event === 'plugin-event' && (event.data as { type: string }).type === 'stopped')) event = await sse.next();
    const after = await sse.next();
    sse.close();
    expect(after).toMatchObject({ event: 'snapshot', data: { plugins: [expect.objectContaining({ name: 'alpha', state: 'stopped', uptimeMs: null })] } });
  });

  it('stops, starts and restarts a plugin over POST, which needs the x-wwplugin-admin header', async () => {
    const { url, host } = await boot(WwPluginAdminModule.forRoot());
    const before = host.get('alpha')!.pid;
    const bare = await post(`${url}/wwplugin/api/plugins/alpha/stop`, {});
    expect(bare.status).toBe(403);
    expect(((await bare.json()) as { message: string }).message).toContain('x-wwplugin-admin: 1');
    expect(host.get('alpha')!.state).toBe('running');

    const stopped = (await (await post(`${url}/wwplugin/api/plugins/alpha/stop`)).json()) as AdminSnapshot;
    expect(stopped.plugins[0]).toMatchObject({ name: 'alpha', state: 'stopped', pid: null });
    const started = (await (await post(`${url}/wwplugin/api/plugins/alpha/start`)).json()) as AdminSnapshot;
    expect(started.plugins[0]).toMatchObject({ name: 'alpha', state: 'running' });
    const restarted = (await (await post(`${url}/wwplugin/api/plugins/${host.get('alpha')!.id}/restart`)).json()) as AdminSnapshot;
    expect(restarted.plugins[0]).toMatchObject({ name: 'alpha', state: 'running' });
    expect(restarted.plugins[0]!.pid).not.toBe(before);

    const unknownAction = await post(`${url}/wwplugin/api/plugins/alpha/explode`);
    expect(unknownAction.status).toBe(400);
    const unknownPlugin = await post(`${url}/wwplugin/api/plugins/nope/restart`);
    expect(unknownPlugin.status).toBe(404);
    expect(await unknownPlugin.json()).toMatchObject({ error: 'UnknownPluginError', code: 'UNKNOWN_PLUGIN' });
  });

  it("shows each plugin's calls/s, error rate and latency percentiles from the host's call observers", async () => {
    const { url, host } = await boot(WwPluginAdminModule.forRoot());
    for (let i = 0; i < 10; i++) await host.call('alpha', 'add', { a: i, b: 1 });
    for (let i = 0; i < 2; i++) await host.call('alpha', 'fail', { message: 'no' }).catch(() => undefined);
    // A call to an unknown plugin is nobody's.
    await host.call('nope', 'add', {}).catch(() => undefined);
    const [alpha] = ((await (await fetch(`${url}/wwplugin/api/plugins`)).json()) as AdminSnapshot).plugins;
    // Rates are over the last 10 s: 12 calls, 2 failed.
    expect(alpha).toMatchObject({ name: 'alpha', callsPerSec: 1.2, errorRate: 2 / 12 });
    expect(alpha!.p50Ms).toBeGreaterThan(0);
    expect(alpha!.p99Ms).toBeGreaterThanOrEqual(alpha!.p50Ms!);
  });

  it("keeps a plugin's recent log records, and answers those after a seq", async () => {
    @Module({ imports: [WwPluginModule.forRoot({ plugins: [fixture('talker', 'nest-logs')] }), WwPluginAdminModule.forRoot({ logRecords: 4 })] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const host = app.get(PluginHostService);
    await host.call('talker', 'logEveryLevel', { tag: 't1' });
    const records = (await (await fetch(`${url}/wwplugin/api/plugins/talker/logs`)).json()) as Array<{
      seq: number;
      level: string;
      message: string;
      stack?: string;
    }>;
    // The plugin sends error and warn records by default: 'booting…', then fatal, error, warn of t1; four are kept.
    expect(records.map((r) => `${r.seq} ${r.level} ${r.message}`)).toEqual([
      '1 warn booting before the welcome',
      '2 fatal fatal t1',
      '3 error error t1',
      '4 warn warn t1',
    ]);
    expect(records[2]!.stack).toContain('stack t1');
    await host.call('talker', 'logEveryLevel', { tag: 't2' });
    const newer = (await (await fetch(`${url}/wwplugin/api/plugins/talker/logs?after=4`)).json()) as Array<{ seq: number; message: string }>;
    expect(newer.map((r) => `${r.seq} ${r.message}`)).toEqual(['5 fatal t2', '6 error t2', '7 warn t2']);
    const snapshot = (await (await fetch(`${url}/wwplugin/api/plugins`)).json()) as AdminSnapshot;
    expect(snapshot.plugins[0]!.logSeq).toBe(7);
  });

  it('puts every route behind a guard class from the app, which may then listen beyond loopback', async () => {
    const { url } = await boot(WwPluginAdminModule.forRoot({ guard: TokenGuard }), '0.0.0.0');
    const auth = { authorization: 'Bearer let-me-in' };
    for (const path of ['', '/admin-page.js', '/api/plugins', '/api/plugins/alpha/logs']) {
      expect((await fetch(`${url}/wwplugin${path}`)).status, path).toBe(403);
      expect((await fetch(`${url}/wwplugin${path}`, { headers: auth })).status, path).toBe(200);
    }
    expect((await post(`${url}/wwplugin/api/plugins/alpha/restart`)).status).toBe(403);
    expect((await post(`${url}/wwplugin/api/plugins/alpha/restart`, { ...auth, 'x-wwplugin-admin': '1' })).status).toBe(200);
  });

  it('checks its options at bootstrap, naming the one that is unusable', async () => {
    for (const [options, message] of [
      [{ updateIntervalMs: 0 }, 'option "updateIntervalMs" must be an integer of 10 or more, got 0'],
      [{ guard: { allow: true } }, 'option "guard" must be a guard class or an object with canActivate(), got {"allow":true}'],
    ] as const) {
      @Module({ imports: [WwPluginModule.forRoot(), WwPluginAdminModule.forRoot(options as never)] })
      class AppModule {}
      const failure = await NestFactory.create(AppModule, { logger: false, abortOnError: false }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(HostConfigurationError);
      expect((failure as Error).message).toBe(`WwPluginAdminModule.forRoot: ${message}.`);
    }
    // The path makes routes at once: it is checked when forRoot is called.
    expect(() => WwPluginAdminModule.forRoot({ path: 42 as never })).toThrow(
      new HostConfigurationError('WwPluginAdminModule.forRoot: option "path" must be a string, got 42.'),
    );
  });

  it('takes canActivate from forRootAsync, and runs it with the guard', async () => {
    const seen: string[] = [];
    const admin = WwPluginAdminModule.forRootAsync({
      useFactory: () => ({
        guard: { canActivate: () => (seen.push('guard'), true) },
        canActivate: (context: ExecutionContext) => (seen.push('canActivate'), context.switchToHttp().getRequest<{ url: string }>().url.endsWith('/plugins')),
      }),
    });
    const { url } = await boot(admin);
    expect((await fetch(`${url}/wwplugin/api/plugins`)).status).toBe(200);
    expect((await fetch(`${url}/wwplugin/`)).status).toBe(403);
    expect(seen).toEqual(['guard', 'canActivate', 'guard', 'canActivate']);
  });
});

interface SseEvent {
  event: string;
  data: unknown;
}

/** An SSE connection read with plain node:http: `next()` gives the events one by one, in order. */
function openSse(url: string): { next(ms?: number): Promise<SseEvent>; close(): void } {
  const queue: SseEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((l) => l.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        const data = field('data');
        if (data !== undefined) queue.push({ event: field('event') ?? 'message', data: JSON.parse(data) });
      }
      wake?.();
    });
  });
  req.on('error', (err) => {
    failure = err;
    wake?.();
  });
  req.end();
  return {
    async next(ms = 15_000) {
      const deadline = Date.now() + ms;
      while (!queue.length) {
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`no SSE event from ${url} within ${ms} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, deadline - Date.now()).unref();
        });
      }
      return queue.shift()!;
    },
    close: () => req.destroy(),
  };
}
