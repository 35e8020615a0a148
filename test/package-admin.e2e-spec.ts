import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedProject, pinned, result, type PackedProject } from './support/packed-project.js';

// An HTTP host app as a user of the package writes it from the docs: the plugins page
// (docs/admin-page.md) behind a guard, GET /metrics (docs/observability.md), and a shared spare
// (user guide, "Spares"), on Express and on Fastify, from the packed package outside the repository.

/** Nest's Fastify adapter, at the release matching the repository's Nest 12. */
const FASTIFY = '@nestjs/platform-fastify@12.5.0';

const PLUGIN = `import 'reflect-metadata';
import { Injectable, Logger, Module } from '@nestjs/common';
import { bootstrapPlugin, PluginFunction, WwPluginModule } from '@wwplugin/nestjs/plugin';

@Injectable()
class ShopFunctions {
  private readonly logger = new Logger('Shop');
  @PluginFunction() double({ n }: { n: number }) { return n * 2; }
  @PluginFunction() broken() { throw new Error('out of stock'); }
  @PluginFunction() lowStock() { this.logger.warn('low stock: 3 left'); return true; }
}

@Module({ imports: [WwPluginModule.forPlugin({ name: 'shop', version: '1.2.0' })], providers: [ShopFunctions] })
class ShopModule {}

await bootstrapPlugin(ShopModule);
`;

