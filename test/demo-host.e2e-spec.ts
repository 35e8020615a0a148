import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginClientProxy, PluginHostService } from '@wwplugin/nestjs';
import { afterEach, describe, expect, it } from 'vitest';
import { AppModule } from '../apps/demo-host/src/app.module.js';
import { readSse, tour } from '../apps/demo-host/src/tour.js';
import { APP } from './support/host-harness.js';

describe('the demo host', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(): Promise<{ url: string; host: PluginHostService }> {
    app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    return { url: await app.getUrl(), host: app.get(PluginHostService) };
  }

  it('its SSE endpoint streams what a plugin emits, and /greet, /plugins and /health answer', async () => {
    const { url, host } = await boot();
    await Promise.all([host.load(APP('echo')), host.load(APP('ticker'))]);
    const sse = readSse(`${url}/events/ticks`, 3);
    await host.call('ticker', 'startTicking', { everyMs: 20, topic: 'ticks' });
    const events = (await sse) as Array<{ plugin: string; topic: string; payload: { n: number } }>;
    expect(events.map((e) => [e.plugin, e.topic])).toEqual([
      ['ticker', 'ticks'],
      ['ticker', 'ticks'],
      ['ticker', 'ticks'],
    ]);
    expect(events[1].payload.n).toBe(events[0].payload.n + 1);
    expect(events[2].payload.n).toBe(events[1].payload.n + 1);

    expect(await (await fetch(`${url}/greet?name=Ada`)).text()).toBe('Hello, Ada');
    const plugins = (await (await fetch(`${url}/plugins`)).json()) as Array<{ name: string; state: string }>;
    expect(plugins.map((p) => `${p.name}:${p.state}`).sort()).toEqual(['echo:running', 'ticker:running']);
    const up = await fetch(`${url}/health`);
    expect(up.status).toBe(200);
    expect(((await up.json()) as { status: string }).status).toBe('ok');
    await host.stop('ticker');
    expect((await fetch(`${url}/health`)).status).toBe(503);
  }, 60_000);

  it('runs the whole demo tour without a failed check', async () => {
    const { url, host } = await boot();
    const log = console.log;
    console.log = () => undefined; // the tour narrates; the test only needs it to succeed
    try {
      await tour(host, { url, client: app!.get(PluginClientProxy), plugin: APP });
    } finally {
      console.log = log;
    }
    expect(
      host
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['echo', 'ticker']);
  }, 90_000);
});
