// The benchmark's plugin for bench/observability-ab.ts: PROBE_PLUGIN says
// which part of an OpenTelemetry setup it registers (none, cm = context manager, tp = tracer
// provider, both = as bench:observability, fake = the context manager and a tracer doing nothing,
// als = no OpenTelemetry, only an AsyncLocalStorage in use: what its hooks cost every call).
import { context, trace, type TracerProvider as ApiTracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from '../support/stats.js';
import { timeServedCalls } from './served-timer.js';
import { timedTracerProvider } from './timed-tracer.js';

const what = process.env.PROBE_PLUGIN ?? 'none';

// PROBE_TIME: each served call's time to its reply and, with the SDK, its startSpan and span.end,
// timed in place; the first SIGURG starts counting, the next writes the figures to
// probe-plugin-<pid>.txt in the OS's temporary directory.
const timed = { startSpan: 0, end: 0, n: 0 };
const served = process.env.PROBE_TIME ? await timeServedCalls() : undefined;
let counting = false;
let sdkTimed = false;
if (served) {
  process.on('SIGURG', () => {
    if (!counting) {
      Object.assign(timed, { startSpan: 0, end: 0, n: 0 });
      served.toReply.length = served.reply.length = 0;
      counting = true;
      return;
    }
    const us = (ms: number) => ((ms * 1000) / timed.n).toFixed(2);
    const p50 = (ms: number[]) => (median(ms) * 1000).toFixed(2);
    const sdk = sdkTimed ? `; SDK startSpan ${us(timed.startSpan)} µs, span.end ${us(timed.end)} µs (${timed.n} spans)` : '';
    writeFileSync(
      join(tmpdir(), `probe-plugin-${process.pid}.txt`),
      `dispatch to reply p50 ${p50(served.toReply)} µs, the reply ${p50(served.reply)} µs (${served.toReply.length} calls)${sdk}\n`,
    );
  });
}
function timedProvider(provider: ApiTracerProvider): ApiTracerProvider {
  if (!served) return provider;
  sdkTimed = true;
  return timedTracerProvider(provider, timed);
}

if (what === 'cm' || what === 'both') context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
if (what === 'tp' || what === 'both') trace.setGlobalTracerProvider(timedProvider(new TracerProvider()));
if (what === 'fake') {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new (await import('./fake-tracer.js')).LeastTracerProvider());
}
if (what === 'als') new AsyncLocalStorage().enterWith({});
await import('../plugin/main.js');