const HOST = `import 'reflect-metadata';
import { Injectable, Module, type CanActivate, type ExecutionContext, type INestApplication, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { PluginHostService, WwPluginAdminModule, WwPluginMetricsController, WwPluginModule, type AdminSnapshot } from '@wwplugin/nestjs';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, timeout } from 'rxjs';

const OPERATOR = 'Basic ' + Buffer.from('ops:secret').toString('base64');

/** Lets in the operators' HTTP basic credentials, which a browser sends by itself with the page's requests. */
@Injectable()
class OperatorsOnly implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
    return request.headers.authorization === OPERATOR;
  }
}

@Module({
  imports: [
    WwPluginModule.forRoot({ spares: 1, metrics: true }),
    WwPluginAdminModule.forRoot({ path: 'ops/plugins', guard: OperatorsOnly }),
  ],
  // GET /metrics in Prometheus' text format.
  controllers: [WwPluginMetricsController],
  providers: [OperatorsOnly],
})
class AppModule {}

@Module({ imports: [WwPluginModule.forRoot({}), WwPluginAdminModule.forRoot()] })
class UnguardedModule {}

const platform = process.argv[2];
const logger: LogLevel[] = ['warn', 'error'];
const create = (module: Type, fastify: ConstructorParameters<typeof FastifyAdapter>[0] = {}): Promise<INestApplication> =>
  platform === 'fastify' ? NestFactory.create(module, new FastifyAdapter(fastify), { logger }) : NestFactory.create(module, { logger });

async function until(check: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const out: Record<string, unknown> = {};
// Fastify's router is strict about a trailing slash: told to ignore it, the page answers at /ops/plugins/ too.
let app = await create(AppModule, { routerOptions: { ignoreTrailingSlash: true } });
try {
  // Beyond loopback: allowed, since the page has a guard.
  await app.listen(0, '0.0.0.0');
  const base = 'http://127.0.0.1:' + (app.getHttpServer().address() as AddressInfo).port;
  const auth = { authorization: OPERATOR };
  const get = async (path: string, headers: Record<string, string> = auth) => {
    const res = await fetch(base + path, { headers });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const post = async (path: string, headers: Record<string, string>) => {
    const res = await fetch(base + path, { method: 'POST', headers });
    return { status: res.status, body: await res.json() };
  };
  const callsTotal = async (fn: string) => {
    const { text } = await get('/metrics', {});
    const line = text.split('\\n').find((l) => l.startsWith('wwplugin_calls_total{') && l.includes('plugin="shop"') && l.includes('function="' + fn + '"'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  // The shared spare: load() runs the plugin in the ready spare (same pid), which runs the spare's copy of the library.
  const host = app.get(PluginHostService);
  const sharedSpare = () => host.spares().find((s) => s.ready && !s.plugin && !s.prewarmed);
  await until(() => !!sharedSpare(), 'a ready spare');
  const spare = sharedSpare()!.pid;
  const ready = firstValueFrom(host.events().pipe(filter((e) => e.type === 'ready'), timeout(30_000)));
  const info = await host.load({ path: 'dist/shop.js' });
  out.spare = {
    loaded: info.pid === spare,
    readyEvent: (await ready).type === 'ready' && (await ready as { pid: number }).pid === spare,
    listed: host.list().map((p) => [p.name, p.state, p.pid === spare]),
    // A plugin with a copy of the library of its own would get a spare of its own now.
    ownSpares: host.spares().filter((s) => s.plugin).length,
  };

  // Calls move the counters of /metrics.
  const before = await callsTotal('double');
  out.calls = await Promise.all([1, 2, 3].map((n) => host.call('shop', 'double', { n })));
  out.failed = await host.call('shop', 'broken').catch((err: Error) => err.name);
  await host.call('shop', 'lowStock');
  const metrics = await get('/metrics', {});
  out.metrics = {
    type: metrics.type,
    double: [before, await callsTotal('double')],
    errors: /^wwplugin_call_errors_total[{][^}]*plugin="shop"[^}]*function="broken"[^}]*[}] 1$/m.test(metrics.text),
    up: /^wwplugin_plugin_up[{]plugin="shop",plugin_instance="0"[}] 1$/m.test(metrics.text),
  };

  // The page and its API, behind the guard.
  const page = await get('/ops/plugins/');
  const bare = await get('/ops/plugins');
  const script = await get('/ops/plugins/admin-page.js');
  out.page = {
    refused: [(await get('/ops/plugins/', {})).status, (await get('/ops/plugins/api/plugins', {})).status, (await get('/ops/plugins/admin-page.js', {})).status],
    page: [page.status, page.type, page.text.includes('<base href="/ops/plugins/" />')],
    bare: [bare.status, bare.text.includes('<base href="/ops/plugins/" />')],
    script: [script.status, script.type],
  };
  const snapshot = JSON.parse((await get('/ops/plugins/api/plugins')).text) as AdminSnapshot;
  out.rows = snapshot.plugins.map((p) => ({
    name: p.name,
    version: p.version,
    state: p.state,
    pid: p.pid === spare,
    served: p.callsPerSec > 0,
    errors: p.errorRate > 0,
    p50: typeof p.p50Ms === 'number',
  }));
  let records: { level: string; message: string }[] = [];
  await until(async () => {
    records = JSON.parse((await get('/ops/plugins/api/plugins/shop/logs')).text);
    return records.some((r) => r.message.includes('low stock'));
  }, 'the plugin log record');
  out.logs = records.filter((r) => r.message.includes('low stock')).map((r) => [r.level, r.message]);

  // Live updates: Server-Sent Events, a snapshot at once.
  const stream = new AbortController();
  const events = await fetch(base + '/ops/plugins/api/events', { headers: auth, signal: stream.signal });
  const reader = events.body!.getReader();
  let sse = '';
  while (!/\\n\\n/.test(sse)) sse += new TextDecoder().decode((await reader.read()).value);
  stream.abort();
  const first = sse.split('\\n\\n')[0].split('\\n');
  const data = JSON.parse(first.find((l) => l.startsWith('data: '))!.slice(6)) as AdminSnapshot;
  out.sse = [events.status, events.headers.get('content-type'), first.find((l) => l.startsWith('event: ')), data.plugins.map((p) => [p.name, p.state])];

  // Actions need the header; a restart runs in the next shared spare.
  await until(() => !!sharedSpare(), 'the next ready spare');
  const next = sharedSpare()!.pid;
  const withoutHeader = await post('/ops/plugins/api/plugins/shop/restart', auth);
  const restarted = await post('/ops/plugins/api/plugins/shop/restart', { ...auth, 'x-wwplugin-admin': '1' });
  const unknown = await post('/ops/plugins/api/plugins/nobody/restart', { ...auth, 'x-wwplugin-admin': '1' });
  out.actions = {
    withoutHeader: withoutHeader.status,
    restarted: [restarted.status, (restarted.body as AdminSnapshot).plugins.map((p) => [p.name, p.state, p.pid === next])],
    unknown: [unknown.status, unknown.body.error],
  };
  out.afterRestart = await host.call('shop', 'double', { n: 50 });
  await app.close();

  // Without a guard the page is for this machine only.
  app = await create(UnguardedModule);
  out.exposed = await app.listen(0, '0.0.0.0').then(
    () => 'listening',
    (err: Error) => [err.name, app.getHttpServer().listening],
  );
  await app.close();
  // Without a host, Express listens on every address, Fastify on localhost.
  app = await create(UnguardedModule);
  out.noHost = await app.listen(0).then(
    () => 'listening',
    (err: Error) => err.name,
  );
  await app.close();
  app = await create(UnguardedModule);
  await app.listen(0, '127.0.0.1');
  const local = 'http://127.0.0.1:' + (app.getHttpServer().address() as AddressInfo).port;
  const unguarded = await fetch(local + '/wwplugin/api/plugins');
  out.local = [unguarded.status, ((await unguarded.json()) as AdminSnapshot).plugins];
  out.slash = [(await fetch(local + '/wwplugin')).status, (await fetch(local + '/wwplugin/')).status];
} catch (err) {
  out.error = (err as Error).stack;
} finally {
  await app.close();
}
console.log('RESULT ' + JSON.stringify(out));
`;

