import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { CapturingLogger } from './support/capturing-logger.js';
import { fixture, until } from './support/host-harness.js';

// Plugin output: each stdout/stderr line reaches the host's Nest logger with the plugin's name;
// whatever a plugin writes there cannot disturb the session.
describe('supervision: plugin output in the host log', () => {
  let app: INestApplicationContext;
  let host: PluginHostService;
  const logger = new CapturingLogger();
  const fromTalker = () => logger.lines.filter((l) => l.context === 'Plugin:talker');

  beforeAll(async () => {
    @Module({ imports: [WwPluginModule.forRoot({ heartbeat: false })] })
    class LogHostModule {}
    app = await NestFactory.createApplicationContext(LogHostModule, { logger });
    host = app.get(PluginHostService);
    await host.load(fixture('talker', 'supervision'));
  }, 30_000);

  afterAll(() => app?.close(), 30_000);

  it('stderr lines arrive at warn level and stdout lines at log level, named by the plugin', async () => {
    const tag = `${process.pid}-${Date.now()}`;
    await host.call('talker', 'supOutput', { out: `to stdout ${tag}`, err: `to stderr ${tag}` });
    await until(() => fromTalker().some((l) => l.message === `to stderr ${tag}`), 10_000, 'the stderr line in the host log');
    await until(() => fromTalker().some((l) => l.message === `to stdout ${tag}`), 10_000, 'the stdout line in the host log');
    expect(fromTalker().find((l) => l.message === `to stderr ${tag}`)!.level).toBe('warn');
    expect(fromTalker().find((l) => l.message === `to stdout ${tag}`)!.level).toBe('log');
  }, 20_000);

  it('arbitrary bytes without newlines on stdout are logged in bounded pieces and break nothing', async () => {
    const before = fromTalker().length;
    expect(await host.call('talker', 'supNoise', { bytes: 200_000 })).toBe(200_000);
    // The session is untouched: calls go on.
    expect(await host.call('talker', 'echo', { value: 'fine' })).toBe('fine');
    await until(
      () =>
        fromTalker()
          .slice(before)
          .some((l) => l.message.startsWith('AAAAA')),
      10_000,
      'the noise in the host log',
    );
    for (const line of fromTalker().slice(before)) expect(line.message.length).toBeLessThanOrEqual(16 * 1024);
    // The next newline ends the noise's last piece: output after it is logged as usual.
    const tag = `after-noise-${Date.now()}`;
    await host.call('talker', 'supOutput', { out: tag, err: tag });
    await until(() => fromTalker().some((l) => l.message.endsWith(tag) && l.level === 'log'), 10_000, 'the line after the noise');
  }, 20_000);
});
