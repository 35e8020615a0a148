import { context, ROOT_CONTEXT, SamplingDecision, SpanKind, trace, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallObservers } from '../host/call-observers.js';
import { CallTracer } from '../host/call-tracer.js';
import { PluginNotRunningError } from '../errors/wwplugin.errors.js';
import { WireErrorCode } from './protocol.constants.js';
import { callTraced, openCallSpan, serveTraced, ServedCallContext } from './call-tracing.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const FIELDS = { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: '' };
const CALL = { plugin: 'p', fn: 'f', kind: 'call', caller: 'host' };

/** A tracer that records when spans start and end (their times as given) into `log`. */
function recordingTracer(log: string[]): Tracer {
  return {
    startSpan: (name: string, opts: { startTime?: number; attributes?: object }) => {
      log.push(`start ${name} at ${opts.startTime}${opts.attributes ? ` with ${Object.keys(opts.attributes).length} attributes` : ''}`);
      return {
        spanContext: () => ({ traceId: TRACE_ID, spanId: 'a'.repeat(16), traceFlags: 1 }),
        setAttribute: () => undefined,
        setAttributes: (a: object) => log.push(`described with ${Object.keys(a).length} attributes`),
        setStatus: (status: { message?: string }) => log.push(`failed with ${status.message}`),
        end: (at?: number) => log.push(`end at ${at}`),
      } as unknown as Span;
    },
  } as unknown as Tracer;
}

/** performance.now() reads `clock.now`. */
function fakeClock(): { now: number } {
  const clock = { now: 1000 };
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
  return clock;
}

const settle = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.restoreAllMocks();
  context.disable();
  trace.disable();
});

