import { isObservable, Observable } from 'rxjs';
import { errorToWire, WwPluginError } from '../errors/wwplugin.errors.js';

/** How a call ended: 'ok', or the wire code of its error (UNKNOWN_FUNCTION, DEADLINE_EXCEEDED...). */
export type CallOutcome = string;

/** The code an error travels as (a handler's own code if it set one), without building its wire form when it is one of ours. */
export function outcomeOf(err: unknown): CallOutcome {
  // A handler's own code travels as HANDLER_ERROR with the code it threw kept in details.
  if (err instanceof WwPluginError) return typeof err.details?.remoteCode === 'string' && err.details.remoteCode ? err.details.remoteCode : err.code;
  const wire = errorToWire(err);
  const remote = wire.detailsJson ? (JSON.parse(wire.detailsJson) as { remoteCode?: unknown }).remoteCode : undefined;
  return typeof remote === 'string' && remote ? remote : wire.code;
}

/**
 * Calls `finish` once when a call's result settles, whatever its shape: a value, a Promise, an
 * Observable (unsubscribing early counts as CANCELLED) or an async iterable (a loop left early too).
 * Returns the result to hand on in place of `out`.
 */
export function observeResult<T>(result: T, finish: (outcome: CallOutcome) => void): T {
  const out: unknown = result;
  // The usual case first: a promise settles once, so it needs neither the shape checks nor the guard.
  if (out instanceof Promise) {
    out.then(
      () => finish('ok'),
      (err: unknown) => finish(outcomeOf(err)),
    );
    return result;
  }
  let done = false;
  const end = (outcome: CallOutcome) => {
    if (done) return;
    done = true;
    finish(outcome);
  };
  if (isObservable(out)) {
    return new Observable<unknown>((subscriber) => {
      const sub = out.subscribe({
        next: (v) => subscriber.next(v),
        error: (err) => {
          end(outcomeOf(err));
          subscriber.error(err);
        },
        complete: () => {
          end('ok');
          subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        end('CANCELLED');
      };
    }) as T;
  }
  if (out && typeof (out as PromiseLike<unknown>).then === 'function') {
    (out as PromiseLike<unknown>).then(
      () => end('ok'),
      (err) => end(outcomeOf(err)),
    );
    return result;
  }
  if (out && typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const source = out as AsyncIterable<unknown>;
    return (async function* () {
      let outcome = 'CANCELLED';
      try {
        yield* source;
        outcome = 'ok';
      } catch (err) {
        outcome = outcomeOf(err);
        throw err;
      } finally {
        end(outcome);
      }
    })() as T;
  }
  end('ok');
  return result;
}
