import type { CallInfo } from './call-context.js';
import { toParameters, type Parameter, type WireParameter } from './parameters.js';

/**
 * Cancellation of one call the peer made. Its AbortSignal is made only when someone reads it:
 * making one costs microseconds, more than the rest of a call's bookkeeping.
 */
export class IncomingCall {
  private controller?: AbortController;
  private reason?: Error;
  private listeners?: Array<(reason: Error) => void>;

  /** Fires when the caller cancels, the deadline passes or the session ends. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  /** Runs `cb` once when the call is aborted (at once if it was), without making a signal. */
  onAbort(cb: (reason: Error) => void): void {
    if (this.reason) cb(this.reason);
    else (this.listeners ??= []).push(cb);
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const cb of listeners) cb(reason);
  }
}

/** The CallInfo of an incoming call, for its handler's context: the signal and the Parameter list are made when read. */
export class IncomingCallInfo implements CallInfo {
  private list?: Parameter[];

  constructor(
    readonly fn: string,
    readonly caller: string,
    private readonly wire: readonly WireParameter[],
    private readonly values: readonly unknown[],
    readonly plugin: CallInfo['plugin'],
    private readonly incoming: IncomingCall,
  ) {}

  get parameters(): Parameter[] {
    return (this.list ??= toParameters(this.wire, this.values));
  }

  get signal(): AbortSignal {
    return this.incoming.signal;
  }
}
