import {
  context,
  createTraceState,
  diag,
  INVALID_SPANID,
  INVALID_TRACEID,
  isSpanContextValid,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { isObservable, Observable } from 'rxjs';
import { observeResult, outcomeOf, type CallOutcome } from './observed-result.js';
import type { TraceFields } from './outgoing-calls.js';

/** Name of the tracer both sides make spans with. */
export const TRACER_NAME = '@wwplugin/nestjs';

/** Span attributes (besides OpenTelemetry's rpc.system, rpc.service and rpc.method). */
export const TRACE_ATTRIBUTES = {
  plugin: 'wwplugin.plugin',
  function: 'wwplugin.function',
  kind: 'wwplugin.kind',
  caller: 'wwplugin.caller',
  outcome: 'wwplugin.outcome',
  errorCode: 'wwplugin.error_code',
  topic: 'wwplugin.topic',
} as const;

// The api's own no-op provider: what the global proxy hands out until an SDK registers one.
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * A tracer when the app registered an OpenTelemetry SDK, else undefined: without one, nothing
 * about tracing is done at all (no spans, not even non-recording ones, and no frame fields).
 */
export function registeredTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  return delegate === NOOP_PROVIDER ? undefined : delegate.getTracer(TRACER_NAME);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C trace context of `span` as frames carry it. */
export function traceFieldsOf(span: Span): TraceFields {
  const sc = span.spanContext();
  // Sampled or not: the two flags spans have, spelled without number formatting.
  const flags = sc.traceFlags === 1 ? '01' : sc.traceFlags === 0 ? '00' : (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}`, tracestate: sc.traceState ? sc.traceState.serialize() : '' };
}

/** The trace context of the active span, for a push or an emit (no span of its own). */
export function activeTraceFields(): TraceFields | undefined {
  const span = trace.getSpan(context.active());
  return span && isSpanContextValid(span.spanContext()) ? traceFieldsOf(span) : undefined;
}

/** A context whose parent is the remote span a frame names; ROOT_CONTEXT if it names none (or a malformed one). */
export function contextFromFields(fields: TraceFields | undefined): Context {
  const m = fields?.traceparent ? TRACEPARENT.exec(fields.traceparent) : null;
  // The pattern checked the form; what is left of validity is that neither id is all zeros.
  if (!m || m[1] === INVALID_TRACEID || m[2] === INVALID_SPANID) return ROOT_CONTEXT;
  const spanContext = {
    traceId: m[1],
    spanId: m[2],
    traceFlags: m[3] === '01' ? 1 : parseInt(m[3], 16),
    isRemote: true,
    traceState: fields?.tracestate ? createTraceState(fields.tracestate) : undefined,
  };
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

/** What a traced call is: the plugin that serves it (or the calling plugin, for a host function) and the function. */
export interface TracedCall {
  plugin: string;
  fn: string;
  kind: string;
  /** The calling plugin; absent or empty (a frame from the host) when the host called. */
  caller?: string;
}

/** The attributes every call span has (besides its outcome), under the documented names. */
export function callAttributes(call: TracedCall): Attributes {
  return {
    'rpc.system': 'wwplugin',
    'rpc.service': call.plugin,
    'rpc.method': call.fn,
    [TRACE_ATTRIBUTES.plugin]: call.plugin,
    [TRACE_ATTRIBUTES.function]: call.fn,
    [TRACE_ATTRIBUTES.kind]: call.kind,
    // A frame's empty caller, like none at all, is the host.
    [TRACE_ATTRIBUTES.caller]: call.caller || 'host',
  };
}

/**
 * Starts the SERVER span of a call served here, attributes and all (it is made after the reply, so
 * nothing waits for them); `startTime` a performance.now(). Spans a frame names use openCallSpan().
 */
export function startServedSpan(tracer: Tracer, call: TracedCall, parent: Context, startTime?: number): Span {
  return tracer.startSpan(`${call.plugin}/${call.fn}`, { kind: SpanKind.SERVER, attributes: callAttributes(call), startTime }, parent);
}

/** Ends a call's span with its outcome (at `endTime`, a performance.now(), if given); an error code marks the span as failed. */
export function endCallSpan(span: Span, outcome: CallOutcome, endTime?: number): void {
  span.setAttribute(TRACE_ATTRIBUTES.outcome, outcome === 'ok' ? 'ok' : 'error');
  if (outcome !== 'ok') {
    span.setAttribute(TRACE_ATTRIBUTES.errorCode, outcome);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  }
  span.end(endTime);
}

// Span work left for after this turn's frames went out: Node hands what a turn wrote to an HTTP/2
// stream to the socket in its check phase, before the immediates JS scheduled (a microtask would
// still run before that write).
let afterWrites: Array<() => void> = [];
const runAfterWrites = (): void => {
  const work = afterWrites;
  afterWrites = [];
  for (const fn of work) {
    // A span processor that throws must not end the others' spans nor the process (an immediate's throw is uncaught).
    try {
      fn();
    } catch (err) {
      diag.error('@wwplugin/nestjs: a call span’s deferred work failed', err);
    }
  }
};

/** Runs `fn` once the frames this turn wrote are on their way (one immediate for all of a turn's). */
export function afterFramesSent(fn: () => void): void {
  if (afterWrites.push(fn) === 1) setImmediate(runAfterWrites);
}

/** A call's span made before its frame is sent, and what ends it. */
export interface OpenCallSpan {
  readonly span: Span;
  /**
   * Ends the span with its outcome, with the time it is called as the end, but in a microtask:
   * whoever awaits the call goes on first, and finds the span ended once it awaits anything.
   */
  end(outcome: CallOutcome): void;
}

/**
 * Starts the span of a call whose frame carries the span's id, so it must exist before the frame
 * is sent: with its name and kind only, and its attributes set once this turn's frames are on
 * their way (or as it ends, if sooner). Attributes given to startSpan take the SDK half of its
 * time, which would sit on every call's path; a sampler sees the name (`plugin/function`) instead.
 */
export function openCallSpan(tracer: Tracer, call: TracedCall, spanKind: SpanKind, parent: Context): OpenCallSpan {
  const span = tracer.startSpan(`${call.plugin}/${call.fn}`, { kind: spanKind }, parent);
  // Even the attributes' object is built after the frame is sent.
  let undescribed: TracedCall | undefined = call;
  const describe = (): void => {
    if (!undescribed) return;
    span.setAttributes(callAttributes(undescribed));
    undescribed = undefined;
  };
  afterFramesSent(describe);
  return {
    span,
    end: (outcome) => {
      const endTime = performance.now();
      queueMicrotask(() => {
        describe();
        endCallSpan(span, outcome, endTime);
      });
    },
  };
}

/**
 * A handler's result whose later work runs in `ctx` too: an Observable's subscription and an async
 * iterable's steps run after the handler returned, where its span would otherwise not be active.
 */
export function bindToContext<T>(result: T, ctx: Context): T {
  const out: unknown = result;
  if (isObservable(out)) return new Observable<unknown>((subscriber) => context.with(ctx, () => out.subscribe(subscriber))) as T;
  if (out && typeof (out as PromiseLike<unknown>).then !== 'function' && typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const source = out as AsyncIterable<unknown>;
    return {
      [Symbol.asyncIterator]: () => {
        const it = context.with(ctx, () => source[Symbol.asyncIterator]());
        return {
          next: (v?: unknown) => context.with(ctx, () => it.next(v)),
          return: (v?: unknown) => context.with(ctx, () => it.return?.(v) ?? Promise.resolve({ done: true as const, value: v })),
          throw: (e?: unknown) => context.with(ctx, () => it.throw?.(e) ?? Promise.reject(e)),
        };
      },
    } as T;
  }
  return result;
}

// The key the api keeps a context's span under, asked of the api itself.
const SPAN_KEY: symbol = (() => {
  let key: symbol | undefined;
  trace.getSpan({ getValue: (k: symbol) => void (key = k) } as Context);
  return key!;
})();

/**
 * The context a served call runs in. Its SERVER span is made, with the call's start time, when
 * something first asks for it (a call the handler makes, the app's own instrumentation) or else
 * once the call is over; the caller's trace context is read from the frame then too. A handler
 * that asks for nothing does not wait for either.
 */
export class ServedCallContext implements Context {
  private made?: Span;
  private parentContext?: Context;

  constructor(
    private readonly fields: TraceFields,
    private readonly make: (parent: Context) => Span,
  ) {}

  /** The caller's span, as the frame named it. */
  parent(): Context {
    return (this.parentContext ??= contextFromFields(this.fields));
  }

  /** The call's span, made now if nothing asked for it before. */
  span(): Span {
    return (this.made ??= this.make(this.parent()));
  }

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.span() : this.parent().getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return trace.setSpan(this.parent(), this.span()).setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return trace.setSpan(this.parent(), this.span()).deleteValue(key);
  }
}

/**
 * Serves a call in a SERVER span under the caller's span (from the frame). The span runs from the
 * call's start to its end, but is made (if nothing asked for it sooner) and ended once the reply
 * is sent: the reply does not wait for it.
 */
export function serveTraced<T>(tracer: Tracer, call: TracedCall, fields: TraceFields, run: () => T): T {
  const startTime = performance.now();
  const ctx = new ServedCallContext(fields, (parent) => startServedSpan(tracer, call, parent, startTime));
  let out: T;
  try {
    out = context.with(ctx, run);
  } catch (err) {
    endCallSpan(ctx.span(), outcomeOf(err));
    throw err;
  }
  return observeResult(bindToContext(out, ctx), (outcome) => {
    const endTime = performance.now();
    afterFramesSent(() => endCallSpan(ctx.span(), outcome, endTime));
  });
}

/** Makes a call in a CLIENT span under the active one; `run` sends the span's trace context in the frame. */
export function callTraced<T>(tracer: Tracer, call: TracedCall, run: (fields: TraceFields) => T): T {
  const open = openCallSpan(tracer, call, SpanKind.CLIENT, context.active());
  let out: T;
  try {
    out = run(traceFieldsOf(open.span));
  } catch (err) {
    open.end(outcomeOf(err));
    throw err;
  }
  return observeResult(out, open.end);
}

/** Records a push or an emit as it is received: a CONSUMER span under the sender's span, around its dispatch. */
export function consumeMessage<T>(tracer: Tracer, what: 'push' | 'emit', plugin: string, topic: string, fields: TraceFields, dispatch: () => T): T {
  const span = tracer.startSpan(
    `${what} ${topic}`,
    { kind: SpanKind.CONSUMER, attributes: { [TRACE_ATTRIBUTES.plugin]: plugin, [TRACE_ATTRIBUTES.topic]: topic, [TRACE_ATTRIBUTES.kind]: what } },
    contextFromFields(fields),
  );
  try {
    return context.with(trace.setSpan(context.active(), span), dispatch);
  } finally {
    span.end();
  }
}

export { SpanKind };
