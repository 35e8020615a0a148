import { context, diag, DiagLogLevel, trace, type Span, type Tracer } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { afterFramesSent, serveTraced } from './call-tracing.js';

const FIELDS = { traceparent: `00-${'0af7651916cd43dd8448eb211c80319c'}-${'b7ad6b7169203331'}-01`, tracestate: '' };
const CALL = { plugin: 'p', fn: 'f', kind: 'call', caller: 'host' };

/** A tracer that logs when spans start and end. */
function recordingTracer(log: string[]): Tracer {
  return {
    startSpan: (name: string) => {
      log.push(`start ${name}`);
      return {
        spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'a'.repeat(16), traceFlags: 1 }),
        setAttribute: () => undefined,
        setStatus: () => undefined,
        end: () => log.push('end'),
      } as unknown as Span;
    },
  } as unknown as Tracer;
}

/**
 * What a reply goes through before its bytes reach the socket: a chain of microtasks (grpc-js,
 * the frame writer), then Node's own write, which comes before the immediates JS scheduled.
 * `depth` microtasks, then `log` says "sent".
 */
async function sendAfterMicrotasks(log: string[], depth: number): Promise<void> {
  for (let i = 0; i < depth; i++) await Promise.resolve();
  log.push('sent');
}

const nextImmediate = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  context.disable();
  trace.disable();
});

describe('a served call’s span waits until its reply is sent', () => {
  it('makes and ends a served call’s SERVER span only after the reply’s microtasks, however many', async () => {
    const log: string[] = [];
    const out = serveTraced(recordingTracer(log), CALL, FIELDS, () => Promise.resolve(1));
    await out.then(() => sendAfterMicrotasks(log, 20));
    expect(log).toEqual(['sent']);
    await nextImmediate();
    expect(log).toEqual(['sent', 'start p/f', 'end']);
  });

  it('runs the work of one turn in its order, in one immediate, and work queued meanwhile in the next', async () => {
    const log: string[] = [];
    afterFramesSent(() => {
      log.push('a');
      afterFramesSent(() => log.push('c'));
    });
    afterFramesSent(() => log.push('b'));
    await nextImmediate();
    expect(log).toEqual(['a', 'b']);
    await nextImmediate();
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('a span whose end throws (a span processor, say) leaves the turn’s other spans to end, and reports through diag', async () => {
    const log: string[] = [];
    const reported: unknown[] = [];
    diag.setLogger(
      { error: (...args: unknown[]) => reported.push(args), warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined },
      DiagLogLevel.ERROR,
    );
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      afterFramesSent(() => {
        throw new Error('processor failed');
      });
      afterFramesSent(() => log.push('ended'));
      await nextImmediate();
      await nextImmediate();
    } finally {
      process.off('uncaughtException', onUncaught);
      diag.disable();
    }
    expect(log).toEqual(['ended']);
    expect(uncaught).toEqual([]);
    expect(reported).toHaveLength(1);
    expect(String((reported[0] as unknown[])[1])).toContain('processor failed');
  });
});
