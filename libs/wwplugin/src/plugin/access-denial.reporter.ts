import { isObservable, tap } from 'rxjs';
import { accessDenialLine, accessDenialOf } from '../errors/access-denial.js';
import { ENV_REPORT_DENIALS } from '../protocol/protocol.constants.js';

// Read once: the host decides at spawn whether it wants denials reported.
const enabled = process.env[ENV_REPORT_DENIALS] === '1';

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
  if (out instanceof Promise) return out.catch((err: unknown) => (reportAccessDenial(err, during), Promise.reject(err))) as T;
  if (isObservable(out)) return out.pipe(tap({ error: (err: unknown) => reportAccessDenial(err, during) })) as T;
  return out;
}

/** Reports the denial that is about to crash the process (not caught anywhere). */
export function reportUncaughtDenials(): void {
  if (enabled) process.on('uncaughtExceptionMonitor', (err) => reportAccessDenial(err, 'uncaught'));
}