describe('the plugins page, /metrics and the shared spare in an HTTP app, from the packed package outside the repository', () => {
  let project: PackedProject;

  beforeAll(async () => {
    project = await packedProject('admin', [pinned('@nestjs/platform-express'), FASTIFY]);
    if (project.installed.code !== 0) return;
    project.write({ 'src/shop.ts': PLUGIN, 'src/web-host.ts': HOST });
  }, 300_000);

  afterAll(() => project?.remove());

  it('compiles the host (Express and Fastify adapters) and its plugin', async () => {
    expect(project.installed.code, project.installed.out).toBe(0);
    const build = await project.tsc();
    expect(build.code, build.out).toBe(0);
  }, 120_000);

  it.each([
    { platform: 'express', noHost: 'AdminPageExposedError', slash: [200, 200] },
    // Fastify listens on localhost when given no host, and its routes are strict about a trailing slash.
    { platform: 'fastify', noHost: 'listening', slash: [200, 404] },
  ])(
    'on $platform: a load() in the shared spare, counters that move, the guarded page, its JSON, logs, SSE and actions',
    async ({ platform, noHost, slash }) => {
      const run = await project.node(['dist/web-host.js', platform], 120_000);
      expect(run.code, run.out).toBe(0);
      expect(result(run.out)).toEqual({
        spare: { loaded: true, readyEvent: true, listed: [['shop', 'running', true]], ownSpares: 0 },
        calls: [2, 4, 6],
        failed: 'PluginFunctionError',
        metrics: { type: 'text/plain; version=0.0.4; charset=utf-8', double: [0, 3], errors: true, up: true },
        page: {
          refused: [403, 403, 403],
          page: [200, 'text/html; charset=utf-8', true],
          bare: [200, true],
          script: [200, 'text/javascript; charset=utf-8'],
        },
        rows: [{ name: 'shop', version: '1.2.0', state: 'running', pid: true, served: true, errors: true, p50: true }],
        logs: [['warn', 'low stock: 3 left']],
        sse: [200, 'text/event-stream', 'event: snapshot', [['shop', 'running']]],
        actions: { withoutHeader: 403, restarted: [200, [['shop', 'running', true]]], unknown: [404, 'UnknownPluginError'] },
        afterRestart: 100,
        exposed: ['AdminPageExposedError', false],
        noHost,
        local: [200, []],
        slash,
      });
    },
    150_000,
  );
});
