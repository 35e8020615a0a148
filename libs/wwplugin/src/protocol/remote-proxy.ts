import type { Observable } from 'rxjs';

/** Options of one call: a deadline and a way to abort it. @publicApi */
export interface RemoteCallOptions {
  /**
   * Deadline of the whole call in milliseconds (the host's `defaultTimeoutMs` when absent, except
   * for a stream of a streaming function, which has none); 0 for none.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of one streaming call: those of a call, and an idle deadline between items. @publicApi */
export interface StreamCallOptions extends RemoteCallOptions {
  /**
   * Fail with DeadlineExceededError (and cancel the call) when no item comes for this many ms.
   * Default: the host's `streamIdleTimeoutMs`; 0 for none.
   */
  idleTimeoutMs?: number;
}

/**
 * A typed view of a remote API, from an interface describing it: each method takes its args
 * object and resolves with its result (an Observable-returning function resolves with its values'
 * type). @publicApi
 */
export type RemoteApi<T> = {
  [K in keyof T & string as NonNullable<T[K]> extends (...args: any[]) => unknown ? K : never]: NonNullable<T[K]> extends (...args: infer P) => infer R
    ? (...args: RemoteParams<P>) => Promise<Awaited<R> extends Observable<infer V> ? V : Awaited<R>>
    : never;
};

// A function without parameters takes no args; one whose args are optional keeps them optional.
type RemoteParams<P extends unknown[]> = P extends []
  ? [args?: undefined, opts?: RemoteCallOptions]
  : [] extends P
    ? [args?: P[0], opts?: RemoteCallOptions]
    : [args: P[0], opts?: RemoteCallOptions];

/** Builds a proxy whose every method calls `invoke` with the method's name. Shared by host and plugin. */
export function remoteProxy<T>(invoke: (fn: string, args: unknown, opts?: RemoteCallOptions) => Promise<unknown>): RemoteApi<T> {
  return new Proxy({} as RemoteApi<T>, {
    // `then` must stay undefined or `await proxy` would treat the proxy as a Promise.
    get: (_target, prop) => (typeof prop === 'string' && prop !== 'then' ? (args: unknown, opts?: RemoteCallOptions) => invoke(prop, args, opts) : undefined),
  });
}
