import { type MonoTypeOperatorFunction, throwError, timeout } from 'rxjs';
import { DeadlineExceededError } from '../errors/wwplugin.errors.js';
import { IDLE_DEADLINE_EXCEEDED } from '../wwplugin.messages.js';

/**
 * Fails a stream with DeadlineExceededError when no item comes for `ms` (from subscribing, then
 * between items); leaving the source unsubscribes it, which cancels the call at the callee.
 * 0 or less: no idle deadline. Shared by host and plugin.
 */
export function idleDeadline<T>(ms: number | undefined, target: string, fn: string): MonoTypeOperatorFunction<T> {
  if (!ms || ms <= 0) return (source) => source;
  return timeout({
    each: ms,
    with: () => throwError(() => new DeadlineExceededError(IDLE_DEADLINE_EXCEEDED(target, fn, ms), { idleTimeoutMs: ms })),
  });
}
