import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PluginConfigurationError } from '../errors/wwplugin.errors.js';
import type { WelcomeFrame } from '../protocol/frames.js';
import { REMOTE_HOST_GONE } from '../wwplugin.messages.js';

/** Environment variables of a remote plugin (docs/remote-plugins.md). */
export const ENV_REMOTE_HOST = 'WWPLUGIN_HOST';
export const ENV_REMOTE_CERT = 'WWPLUGIN_TLS_CERT';
export const ENV_REMOTE_KEY = 'WWPLUGIN_TLS_KEY';
export const ENV_REMOTE_CA = 'WWPLUGIN_TLS_CA';
export const ENV_REMOTE_SERVERNAME = 'WWPLUGIN_TLS_SERVERNAME';
export const ENV_REMOTE_REPLICA = 'WWPLUGIN_REPLICA';

/** How a remote plugin reaches its host: bootstrapPlugin's `remote` option, or the environment. @publicApi */
export interface RemoteHostOptions {
  /** The host's remote listener, `host:port`. */
  host: string;
  /** PEM text, or a path to a PEM file: the CA that signed the host's certificate, and this plugin's certificate and key. */
  tls: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer };
  /** The bearer token the host expects for this plugin, if any. */
  token?: string;
  /** The name the host's certificate must carry; default: the host part of `host`. */
  servername?: string;
  /** This replica's name, shown by the host's list(); default: this machine's host name (the pod name in Kubernetes). */
  replica?: string;
  /** Reconnect backoff: first delay, cap (ms). Default 200 and 10 000, each with ±20% jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** A remote host resolved to bytes. */
export interface RemoteHost {
  address: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  token: string;
  servername: string;
  replica: string;
  backoff: { initialMs: number; maxMs: number };
}

/** The remote host a plugin joins (its options first, then the environment); undefined for a plugin its host spawned. */
export const remoteHostAddress = (options: RemoteHostOptions | undefined, env: NodeJS.ProcessEnv): string | undefined => options?.host ?? env[ENV_REMOTE_HOST];

/**
 * The remote host this process joins, from options or else the environment; undefined when neither
 * names one (a plugin spawned by its host). The key and token leave the environment at once, as
 * the spawned plugin's secret does.
 */
export function remoteHostFrom(options: RemoteHostOptions | undefined, env: NodeJS.ProcessEnv, token: string): RemoteHost | undefined {
  const host = remoteHostAddress(options, env);
  const envKey = env[ENV_REMOTE_KEY];
  delete env[ENV_REMOTE_KEY];
  if (!host) return undefined;
  const given = options?.tls ?? { ca: env[ENV_REMOTE_CA], cert: env[ENV_REMOTE_CERT], key: envKey };
  const missing = (['ca', 'cert', 'key'] as const).filter((k) => !given[k]);
  if (missing.length) {
    const names = { ca: ENV_REMOTE_CA, cert: ENV_REMOTE_CERT, key: ENV_REMOTE_KEY };
    throw new PluginConfigurationError(
      `A remote plugin needs ${missing.map((m) => names[m]).join(', ')} (PEM text or a file path) besides ${ENV_REMOTE_HOST}.`,
    );
  }
  const hostPart = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return {
    address: host,
    ca: pem(given.ca!),
    cert: pem(given.cert!),
    key: pem(given.key!),
    token: options?.token ?? token,
    servername: options?.servername ?? env[ENV_REMOTE_SERVERNAME] ?? hostPart,
    replica: options?.replica ?? env[ENV_REMOTE_REPLICA] ?? hostname(),
    backoff: { initialMs: options?.backoff?.initialMs ?? 200, maxMs: options?.backoff?.maxMs ?? 10_000 },
  };
}

/** PEM text as given, or the contents of the file it names. */
function pem(value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (err) {
    throw new PluginConfigurationError(`Cannot read the PEM file "${value}": ${(err as Error).message}`, { path: value });
  }
}

/** The delay before reconnect attempt `attempt` (0-based): doubling from `initialMs`, capped at `maxMs`, ±20% jitter. */
export function reconnectDelay(attempt: number, backoff: { initialMs: number; maxMs: number }, random = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())));
}

/**
 * Keeps a remote plugin joined to its host: dials until welcomed (the host may not be up yet), and
 * dials again, with backoff, whenever the session is lost. The host never restarts a remote plugin,
 * so this process stays up and comes back by itself.
 */
export class RemoteConnector {
  private readonly logger = new Logger('WwPluginRemote');
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private dialing?: Promise<WelcomeFrame>;

  constructor(
    private readonly host: RemoteHost,
    private readonly dial: () => Promise<WelcomeFrame>,
  ) {}

  /** Dials until the host welcomes this plugin (or stop()). */
  connect(): Promise<WelcomeFrame> {
    this.dialing ??= this.loop().finally(() => (this.dialing = undefined));
    return this.dialing;
  }

  /** The session was lost: dial again in the background. */
  lost(reason: Error): void {
    if (this.stopped) return;
    this.logger.warn(`Lost the session with the host at ${this.host.address} (${reason.message}); reconnecting.`);
    this.connect().catch(() => undefined);
  }

  /** No more dialling (the plugin is stopping). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
  }

  private async loop(): Promise<WelcomeFrame> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new PluginConfigurationError('The plugin is stopping: no more connections to the host.');
      try {
        const welcome = await this.dial();
        if (attempt > 0) this.logger.log(`Joined the host at ${this.host.address} again after ${attempt} attempts.`);
        return welcome;
      } catch (err) {
        const delay = reconnectDelay(attempt, this.host.backoff);
        this.logger.warn(REMOTE_HOST_GONE(this.host.address, (err as Error)?.message ?? String(err), delay));
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, delay);
        });
      }
    }
  }
}
