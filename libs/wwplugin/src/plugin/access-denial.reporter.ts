import { isObservable, tap } from 'rxjs';
import { accessDenialLine, accessDenialOf } from '../errors/access-denial.js';
import { ENV_REPORT_DENIALS } from '../protocol/protocol.constants.js';

// Read once: the host decides at spawn whether it wants denials reported.
const enabled = process.env[ENV_REPORT_DENIALS] === '1';

/** False unless the host asked for denials: callers then skip reportingDenials' wrapper altogether. */
export const reportsDenials = enabled;

/** Tells the host, on stderr, of an ERR_ACCESS_DENIED the sandbox raised; the error itself goes on unchanged. */
export function reportAccessDenial(err: unknown, during: string): void {
  const denial = enabled ? accessDenialOf(err, during) : undefined;
  if (denial) process.stderr.write(`${accessDenialLine(denial)}\n`);
}

/** Runs a handler and reports a denial it throws, rejects with or errors its Observable with. */
export function reportingDenials<T>(during: string, run: () => T): T {
  if (!enabled) return run();
  let out: T;
  try {
    out = run();
  } catch (err) {
    reportAccessDenial(err, during);
    throw err;
  }
  // Nest's pipeline may hand back a promise of the handler's Observable or iterable.
  if (out instanceof Promise) {
    return out.then(
      (value: unknown) => watching(value, during),
      (err: unknown) => (reportAccessDenial(err, during), Promise.reject(err)),
    ) as T;
  }
  return watching(out, during) as T;
}

/** The same Observable or async iterable, reporting the denial it fails with; anything else as it is. */
function watching(value: unknown, during: string): unknown {
  if (isObservable(value)) return value.pipe(tap({ error: (err: unknown) => reportAccessDenial(err, during) }));
  if (isAsyncIterable(value)) return reportingIterable(value, during);
  return value;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';

/** The same values, pulled one by one as before (`yield*` passes on back-pressure and cancellation). */
async function* reportingIterable(source: AsyncIterable<unknown>, during: string): AsyncGenerator<unknown> {
  try {
    yield* source;
  } catch (err) {
    reportAccessDenial(err, during);
    throw err;
  }
}

/** Reports the denial that is about to crash the process (not caught anywhere). */
export function reportUncaughtDenials(): void {
  if (enabled) process.on('uncaughtExceptionMonitor', (err) => reportAccessDenial(err, 'uncaught'));
}
