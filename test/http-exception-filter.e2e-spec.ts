import 'reflect-metadata';
import { Controller, Get, Module, Param, Query, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginCallForbiddenError, PluginHostService, WwPluginHttpExceptionFilter, WwPluginModule } from '@wwplugin/nestjs';
import { CapturingLogger } from './support/capturing-logger.js';
import { fixture, until } from './support/host-harness.js';

/** Calls a plugin function with the JSON arguments of `?args=`; `?timeoutMs=` sets the deadline. */
@Controller()
class CallController {
  constructor(private readonly host: PluginHostService) {}

  @Get('call/:plugin/:fn')
  call(@Param('plugin') plugin: string, @Param('fn') fn: string, @Query('args') args?: string, @Query('timeoutMs') timeoutMs?: string): Promise<unknown> {
    return this.host.call(plugin, fn, args ? JSON.parse(args) : {}, timeoutMs ? { timeoutMs: Number(timeoutMs) } : {});
  }

  @Get('forbidden')
  forbidden(): never {
    throw new PluginCallForbiddenError('Plugin "a" may not call b.c (refused by allowPluginCalls).');
  }

  @Get('bug')
  bug(): never {
    throw new Error('a bug in the host');
  }
}

async function boot(withFilter: boolean, logger: CapturingLogger): Promise<{ app: INestApplication; base: string }> {
  @Module({
    imports: [WwPluginModule.forRoot({ maxInFlight: 1, whenBusy: 'reject' })],
    controllers: [CallController],
    providers: withFilter ? [WwPluginHttpExceptionFilter.provider()] : [],
  })
  class HttpHostModule {}
  const app = await NestFactory.create(HttpHostModule, { logger });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, base: `http://127.0.0.1:${address.port}` };
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
};
const q = (args: unknown) => `?args=${encodeURIComponent(JSON.stringify(args))}`;

// A host serving plugin results over HTTP, with the exported filter installed in one line.
describe('http: WwPluginHttpExceptionFilter maps library errors to HTTP answers', () => {
  let app: INestApplication;
  let base: string;
  let host: PluginHostService;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    ({ app, base } = await boot(true, logger));
    host = app.get(PluginHostService);
    await host.load(fixture('web'));
    await host.load(fixture('errs', 'nest-errors'));
    await host.load(fixture('gone'));
    await host.stop('gone');
  });
  afterAll(() => app?.close());

  it('unknown plugin: 404 with a JSON body naming the error', async () => {
    const res = await get(`${base}/call/nobody/echo`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'UnknownPluginError', code: 'UNKNOWN_PLUGIN' });
    expect(String(res.body.message)).toContain('nobody');
  });

  it('unknown function: 404', async () => {
    const res = await get(`${base}/call/web/nothing`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: 'UnknownFunctionError', code: 'UNKNOWN_FUNCTION' });
  });

  it('invalid argument: 400', async () => {
    const res = await get(`${base}/call/web/add${q({ a: 'one' })}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'InvalidArgumentError', code: 'INVALID_ARGUMENT' });
  });

  it('forbidden plugin call: 403', async () => {
    const res = await get(`${base}/forbidden`);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'PluginCallForbiddenError', code: 'FORBIDDEN' });
  });

  it('not running: 503 with Retry-After', async () => {
    const res = await get(`${base}/call/gone/echo`);
    expect(res.status).toBe(503);
    expect(res.retryAfter).toBe('1');
    expect(res.body).toMatchObject({ error: 'PluginNotRunningError', code: 'NOT_RUNNING' });
  });

  it('deadline: 504', async () => {
    const res = await get(`${base}/call/web/sleep${q({ ms: 10_000 })}&timeoutMs=200`);
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ error: 'DeadlineExceededError', code: 'DEADLINE_EXCEEDED' });
  });

  it('busy: 503 with Retry-After', async () => {
    const first = host.call('web', 'never').catch((e: unknown) => e);
    await until(() => (host.get('web')?.inFlight ?? 0) === 1, 5_000, 'the first call in flight');
    const res = await get(`${base}/call/web/echo${q({ value: 1 })}`);
    expect(res.status).toBe(503);
    expect(res.retryAfter).toBe('1');
    expect(res.body).toMatchObject({ error: 'PluginBusyError', code: 'BUSY' });
    await host.restart('web');
    await first;
  });

  it("the plugin's HttpException: its status, with the remote name and code", async () => {
    const res = await get(`${base}/call/errs/errors.provider${q({ kind: 'http' })}`);
    expect(res.status).toBe(418);
    expect(res.body).toMatchObject({ statusCode: 418, error: 'PluginFunctionError', remoteName: 'HttpException', remoteCode: 'E_TEA', message: 'teapot' });
  });

  it('a handler error: 500, logged by the filter', async () => {
    const res = await get(`${base}/call/web/fail${q({ message: 'handler broke', code: 'E_BROKE' })}`);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ error: 'PluginFunctionError', remoteCode: 'E_BROKE', message: 'handler broke' });
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'PluginFunctionError: handler broke', context: 'WwPluginHttpExceptionFilter' }),
    );
  });

  it('an error of the app itself is left to Nest: 500, logged', async () => {
    const res = await get(`${base}/bug`);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    expect(logger.lines.some((l) => l.level === 'error' && l.context === 'ExceptionsHandler' && l.message.includes('a bug in the host'))).toBe(true);
  });
});

describe('http: without the filter, library errors are 500s that Nest logs', () => {
  let app: INestApplication;
  let base: string;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    ({ app, base } = await boot(false, logger));
  });
  afterAll(() => app?.close());

  it('unknown plugin: 500, and Nest logs the error', async () => {
    const res = await get(`${base}/call/nobody/echo`);
    expect(res.status).toBe(500);
    expect(logger.lines.some((l) => l.level === 'error' && l.context === 'ExceptionsHandler' && l.message.includes('No plugin "nobody"'))).toBe(true);
  });
});
