import 'reflect-metadata';
import { Controller, Get, Module, Param, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { PluginHealthIndicator } from '@wwplugin/nestjs/health';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, fixture, ROOT } from './support/host-harness.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly plugins: PluginHealthIndicator,
  ) {}

  /** Every loaded plugin is required. */
  @Get()
  @HealthCheck()
  all() {
    return this.health.check([() => this.plugins.isHealthy('plugins')]);
  }

  /** Only echo is required: the others may be down without failing the check. */
  @Get('echo-required')
  @HealthCheck()
  echoRequired() {
    return this.health.check([() => this.plugins.isHealthy('plugins', { required: ['echo'] })]);
  }

  /** Requires a plugin that was never loaded. */
  @Get('ghost-required')
  @HealthCheck()
  ghostRequired() {
    return this.health.check([() => this.plugins.isHealthy('plugins', { required: ['echo', 'ghost'] })]);
  }

  /** One plugin as its own indicator. */
  @Get('plugin/:name')
  @HealthCheck()
  one(@Param('name') name: string) {
    return this.health.check([() => this.plugins.isRunning(name, name)]);
  }
}

@Module({
  imports: [WwPluginModule.forRoot({ plugins: [{ path: APP('echo'), name: 'echo' }, fixture('side')] }), TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [PluginHealthIndicator],
})
class HealthAppModule {}

describe('PluginHealthIndicator with @nestjs/terminus over HTTP', () => {
  let app: INestApplication;
  let host: PluginHostService;
  let base: string;

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    app = await NestFactory.create(HealthAppModule, { logger: process.env.TEST_LOGS ? undefined : ['error'] });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    host = app.get(PluginHostService);
  }, 30_000);

  afterAll(async () => {
    await app?.close();
  });

  it("is up while every plugin runs, with each plugin's state", async () => {
    const { status, body } = await get('/health');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    const plugins = body.details.plugins;
    expect(plugins).toMatchObject({ status: 'up', running: 2, total: 2 });
    expect(plugins.plugins.echo).toMatchObject({ state: 'running', required: true, restarts: 0 });
    expect(plugins.plugins.side).toMatchObject({ state: 'running', required: true });
    expect(plugins.plugins.echo.pid).toBe(host.get('echo')!.pid);
    expect((await get('/health/plugin/echo')).body.details.echo).toMatchObject({ status: 'up', plugin: 'echo', state: 'running' });
  }, 30_000);

  it('is down (503) once a required plugin is stopped, and up again when it is back', async () => {
    await host.stop('side');
    const { status, body } = await get('/health');
    expect(status).toBe(503);
    expect(body.status).toBe('error');
    expect(body.error.plugins).toMatchObject({ status: 'down', running: 1, total: 2, message: 'Not running: side (stopped).' });
    expect(body.error.plugins.plugins.side).toMatchObject({ state: 'stopped', required: true });
    expect(body.error.plugins.plugins.echo).toMatchObject({ state: 'running' });

    // A plugin that is not required only degrades the check: still HTTP 200.
    const partial = await get('/health/echo-required');
    expect(partial.status).toBe(200);
    expect(partial.body.status).toBe('degraded');
    expect(partial.body.details.plugins).toMatchObject({ status: 'degraded', message: 'Not running: side (stopped).' });
    expect(partial.body.details.plugins.plugins.side).toMatchObject({ state: 'stopped', required: false });

    const one = await get('/health/plugin/side');
    expect(one.status).toBe(503);
    expect(one.body.error.side).toMatchObject({ status: 'down', state: 'stopped' });

    await host.start('side');
    const again = await get('/health');
    expect(again.status).toBe(200);
    expect(again.body.details.plugins).toMatchObject({ status: 'up', running: 2 });
  }, 60_000);

  it('counts a required plugin that is not loaded as down', async () => {
    const { status, body } = await get('/health/ghost-required');
    expect(status).toBe(503);
    expect(body.error.plugins.plugins.ghost).toEqual({ state: 'not-loaded', required: true });
    expect(body.error.plugins.message).toBe('Not running: ghost (not-loaded).');
    expect((await get('/health/plugin/ghost')).status).toBe(503);
  }, 30_000);
});

describe('@nestjs/terminus stays optional', () => {
  it('the main entry point loads without it; only @wwplugin/nestjs/health needs it', async () => {
    // A Node process in which @nestjs/terminus cannot be resolved, as for a user who never installed it.
    const dir = mkdtempSync(join(tmpdir(), 'wwplugin-noterminus-'));
    try {
      writeFileSync(
        join(dir, 'hooks.mjs'),
        `export async function resolve(specifier, context, next) {
  if (specifier === '@nestjs/terminus' || specifier.startsWith('@nestjs/terminus/')) throw new Error('@nestjs/terminus is not installed');
  return next(specifier, context);
}\n`,
      );
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
      const script = [
        "const main = await import('@wwplugin/nestjs');",
        "console.log('main:', typeof main.PluginHostService, typeof main.WwPluginModule);",
        "try { await import('@wwplugin/nestjs/health'); console.log('health: loaded'); }",
        "catch (e) { console.log('health:', e.message); }",
      ].join('\n');
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', join(dir, 'register.mjs'), '--input-type=module', '-e', script], {
        cwd: ROOT,
      });
      expect(stdout).toBe('main: function function\nhealth: @nestjs/terminus is not installed\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
