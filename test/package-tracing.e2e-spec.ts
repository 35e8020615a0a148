import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedProject, pinned, result, type PackedProject } from './support/packed-project.js';

// Tracing as a user sets it up in their own project: the OpenTelemetry packages they install next
// to the packed library, one SDK per process, and the spans of a host → A → B chain compared.

/** The setup file each process imports first: an SDK keeping finished spans in memory. */
const TRACING = `import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

export const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));

/** Finished spans as plain data. */
export const finished = () =>
  exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    kind: s.kind,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parent: s.parentSpanContext?.spanId,
    attributes: { ...s.attributes },
  }));
`;

const PLUGIN = `import { finished } from './tracing.js';
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { bootstrapPlugin, PluginContext, PluginFunction, WwPluginModule } from '@wwplugin/nestjs/plugin';

@Injectable()
class ChainFunctions {
  constructor(private readonly ctx: PluginContext) {}
  @PluginFunction() async chain({ next }: { next: string }) { return 'chain>' + String(await this.ctx.callPlugin(next, 'leaf')); }
  @PluginFunction() leaf() { return 'leaf'; }
  @PluginFunction() spans() { return finished(); }
}

@Module({ imports: [WwPluginModule.forPlugin({ name: process.env.CHAIN_NAME!, version: '1.0.0' })], providers: [ChainFunctions] })
class ChainModule {}

await bootstrapPlugin(ChainModule);
`;

const HOST = `import { finished } from './tracing.js';
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind, trace } from '@opentelemetry/api';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';

@Module({ imports: [WwPluginModule.forRoot({})] })
class HostModule {}

const app = await NestFactory.createApplicationContext(HostModule, { logger: ['warn', 'error'] });
const host = app.get(PluginHostService);
const out: Record<string, unknown> = {};
try {
  for (const name of ['a', 'b']) await host.load({ path: 'dist/plugin.js', name, env: { CHAIN_NAME: name } });
  // The request's own span, as an HTTP instrumentation would make it.
  out.value = await trace.getTracer('my-app').startActiveSpan('GET /chain', { kind: SpanKind.SERVER }, async (span) => {
    try {
      return await host.call('a', 'chain', { next: 'b' });
    } finally {
      span.end();
    }
  });
  // Each plugin ends its SERVER span once its reply is written: ask until both are there.
  const deadline = Date.now() + 10_000;
  let spans: { a: unknown[]; b: unknown[] };
  do spans = { a: (await host.call('a', 'spans')) as unknown[], b: (await host.call('b', 'spans')) as unknown[] };
  while ((spans.a.length < 2 || spans.b.length < 1) && Date.now() < deadline);
  out.spans = { host: finished(), ...spans };
} catch (err) {
  out.error = (err as Error).message;
} finally {
  await app.close();
}
console.log('RESULT ' + JSON.stringify(out));
`;

interface SpanData {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parent?: string;
  attributes: Record<string, unknown>;
}

// SpanKind's numbers, as the OpenTelemetry api defines them.
const SERVER = 1;
const CLIENT = 2;

describe('tracing from the packed package, with the OpenTelemetry SDK a user installs', () => {
  let packed: PackedProject;

  beforeAll(async () => {
    packed = await packedProject('tracing', ['@opentelemetry/api', '@opentelemetry/sdk-trace', '@opentelemetry/context-async-hooks'].map(pinned));
  }, 300_000);

  afterAll(() => packed?.remove());

  it('gives a request → host → plugin A → plugin B one trace across three processes, each span with its attributes', async () => {
    expect(packed.installed.code, packed.installed.out).toBe(0);
    packed.write({ 'src/tracing.ts': TRACING, 'src/plugin.ts': PLUGIN, 'src/host.ts': HOST });
    const built = await packed.tsc();
    expect(built.code, built.out).toBe(0);
    const ran = await packed.node(['dist/host.js'], 90_000);
    const out = result(ran.out);
    expect(out.error, ran.out).toBeUndefined();
    expect(out.value).toBe('chain>leaf');

    const spans = out.spans as { host: SpanData[]; a: SpanData[]; b: SpanData[] };
    const find = (side: SpanData[], name: string, kind: number) => {
      const span = side.find((s) => s.name === name && s.kind === kind);
      expect(span, `${name} (kind ${kind}) in ${JSON.stringify(side.map((s) => [s.name, s.kind]))}`).toBeDefined();
      return span!;
    };
    const request = find(spans.host, 'GET /chain', SERVER);
    const hostCall = find(spans.host, 'a/chain', CLIENT);
    const aServes = find(spans.a, 'a/chain', SERVER);
    const aCalls = find(spans.a, 'b/leaf', CLIENT);
    const relay = find(spans.host, 'b/leaf', SERVER);
    const bServes = find(spans.b, 'b/leaf', SERVER);
    const chain = [request, hostCall, aServes, aCalls, relay, bServes];
    expect(new Set(chain.map((s) => s.traceId)).size).toBe(1);
    for (let i = 1; i < chain.length; i++) expect(chain[i].parent, `${chain[i].name} under ${chain[i - 1].name}`).toBe(chain[i - 1].spanId);

    // The spans whose id a frame carried got their attributes after the frame left; all are there.
    expect(hostCall.attributes).toMatchObject({
      'rpc.system': 'wwplugin',
      'wwplugin.plugin': 'a',
      'wwplugin.function': 'chain',
      'wwplugin.caller': 'host',
      'wwplugin.outcome': 'ok',
    });
    expect(aCalls.attributes).toMatchObject({
      'wwplugin.plugin': 'b',
      'wwplugin.function': 'leaf',
      'wwplugin.kind': 'relay',
      'wwplugin.caller': 'a',
      'wwplugin.outcome': 'ok',
    });
    expect(relay.attributes).toMatchObject({ 'wwplugin.plugin': 'b', 'wwplugin.kind': 'relay', 'wwplugin.caller': 'a', 'wwplugin.outcome': 'ok' });
    expect(bServes.attributes).toMatchObject({ 'wwplugin.plugin': 'b', 'wwplugin.function': 'leaf', 'wwplugin.caller': 'a', 'wwplugin.outcome': 'ok' });
  }, 150_000);
});
