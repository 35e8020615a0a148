import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginFunctionError, PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { CapturingLogger } from './support/capturing-logger.js';
import { ROOT, fixture, until } from './support/host-harness.js';

const GLOBAL_PLUGIN = `${ROOT}dist/test/fixtures/plugin/global-enhancers.main.js`;

// A plugin's Nest Logger calls travel as log records; the host logs each once, with its own
// logger, at the same level, under "<plugin>:<context>".
describe('logs: plugin log records in the host log', () => {
  let app: INestApplicationContext;
  let host: PluginHostService;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    @Module({ imports: [WwPluginModule.forRoot({ debug: true })] })
    class LogHostModule {}
    app = await NestFactory.createApplicationContext(LogHostModule, { logger });
    host = app.get(PluginHostService);
    await host.load(fixture('logs', 'nest-logs,nest-guide'));
    await host.load({ path: GLOBAL_PLUGIN, name: 'warned', env: { FIXTURE_NAME: 'warned', FIXTURE_GLOBAL: 'class', FIXTURE_ERROR_LEVEL: 'warn' } });
  });
  afterAll(() => app?.close());

  it('one record per log call, at its level, under plugin:context, stack kept, no nested prefix', async () => {
    await expect(host.call('logs', 'logEveryLevel', { tag: 'one' })).resolves.toBe('one');
    await until(() => logger.lines.some((l) => l.message === 'debug one'), 5_000, 'the debug record');
    const mine = logger.lines.filter((l) => l.message.endsWith(' one'));
    expect(mine.map((l) => [l.level, l.context, l.message])).toEqual([
      ['fatal', 'logs:LoggingFunctions', 'fatal one'],
      ['error', 'logs:LoggingFunctions', 'error one'],
      ['warn', 'logs:LoggingFunctions', 'warn one'],
      ['log', 'logs:LoggingFunctions', 'log one'],
      ['debug', 'logs:LoggingFunctions', 'debug one'],
    ]);
    expect(mine[1]!.stack).toContain('Error: stack one');
    expect(mine[1]!.stack).toContain('logEveryLevel');
    // The stack is in the record, not spread over lines of its own; nothing arrives as raw output.
    expect(logger.lines.filter((l) => l.message.includes('stack one') || l.message.includes('[Nest]'))).toEqual([]);
  });

  it('an error the caller receives is logged once, at debug, in the plugin; never again at the host', async () => {
    const err = await host.call('logs', 'throwExpected', { tag: 'two' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginFunctionError);
    await until(() => logger.lines.some((l) => l.message.includes('expected two')), 5_000, 'the handler error record');
    const about = logger.lines.filter((l) => l.message.includes('expected two'));
    expect(about).toEqual([
      expect.objectContaining({ level: 'debug', context: 'logs:WwPlugin', message: 'A handler threw; its caller receives RpcException: expected two' }),
    ]);
  });

  it("the level is the plugin's choice (handlerErrorLogLevel)", async () => {
    await expect(host.call('warned', 'provider.global', { deny: true })).rejects.toBeInstanceOf(PluginFunctionError);
    await until(() => logger.lines.some((l) => l.context === 'warned:WwPlugin'), 5_000, 'the handler error record');
    expect(logger.lines.filter((l) => l.context === 'warned:WwPlugin')).toEqual([
      expect.objectContaining({ level: 'warn', message: 'A handler threw; its caller receives ForbiddenException: Forbidden resource' }),
    ]);
  });

  it('records logged before the host welcomed the plugin arrive too', async () => {
    await until(() => logger.lines.some((l) => l.message === 'booting before the welcome'), 5_000, 'the early record');
    expect(logger.lines.filter((l) => l.message === 'booting before the welcome')).toEqual([
      expect.objectContaining({ level: 'warn', context: 'logs:LoggingFunctions' }),
    ]);
  });

  it('raw stdout is still captured line by line', async () => {
    host.push('logs', 'admin.flush', { n: 1 });
    await until(() => logger.lines.some((l) => l.context === 'Plugin:logs' && l.message.includes('flush pushed')), 5_000, 'the console.log line');
  });
});
