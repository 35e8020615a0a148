import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind, trace } from '@opentelemetry/api';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryTracing, type SpanRecord } from './fixtures/plugin/behaviours/tracing.js';
import { fixture, until } from './support/host-harness.js';

@Controller()
class ChainController {
  constructor(private readonly host: PluginHostService) {}

  /** The request's own span, as an HTTP instrumentation would make it, around host → trA → trB. */
  @Get('chain')
  chain(): Promise<{ value: unknown }> {
    return trace.getTracer('test-http').startActiveSpan('GET /chain', { kind: SpanKind.SERVER }, async (span) => {
      try {
        return { value: await this.host.call('trA', 'trChain', { next: 'trB' }) };
      } finally {
        span.end();
      }
    });
  }

  /** A push sent while a span is active. */
  @Get('push')
  push(): { sent: number } {
    return trace.getTracer('test-http').startActiveSpan('GET /push', (span) => {
      try {
        return { sent: this.host.push('trA', 'tr.topic', { n: 1 }) };
      } finally {
        span.end();
      }
    });
  }
}

@Module({
  imports: [WwPluginModule.forRoot({ plugins: [fixture('trA', 'tracing'), fixture('trB', 'tracing', { name: 'trB' })] })],
  controllers: [ChainController],
})
class TracingAppModule {}

