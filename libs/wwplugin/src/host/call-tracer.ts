import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { context, trace, type Tracer } from '@opentelemetry/api';
import { contextFromFields, openCallSpan, registeredTracer, SpanKind, traceFieldsOf } from '../protocol/call-tracing.js';
import { CallObservers, type CallFinish, type CallObserver, type ObservedCall } from './call-observers.js';

/**
 * The host's spans: CLIENT for its calls to plugins, SERVER for the calls plugins make to it (host
 * functions, relays). Registered only when the app set up an OpenTelemetry SDK before it started.
 */
@Injectable()
export class CallTracer implements CallObserver, OnModuleInit, OnModuleDestroy {
  private tracer?: Tracer;
  private remove?: () => void;

  constructor(private readonly observers: CallObservers) {}

  onModuleInit(): void {
    this.tracer = registeredTracer();
    if (!this.tracer) return;
    this.observers.tracer = this.tracer;
    this.remove = this.observers.add(this);
  }

  onModuleDestroy(): void {
    this.remove?.();
    this.observers.tracer = undefined;
  }

  start(call: ObservedCall): CallFinish {
    const served = call.kind === 'host' || call.kind === 'relay';
    const parent = served ? contextFromFields(call.incoming) : context.active();
    // A host function's span names the host as the service, and the plugin that called as the caller.
    const traced = call.kind === 'host' ? { plugin: 'host', fn: call.fn, kind: call.kind, caller: call.plugin } : call;
    const open = openCallSpan(this.tracer!, traced, served ? SpanKind.SERVER : SpanKind.CLIENT, parent);
    call.outgoing = traceFieldsOf(open.span);
    if (call.kind === 'host') call.context = trace.setSpan(parent, open.span);
    return open.end;
  }
}
