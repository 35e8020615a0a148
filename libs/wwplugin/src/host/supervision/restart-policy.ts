import type { RestartPolicy } from '../../interfaces/host-options.interface.js';

/**
 * Defaults: restart on failure, the first restart after a healthy run at once, then 100 ms doubling
 * to 5 s, ±20 %, at most 5 restarts a minute.
 */
export const DEFAULT_RESTART_POLICY: Required<Omit<RestartPolicy, 'firstBackoffMs'>> = {
  mode: 'on-failure',
  initialBackoffMs: 50,
  maxBackoffMs: 5_000,
  jitter: 0.2,
  maxRestarts: 5,
  windowMs: 60_000,
};

/** Decides, for one plugin, whether and when to restart it after an exit. Pure but for time and chance. */
export class RestartTracker {
  private readonly policy: Required<RestartPolicy>;
  private readonly restarts: number[] = [];
  private attempt = 0;

  constructor(
    policy: RestartPolicy | undefined,
    defaults?: RestartPolicy,
    private readonly random: () => number = Math.random,
  ) {
    const merged = { ...DEFAULT_RESTART_POLICY, ...definedOnly(defaults), ...definedOnly(policy) };
    // A policy that sets initialBackoffMs (and not firstBackoffMs) waits that long before its first restart too.
    const setInitial = definedOnly(policy).initialBackoffMs ?? definedOnly(defaults).initialBackoffMs;
    this.policy = { ...merged, firstBackoffMs: merged.firstBackoffMs ?? setInitial ?? 0 };
    this.policy.jitter = Math.min(1, Math.max(0, this.policy.jitter));
  }

  /** Whether an exit with this code/signal calls for a restart under the policy's mode. */
  wantsRestart(code: number | null, signal: string | null): boolean {
    if (this.policy.mode === 'never') return false;
    if (this.policy.mode === 'always') return true;
    return code !== 0 || signal !== null;
  }

  /** True when another restart now would exceed maxRestarts within windowMs. */
  isCrashLooping(now = Date.now()): boolean {
    while (this.restarts.length && now - this.restarts[0] > this.policy.windowMs) this.restarts.shift();
    return this.restarts.length >= this.policy.maxRestarts;
  }

  /** Records a restart and returns how long to wait before it. */
  next(now = Date.now()): { attempt: number; delayMs: number } {
    this.restarts.push(now);
    // Back off relative to restarts still inside the window, so a plugin stable for a while starts fresh.
    const recent = this.restarts.length - 1;
    const base = Math.min(this.policy.maxBackoffMs, recent ? this.policy.initialBackoffMs * 2 ** recent : this.policy.firstBackoffMs);
    const spread = base * this.policy.jitter * (this.random() * 2 - 1);
    this.attempt += 1;
    return { attempt: this.attempt, delayMs: Math.max(0, Math.round(base + spread)) };
  }

  /** Forgets the restarts inside the window (a manual start): the crash-loop count starts afresh. */
  reset(): void {
    this.restarts.length = 0;
  }

  /** Total restarts so far. */
  get count(): number {
    return this.attempt;
  }

  /** The crash-loop limit, for messages. */
  get limits(): { maxRestarts: number; windowMs: number } {
    return { maxRestarts: this.policy.maxRestarts, windowMs: this.policy.windowMs };
  }
}

// `{ mode: undefined }` (an unset config value) must not erase the default.
function definedOnly(policy: RestartPolicy | undefined): RestartPolicy {
  return Object.fromEntries(Object.entries(policy ?? {}).filter(([, v]) => v !== undefined));
}
