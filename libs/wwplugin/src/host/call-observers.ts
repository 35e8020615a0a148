import { Injectable } from '@nestjs/common';
import { context, type Context, type Tracer } from '@opentelemetry/api';
import { bindToContext } from '../protocol/call-tracing.js';
import { observeResult, outcomeOf, type CallOutcome } from '../protocol/observed-result.js';
import type { TraceFields } from '../protocol/outgoing-calls.js';

export type { CallOutcome, TraceFields };

/**
 * What crossed the host: 'call', 'stream', 'iterate' (host → plugin), 'host' (a plugin called a host
 * function), 'relay' (a plugin called another plugin through the host).
 */
export type ObservedCallKind = 'call' | 'stream' | 'iterate' | 'host' | 'relay';

/** One call as observers see it. */
export interface ObservedCall {
  /** The plugin that serves it: for 'host', the plugin that called the host function. */
  readonly plugin: string;
  /**
   * The instance that serves it, set when the call is routed to one (read it when the call ends): a
   * call by name starts with the instance `get(name)` gives, and keeps it if it fails before routing.
   */
  pluginId: string;
  readonly fn: string;
  readonly kind: ObservedCallKind;
  /** 'relay': the calling plugin's name. */
  readonly caller?: string;
  /** 'host' and 'relay': the trace context the calling plugin sent. */
  readonly incoming?: TraceFields;
  /** Set by a tracing observer: the trace context the host puts in the frame it sends on. */
  outgoing?: TraceFields;
  /** Set by a tracing observer: the context a host function runs in. */
  context?: Context;
}

/** Called once when the call ends: 'ok' or the error's wire code. */
export type CallFinish = (outcome: CallOutcome) => void;

/** Sees every call that crosses the host, and how it ended. */
export interface CallObserver {
  start(call: ObservedCall): CallFinish | undefined;
  /** A host → plugin call waited `ms` for its plugin to run or for a free slot before it was sent. */
  waited?(plugin: { name: string; id: string }, fn: string, ms: number): void;
}

const NOTHING: CallFinish = () => undefined;

/**
 * The observers of the host's calls (metrics, tracing, the plugins page). With none registered the
 * router checks one boolean per call and does nothing else.
 */
@Injectable()
export class CallObservers {
  /** True while at least one observer is registered. */
  active = false;
  /** Set while the host traces (an OpenTelemetry SDK is registered): pushes and emits carry trace context too. */
  tracer?: Tracer;
  private observers: CallObserver[] = [];

  /** Registers an observer; returns what removes it. */
  add(observer: CallObserver): () => void {
    this.observers = [...this.observers, observer];
    this.active = true;
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
      this.active = this.observers.length > 0;
    };
  }

  /** Tells every observer a call starts; returns what to call when it ends. */
  start(call: ObservedCall): CallFinish {
    const observers = this.observers;
    if (observers.length === 1) return observers[0].start(call) ?? NOTHING;
    const finishes: CallFinish[] = [];
    for (const o of observers) {
      const f = o.start(call);
      if (f) finishes.push(f);
    }
    if (finishes.length < 2) return finishes[0] ?? NOTHING;
    return (outcome) => {
      for (const f of finishes) f(outcome);
    };
  }

  waited(plugin: { name: string; id: string }, fn: string, ms: number): void {
    for (const o of this.observers) o.waited?.(plugin, fn, ms);
  }

  /**
   * Starts observing `call`, runs `result` (in the context a tracing observer gave, if any) and
   * ends the observation when what it returns (a value, Promise, Observable or async iterable) settles.
   */
  observe<T>(call: ObservedCall, result: () => T): T {
    const finish = this.start(call);
    let out: T;
    try {
      const ctx = call.context;
      out = ctx ? bindToContext(context.with(ctx, result), ctx) : result();
    } catch (err) {
      finish(outcomeOf(err));
      throw err;
    }
    return observeResult(out, finish);
  }
}
