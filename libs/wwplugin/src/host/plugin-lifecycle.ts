import { BehaviorSubject, filter, firstValueFrom, map, race, timer, type Observable } from 'rxjs';
import { DeadlineExceededError, IllegalTransitionError, PluginNotRunningError } from '../errors/wwplugin.errors.js';
import type { PluginState } from '../interfaces/host-options.interface.js';
import { ILLEGAL_TRANSITION, NOT_RUNNING } from '../wwplugin.messages.js';

/**
 * Every legal move of a plugin's state, and the only one. Who makes each move:
 * launcher (start → starting, stop → stopping), host server (Hello accepted → running), heartbeat
 * scheduler (→ unresponsive), supervisor (exit → stopped / restarting / failed), host service
 * (stop of a failed plugin → stopped; a boot plugin that could not start → failed), remote listener
 * (remote plugin connected → running, connection lost → disconnected).
 */
export const TRANSITIONS: Readonly<Record<PluginState, readonly PluginState[]>> = {
  // A remote plugin's entry starts disconnected: its orchestrator, not the host, starts it.
  stopped: ['starting', 'failed', 'disconnected'],
  failed: ['starting', 'stopped'],
  starting: ['running', 'stopping', 'stopped'],
  running: ['stopping', 'unresponsive', 'restarting', 'stopped', 'failed', 'disconnected'],
  unresponsive: ['stopping', 'restarting', 'stopped', 'failed', 'disconnected'],
  // A remote plugin whose connection was lost: back to running when it reconnects.
  disconnected: ['running', 'stopped'],
  // restarting → restarting: a restart attempt that died before its handshake is retried.
  restarting: ['restarting', 'running', 'stopping', 'stopped', 'failed'],
  stopping: ['stopped'],
};

/** States at which a wait for `running` ends (resolved or rejected). */
const SETTLED: ReadonlySet<PluginState> = new Set(['running', 'stopped', 'failed', 'stopping']);

/**
 * One plugin's lifecycle state machine. Every class asks it to move; a move outside TRANSITIONS
 * is refused (the state stays) and reported to `onIllegal` as an IllegalTransitionError: the host
 * logs it and keeps serving, a test sees it.
 */
export class PluginLifecycle {
  private readonly state$ = new BehaviorSubject<PluginState>('stopped');
  // Read on every call (is it running?): a plain field, not the subject's checked getter.
  private current: PluginState = 'stopped';

  constructor(
    private readonly pluginName: () => string,
    private readonly onIllegal: (error: IllegalTransitionError) => void,
  ) {}

  get state(): PluginState {
    return this.current;
  }

  /** Every state from now on, starting with the current one. */
  get changes(): Observable<PluginState> {
    return this.state$.asObservable();
  }

  /** True when TRANSITIONS allows moving from the current state to `next`. */
  can(next: PluginState): boolean {
    return TRANSITIONS[this.state].includes(next);
  }

  /** Moves to `next`; returns false (and reports the bug) when the move is illegal. */
  moveTo(next: PluginState): boolean {
    const from = this.state;
    if (!TRANSITIONS[from].includes(next)) {
      const name = this.pluginName();
      this.onIllegal(new IllegalTransitionError(ILLEGAL_TRANSITION(name, from, next, [...TRANSITIONS[from]]), { plugin: name, from, to: next }));
      return false;
    }
    if (from !== next) {
      this.current = next;
      this.state$.next(next);
    }
    return true;
  }

  /** Resolves when the plugin is running; rejects when it stops or fails, or after `timeoutMs` (0: no limit). */
  async whenRunning(timeoutMs: number, what: string): Promise<void> {
    if (this.state === 'running') return;
    const settled = this.state$.pipe(filter((s) => SETTLED.has(s)));
    const outcome = await firstValueFrom(timeoutMs > 0 ? race(settled, timer(timeoutMs).pipe(map(() => 'timeout' as const))) : settled);
    if (outcome === 'running') return;
    const name = this.pluginName();
    if (outcome === 'timeout') throw new DeadlineExceededError(`${what}: plugin "${name}" was not running again within ${timeoutMs} ms.`);
    throw new PluginNotRunningError(NOT_RUNNING(name, outcome), { state: outcome });
  }

  /** Resolves at the first state that satisfies `predicate` (at once if the current one does). */
  async until(predicate: (state: PluginState) => boolean): Promise<PluginState> {
    return firstValueFrom(this.state$.pipe(filter(predicate)));
  }
}
