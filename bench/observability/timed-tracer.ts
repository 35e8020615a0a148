// The SDK's startSpan and span.end timed in place (ms summed in `timed`), for the host and the probe
// plugin of bench/observability-ab.ts alike: in a real call they are not hot in cache as in a loop.
import type { TracerProvider } from '@opentelemetry/api';

export interface SpanTimes {
  startSpan: number;
  end: number;
  n: number;
}

/** A provider whose tracer adds each startSpan's and span.end's time to `timed`. */
export function timedTracerProvider(provider: TracerProvider, timed: SpanTimes): TracerProvider {
  const tracer = provider.getTracer('@wwplugin/nestjs');
  const startSpan = tracer.startSpan.bind(tracer);
  tracer.startSpan = (...a: Parameters<typeof startSpan>) => {
    const t0 = performance.now();
    const span = startSpan(...a);
    timed.startSpan += performance.now() - t0;
    timed.n++;
    const end = span.end.bind(span);
    span.end = (t) => {
      const t1 = performance.now();
      end(t);
      timed.end += performance.now() - t1;
    };
    return span;
  };
  return { getTracer: () => tracer };
}
