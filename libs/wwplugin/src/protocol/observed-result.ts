import { isObservable, Observable } from 'rxjs';
import { errorToWire, WwPluginError } from '../errors/wwplugin.errors.js';

/** How a call ended: 'ok', or the wire code of its error (UNKNOWN_FUNCTION, DEADLINE_EXCEEDED...). */
export type CallOutcome = string;

/** The wire code an error travels as, without building its wire form when it is one of ours. */
export function outcomeOf(err: unknown): CallOutcome {
  return err instanceof WwPluginError ? err.code : errorToWire(err).code;
}

/**
 * Calls `finish` once when a call's result settles, whatever its shape: a value, a Promise, an
 * Observable (unsubscribing early counts as CANCELLED) or an async iterable (a loop left early too).
 * Returns the result to hand on in place of `out`.
 */
export function observeResult<T>(result: T, finish: (outcome: CallOutcome) => void): T {
  const out: unknown = result;
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