describe('Tracing with OpenTelemetry across host and plugin processes', () => {
  let app: INestApplication;
  let host: PluginHostService;
  let base: string;
  let tracing: Awaited<ReturnType<typeof inMemoryTracing>>;

  beforeAll(async () => {
    // Both are picked up by every plugin the host starts (and reported back by trEnv).
    process.env.OTEL_RESOURCE_ATTRIBUTES = 'deployment.environment=e2e';
    tracing = await inMemoryTracing();
    app = await NestFactory.create(TracingAppModule, { logger: process.env.TEST_LOGS ? undefined : ['error'] });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    host = app.get(PluginHostService);
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await tracing?.shutdown();
    delete process.env.OTEL_RESOURCE_ATTRIBUTES;
  });

  const pluginSpans = async (name: string) => (await host.call(name, 'trSpans')) as SpanRecord[];

  it('gives an HTTP request → host → plugin A → plugin B one trace whose spans nest across the three processes', async () => {
    const res = await fetch(`${base}/chain`);
    expect(await res.json()).toEqual({ value: 'chain>leaf' });

    const hostSpans = tracing.spans();
    const http = hostSpans.find((s) => s.name === 'GET /chain')!;
    expect(http).toBeDefined();
    const traceId = http.traceId;
    const inTrace = (spans: SpanRecord[]) => spans.filter((s) => s.traceId === traceId);

    // host: CLIENT trA/trChain under the request; SERVER for the relay to trB (as the host saw it).
    const hostCall = inTrace(hostSpans).find((s) => s.name === 'trA/trChain' && s.kind === SpanKind.CLIENT)!;
    expect(hostCall.parentSpanId).toBe(http.spanId);
    expect(hostCall.attributes).toMatchObject({
      'wwplugin.plugin': 'trA',
      'wwplugin.function': 'trChain',
      'wwplugin.kind': 'call',
      'wwplugin.caller': 'host',
      'wwplugin.outcome': 'ok',
      'rpc.system': 'wwplugin',
    });

    const aSpans = inTrace(await pluginSpans('trA'));
    const aServer = aSpans.find((s) => s.name === 'trA/trChain' && s.kind === SpanKind.SERVER)!;
    expect(aServer.parentSpanId).toBe(hostCall.spanId);
    expect(aServer.attributes).toMatchObject({ 'wwplugin.caller': 'host', 'wwplugin.outcome': 'ok' });
    const aClient = aSpans.find((s) => s.name === 'trB/trLeaf' && s.kind === SpanKind.CLIENT)!;
    expect(aClient.parentSpanId).toBe(aServer.spanId);
    expect(aClient.attributes).toMatchObject({ 'wwplugin.kind': 'relay', 'wwplugin.caller': 'trA' });

    // The host's relay span sits between plugin A's call and plugin B's handling of it.
    await until(() => inTrace(tracing.spans()).some((s) => s.name === 'trB/trLeaf' && s.kind === SpanKind.SERVER), 5_000, 'the relay span');
    const relay = inTrace(tracing.spans()).find((s) => s.name === 'trB/trLeaf' && s.kind === SpanKind.SERVER)!;
    expect(relay.parentSpanId).toBe(aClient.spanId);
    expect(relay.attributes).toMatchObject({ 'wwplugin.kind': 'relay', 'wwplugin.caller': 'trA', 'wwplugin.plugin': 'trB' });

    const bSpans = inTrace(await pluginSpans('trB'));
    const bServer = bSpans.find((s) => s.name === 'trB/trLeaf' && s.kind === SpanKind.SERVER)!;
    expect(bServer.parentSpanId).toBe(relay.spanId);
    expect(bServer.attributes).toMatchObject({ 'wwplugin.plugin': 'trB', 'wwplugin.caller': 'trA', 'wwplugin.outcome': 'ok' });
  });

  it("marks a failed call's spans on both sides with the error code", async () => {
    await expect(host.call('trA', 'trFail')).rejects.toThrow('refused');
    const hostSpan = tracing.spans().find((s) => s.name === 'trA/trFail')!;
    expect(hostSpan.attributes).toMatchObject({ 'wwplugin.outcome': 'error', 'wwplugin.error_code': 'TR_REFUSED' });
    const pluginSpan = (await pluginSpans('trA')).find((s) => s.name === 'trA/trFail')!;
    expect(pluginSpan.traceId).toBe(hostSpan.traceId);
    expect(pluginSpan.parentSpanId).toBe(hostSpan.spanId);
    expect(pluginSpan.attributes).toMatchObject({ 'wwplugin.outcome': 'error', 'wwplugin.error_code': 'TR_REFUSED' });
  });

  it('spans a stream on both sides from its start to its end', async () => {
    expect(await lastValueFrom(host.stream<number>('trA', 'trCount', { n: 3 }).pipe(toArray()))).toEqual([1, 2, 3]);
    const client = tracing.spans().find((s) => s.name === 'trA/trCount' && s.kind === SpanKind.CLIENT)!;
    expect(client.attributes).toMatchObject({ 'wwplugin.kind': 'stream', 'wwplugin.caller': 'host', 'wwplugin.outcome': 'ok' });
    let served: SpanRecord | undefined;
    await until(async () => !!(served = (await pluginSpans('trA')).find((s) => s.name === 'trA/trCount')), 5_000, 'the served stream span');
    expect(served).toMatchObject({ traceId: client.traceId, parentSpanId: client.spanId, kind: SpanKind.SERVER });
    expect(served!.attributes).toMatchObject({ 'wwplugin.caller': 'host', 'wwplugin.outcome': 'ok' });
  });

  it('carries the trace context of a push to the span that receives it in the plugin', async () => {
    expect(await (await fetch(`${base}/push`)).json()).toEqual({ sent: 1 });
    const http = tracing.spans().find((s) => s.name === 'GET /push')!;
    let received: SpanRecord | undefined;
    await until(async () => !!(received = (await pluginSpans('trA')).find((s) => s.name === 'push tr.topic')), 5_000, 'the push span');
    expect(received).toMatchObject({ traceId: http.traceId, parentSpanId: http.spanId, kind: SpanKind.CONSUMER });
  });

  it('carries the trace context of an emit to the span that receives it in the host', async () => {
    await host.call('trA', 'trEmit', { topic: 'tr.emit' });
    let received: SpanRecord | undefined;
    await until(() => !!(received = tracing.spans().find((s) => s.name === 'emit tr.emit')), 5_000, 'the emit span');
    const served = (await pluginSpans('trA')).find((s) => s.name === 'trA/trEmit' && s.kind === SpanKind.SERVER)!;
    expect(received).toMatchObject({ traceId: served.traceId, parentSpanId: served.spanId, kind: SpanKind.CONSUMER });
    expect(received!.attributes).toMatchObject({ 'wwplugin.plugin': 'trA', 'wwplugin.topic': 'tr.emit' });
  });

  it('passes the OTEL_* environment on to plugins, a named one as its own service', async () => {
    expect(await host.call('trB', 'trEnv')).toMatchObject({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e', OTEL_SERVICE_NAME: 'trB' });
  });
});