describe('spans of served and made calls, off the reply path', () => {
  it('makes and ends a SERVER span nothing asked for after the reply, from the call’s start to its end', async () => {
    const clock = fakeClock();
    const log: string[] = [];
    let resolve!: (v: number) => void;
    const out = serveTraced(recordingTracer(log), CALL, FIELDS, () => new Promise<number>((r) => (resolve = r)));
    expect(log).toEqual([]);
    clock.now = 1500;
    resolve(1);
    await out.then(() => log.push('replied'));
    clock.now = 9999;
    await settle();
    expect(log).toEqual(['replied', 'start p/f at 1000 with 7 attributes', 'end at 1500']);
  });

  it('makes the SERVER span as soon as the handler asks for it, still with the call’s start time', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const clock = fakeClock();
    const log: string[] = [];
    let asked: Span | undefined;
    const out = serveTraced(recordingTracer(log), CALL, FIELDS, () => {
      clock.now = 1200;
      asked = trace.getActiveSpan();
      return Promise.resolve(1);
    });
    expect(asked).toBeDefined();
    expect(log).toEqual(['start p/f at 1000 with 7 attributes']);
    clock.now = 1300;
    await out;
    await settle();
    expect(log).toEqual(['start p/f at 1000 with 7 attributes', 'end at 1300']);
  });

  it('ends a CLIENT span with the time its call ended, after the caller went on', async () => {
    const clock = fakeClock();
    const log: string[] = [];
    let resolve!: (v: number) => void;
    const out = callTraced(recordingTracer(log), { ...CALL, kind: 'relay' }, () => new Promise<number>((r) => (resolve = r)));
    clock.now = 1700;
    resolve(1);
    await out.then(() => log.push('caller went on'));
    clock.now = 9999;
    await settle();
    expect(log).toEqual(['start p/f at undefined', 'caller went on', 'described with 7 attributes', 'end at 1700']);
  });

  it('ends the host’s CLIENT span with the time its call ended, after the caller went on', async () => {
    const clock = fakeClock();
    const log: string[] = [];
    trace.setGlobalTracerProvider({ getTracer: () => recordingTracer(log) });
    const observers = new CallObservers();
    new CallTracer(observers).onModuleInit();
    let resolve!: (v: number) => void;
    const out = observers.observe({ plugin: 'p', pluginId: 'p', fn: 'f', kind: 'call' }, () => new Promise<number>((r) => (resolve = r)));
    clock.now = 1800;
    resolve(1);
    await out.then(() => log.push('caller went on'));
    clock.now = 9999;
    await settle();
    expect(log).toEqual(['start p/f at undefined', 'caller went on', 'described with 7 attributes', 'end at 1800']);
  });

  it('starts a span its frame names with no attributes, and gives them once the frames are on their way', async () => {
    const clock = fakeClock();
    const log: string[] = [];
    const open = openCallSpan(recordingTracer(log), CALL, SpanKind.CLIENT, ROOT_CONTEXT);
    // The frame is written now, in this turn: nothing but the span itself before it.
    expect(log).toEqual(['start p/f at undefined']);
    await Promise.resolve();
    expect(log).toEqual(['start p/f at undefined']);
    await settle();
    expect(log).toEqual(['start p/f at undefined', 'described with 7 attributes']);
    clock.now = 1200;
    open.end('ok');
    await settle();
    expect(log).toEqual(['start p/f at undefined', 'described with 7 attributes', 'end at 1200']);
  });

  it('a call that ends before its frames are sent still ends with every attribute, given once', async () => {
    const clock = fakeClock();
    const log: string[] = [];
    const open = openCallSpan(recordingTracer(log), CALL, SpanKind.CLIENT, ROOT_CONTEXT);
    clock.now = 1100;
    open.end('UNAVAILABLE');
    await Promise.resolve();
    expect(log).toEqual(['start p/f at undefined', 'described with 7 attributes', 'failed with UNAVAILABLE', 'end at 1100']);
    await settle();
    expect(log).toHaveLength(4);
  });

  it('a call whose send throws rethrows it, and its span still ends, described and failed', async () => {
    const clock = fakeClock();
    const log: string[] = [];
    const send = () => {
      clock.now = 1300;
      throw new PluginNotRunningError('not running');
    };
    expect(() => callTraced(recordingTracer(log), CALL, send)).toThrow('not running');
    await settle();
    expect(log).toEqual(['start p/f at undefined', 'described with 7 attributes', `failed with ${WireErrorCode.NOT_RUNNING}`, 'end at 1300']);
  });

  it('with an SDK: the host’s CLIENT span is exported with every attribute and its outcome, a sampler seeing its name', async () => {
    const exporter = new InMemorySpanExporter();
    const sampled: Array<{ name: string; attributes: object }> = [];
    const sampler = {
      shouldSample: (_c: unknown, _t: string, name: string, _k: SpanKind, attributes: object) => (
        sampled.push({ name, attributes }),
        { decision: SamplingDecision.RECORD_AND_SAMPLED }
      ),
      toString: () => 'recording',
    };
    const provider = new TracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    trace.setGlobalTracerProvider(provider);
    const observers = new CallObservers();
    new CallTracer(observers).onModuleInit();
    await observers.observe({ plugin: 'p', pluginId: 'p', fn: 'f', kind: 'call' }, () => Promise.resolve(1));
    await Promise.resolve();
    const [span] = exporter.getFinishedSpans();
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.attributes).toEqual({
      'rpc.system': 'wwplugin',
      'rpc.service': 'p',
      'rpc.method': 'f',
      'wwplugin.plugin': 'p',
      'wwplugin.function': 'f',
      'wwplugin.kind': 'call',
      'wwplugin.caller': 'host',
      'wwplugin.outcome': 'ok',
    });
    expect(sampled).toEqual([{ name: 'p/f', attributes: {} }]);
    await provider.shutdown();
  });

  it('with an SDK: the span the handler finds active is the one exported, under the caller, and its own spans nest in it', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('test');
    let active: Span | undefined;
    await serveTraced(tracer, CALL, FIELDS, async () => {
      await Promise.resolve();
      active = trace.getActiveSpan();
      tracer.startSpan('inner').end();
      return 1;
    });
    await settle();
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === 'p/f')!;
    const inner = spans.find((s) => s.name === 'inner')!;
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(server.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(server.attributes).toMatchObject({ 'wwplugin.plugin': 'p', 'wwplugin.function': 'f', 'wwplugin.outcome': 'ok' });
    expect(active?.spanContext().spanId).toBe(server.spanContext().spanId);
    expect(inner.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    await provider.shutdown();
  });

  it('a context derived from the served call’s keeps its span, made once under the caller’s', () => {
    const log: string[] = [];
    let parentSeen: string | undefined;
    const ctx = new ServedCallContext(FIELDS, (parent) => {
      parentSeen = trace.getSpanContext(parent)?.spanId;
      return recordingTracer(log).startSpan('s', {});
    });
    const key = Symbol('k');
    const derived = ctx.setValue(key, 'mine');
    expect(derived.getValue(key)).toBe('mine');
    expect(trace.getSpan(derived)).toBe(ctx.span());
    expect(trace.getSpan(ctx.deleteValue(key))).toBe(ctx.span());
    expect(parentSeen).toBe(SPAN_ID);
    expect(log).toEqual(['start s at undefined']);
  });
});
