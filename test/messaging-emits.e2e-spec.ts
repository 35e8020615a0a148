import 'reflect-metadata';
import { Controller, Module, Param, Query, Sse, type INestApplication, type MessageEvent } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { map, Observable, ReplaySubject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginHostService, WwPluginModule, type PluginMessage } from '@wwplugin/nestjs';
import { APP, collect, fixture } from './support/host-harness.js';

/** The demo's idiom: plugin messages served as Server-Sent Events by a plain Nest controller. */
@Controller()
class EventsController {
  constructor(private readonly host: PluginHostService) {}

  @Sse('events/:topic')
  events(@Param('topic') topic: string, @Query('from') from?: string): Observable<MessageEvent> {
    return this.host.messages(topic, from).pipe(map((m) => ({ type: m.topic, data: { plugin: m.plugin, payload: m.payload, at: m.at } })));
  }
}

@Module({
  imports: [WwPluginModule.forRoot({ heartbeat: false, plugins: [fixture('a', 'messaging'), fixture('b', 'messaging'), APP('ticker')] })],
  controllers: [EventsController],
})
class SseHostModule {}

interface SseEvent {
  event?: string;
  data: any;
}

/** An SSE client on node:http: resolves once the response headers are in (the server subscribed). */
function openSse(url: string): Promise<{ res: IncomingMessage; events: Observable<SseEvent>; close(): void; req: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      const events = new ReplaySubject<SseEvent>();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { data: undefined };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (!data.length) continue; // comments and keep-alives
          event.data = JSON.parse(data.join('\n'));
          events.next(event);
        }
      });
      res.on('end', () => events.complete());
      res.on('error', () => events.complete());
      resolve({ res, req, events, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('messaging: plugin messages to the host, as Observables and as SSE', () => {
  let app: INestApplication;
  let host: PluginHostService;
  let base: string;
  const clients: Array<{ close(): void }> = [];

  beforeAll(async () => {
    app = await NestFactory.create(SseHostModule, { logger: process.env.TEST_LOGS ? undefined : ['error'] });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    host = app.get(PluginHostService);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await app?.close();
  });

  it('emits reach PluginHostService.messages(topic) as { plugin, pluginId, topic, payload, at }, in order', async () => {
    const got = collect(host.messages<{ i: number; tag: string }>('news'), 1_000, 20_000);
    await host.call('a', 'emit', { topic: 'news', count: 1_000, payload: { tag: 'n' } });
    const messages = await got;
    expect(messages.map((m) => m.payload.i)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    const first: PluginMessage = messages[0];
    expect(first).toMatchObject({ plugin: 'a', pluginId: host.get('a')!.id, topic: 'news', payload: { i: 0, tag: 'n' } });
    expect(first.at).toBeInstanceOf(Date);
  });

  it('messages(topic, from) keeps only one plugin, by name or id; messages() sees every topic', async () => {
    const fromB = collect(host.messages('mixed', 'b'), 3);
    const fromBById = collect(host.messages('mixed', host.get('b')!.id), 3);
    const everything = collect(host.messages(), 6);
    await host.call('a', 'emit', { topic: 'mixed', count: 3, payload: { by: 'a' } });
    await host.call('b', 'emit', { topic: 'mixed', count: 3, payload: { by: 'b' } });
    for (const list of [await fromB, await fromBById]) {
      expect(list.map((m) => [m.plugin, (m.payload as { by: string }).by])).toEqual([
        ['b', 'b'],
        ['b', 'b'],
        ['b', 'b'],
      ]);
    }
    expect((await everything).map((m) => m.plugin)).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);
  });

  it('an @Sse() endpoint of a real HTTP app streams what a plugin emits', async () => {
    const sse = await openSse(`${base}/events/alerts`);
    clients.push(sse);
    expect(sse.res.statusCode).toBe(200);
    expect(sse.res.headers['content-type']).toContain('text/event-stream');
    // The headers are only sent once Nest subscribed to host.messages(): emitting now is safe.
    const first = collect(sse.events, 25, 20_000);
    await host.call('a', 'emit', { topic: 'alerts', count: 25, payload: { level: 'warn' } });
    const events = await first;
    expect(events.map((e) => e.data.payload.i)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(events[0]).toMatchObject({ event: 'alerts', data: { plugin: 'a', payload: { level: 'warn', i: 0 } } });
    expect(new Date(events[0].data.at).getTime()).not.toBeNaN();
    sse.close();
  });

  it('SSE with ?from= shows one plugin only, while another emits on the same topic', async () => {
    const sse = await openSse(`${base}/events/shared?from=b`);
    clients.push(sse);
    const got = collect(sse.events, 5, 20_000);
    await host.call('a', 'emit', { topic: 'shared', count: 5 });
    await host.call('b', 'emit', { topic: 'shared', count: 5 });
    expect((await got).map((e) => [e.data.plugin, e.data.payload.i])).toEqual([0, 1, 2, 3, 4].map((i) => ['b', i]));
    sse.close();
  });

  it('the ticker example emits ticks that reach an SSE client, counting from what a push set', async () => {
    const sse = await openSse(`${base}/events/ticks`);
    clients.push(sse);
    const got = collect(sse.events, 3, 20_000);
    // Its @OnPush('ticker.reset') handler sets the counter; the push goes out before the call.
    host.push('ticker', 'ticker.reset', { to: 100 });
    expect(await host.call('ticker', 'startTicking', { everyMs: 20 })).toBe('ticks');
    const ticks = await got;
    expect(await host.call('ticker', 'stopTicking')).toBe(true);
    expect(ticks.every((e) => e.data.plugin === 'ticker')).toBe(true);
    const ns = ticks.map((e) => e.data.payload.n as number);
    expect(ns).toEqual([101, 102, 103]);
    sse.close();
  });
});
