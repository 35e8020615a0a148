/** What the orchestrator tells each child (argv[2], JSON). */
export interface ChildConfig {
  quick: boolean;
  payloadBytes: number;
  /** 'unix' (the framework's default) or 'tcp' loopback, for raw and framework alike. */
  transport: 'unix' | 'tcp';
  /** Scenario-specific settings. */
  [key: string]: unknown;
}

export function readConfig(): ChildConfig {
  return JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
}

/** Sends one message to the orchestrator over the fork IPC channel. */
export function report(message: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('bench children must be started by bench/run.js (no IPC channel)'));
    process.send(message, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** Reports the failure and exits non-zero: the orchestrator says which scenario could not run. */
export function fatal(err: unknown): never {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${text}\n`);
  if (process.send) process.send({ type: 'error', message: text }, () => process.exit(1));
  else process.exit(1);
  return undefined as never;
}
