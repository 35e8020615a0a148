import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { callAttributes, contextFromFields, registeredTracer, startServedSpan, TRACE_ATTRIBUTES, traceFieldsOf } from './call-tracing.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

describe('W3C trace context in frames', () => {
  it('reads a traceparent and tracestate into a remote parent, and writes them back the same', () => {
    const ctx = contextFromFields({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=abc' });
    const parent = trace.getSpanContext(ctx)!;
    expect(parent).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(parent.traceState?.get('vendor')).toBe('abc');
    const span = { spanContext: () => parent } as unknown as Span;
    expect(traceFieldsOf(span)).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=abc' });
  });

  it('ignores an empty, malformed or all-zero traceparent (the callee starts a trace of its own)', () => {
    for (const traceparent of [
      '',
      'garbage',
      `01-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
    ]) {
      expect(contextFromFields({ traceparent })).toBe(ROOT_CONTEXT);
    }
    expect(contextFromFields(undefined)).toBe(ROOT_CONTEXT);
  });

  it('has no tracer while no OpenTelemetry SDK is registered', () => {
    expect(registeredTracer()).toBeUndefined();
  });

  it('gives every call span the same attributes, under the documented names; the caller is the host unless a plugin called', () => {
    const seen: SpanOptions[] = [];
    const tracer = { startSpan: (_name: string, opts: SpanOptions) => (seen.push(opts), {}) } as unknown as Tracer;
    startServedSpan(tracer, { plugin: 'q', fn: 'g', kind: 'relay', caller: 'p' }, ROOT_CONTEXT);
    // A frame from the host names no caller: an empty string.
    startServedSpan(tracer, { plugin: 'p', fn: 'f', kind: 'call', caller: '' }, ROOT_CONTEXT);
    expect(seen.map((o) => o.kind)).toEqual([SpanKind.SERVER, SpanKind.SERVER]);
    // A span a frame names gets the same attributes once the frame is sent (call-tracing-timing.spec).
    const given = [callAttributes({ plugin: 'p', fn: 'f', kind: 'call' }), ...seen.map((o) => o.attributes!)];
    const named = (plugin: string, fn: string, kind: string, caller: string) => ({
      'rpc.system': 'wwplugin',
      'rpc.service': plugin,
      'rpc.method': fn,
      [TRACE_ATTRIBUTES.plugin]: plugin,
      [TRACE_ATTRIBUTES.function]: fn,
      [TRACE_ATTRIBUTES.kind]: kind,
      [TRACE_ATTRIBUTES.caller]: caller,
    });
    expect(given).toEqual([named('p', 'f', 'call', 'host'), named('q', 'g', 'relay', 'p'), named('p', 'f', 'call', 'host')]);
    // One shape: the same keys in the same order, whoever called.
    expect(Object.keys(given[0])).toEqual(Object.keys(given[1]));
  });
});
