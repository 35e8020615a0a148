import type { Tracer } from '@opentelemetry/api';

type CallTracing = typeof import('../protocol/call-tracing.js');

/** Tracing in a plugin process: the registered tracer and the helpers that make its spans. */
export interface PluginTracing {
  tracer: Tracer;
  api: CallTracing;
}

// Where @opentelemetry/api 1.x keeps what an SDK registers: without a `trace` entry no tracer
// provider was ever registered, so registeredTracer() would say undefined anyway.
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * The plugin's tracing when the app registered an OpenTelemetry SDK, else undefined. The api (51
 * modules) is loaded only then: a plugin without tracing does not pay for it at start.
 */
export async function loadTracing(): Promise<PluginTracing | undefined> {
  if (!(globalThis as { [OTEL_GLOBAL]?: { trace?: unknown } })[OTEL_GLOBAL]?.trace) return undefined;
  const api = await import('../protocol/call-tracing.js');
  const tracer = api.registeredTracer();
  return tracer ? { tracer, api } : undefined;
}
