import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { ENV_PLUGIN_ID, ENV_TOKEN } from '../protocol/protocol.constants.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { compileCacheEnv } from './compile-cache.js';
import { LineSplitter } from './output-lines.js';
import { signalGroup } from './process-group.js';

/** The spare's program (the plugin side's runner); a file path, not an import: the sides stay apart. */
const RUNNER = fileURLToPath(new URL('../plugin/spare-runner.js', import.meta.url));
/** Backoff before replacing a spare that died before it was ready, doubling up to the maximum. */
const RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/** What a spare is told when it becomes a plugin (plugin/spare-runner.ts reads it). */
export interface SpareAssignment {
  entry: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** A spare process as list() shows it. @publicApi */
export interface SpareInfo {
  pid: number;
  /** Node flags it was started with: it serves only plugins started with exactly these. */
  flags: string[];
  /** Loaded and waiting for its plugin (false while it warms up). */
  ready: boolean;
  /** For a spare of one plugin's own (`spare: 'own'`): that plugin's id. */
  plugin?: string;
  /** For a spare prewarmed for the next load() of a spec (`prewarm()`): its entry file. */
  prewarmed?: string;
}

/** Variables Node reads when it starts, not later: a spare serves a plugin only if they are equal. */
const isStartupVariable = (key: string) =>
  (key.startsWith('NODE_') && key !== 'NODE_ENV') || key.startsWith('UV_') || key.startsWith('OPENSSL_') || key.startsWith('SSL_CERT_');

class Spare {
  ready = false;
  private readonly detach: Array<() => void> = [];

  constructor(
    readonly child: ChildProcess,
    readonly flags: string[],
    readonly env: Record<string, string>,
    /** A spare of this plugin's own (its id, or a prewarmed spec's entry), with the secret it was started with. */
    readonly own?: { plugin: string; token: string; prewarmed?: boolean },
  ) {}

  get key(): string {
    return this.flags.join('\0');
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Logs the spare's output under its own context until it becomes a plugin. */
  watchOutput(stream: Readable, onLine: (line: string) => void): void {
    const lines = new LineSplitter(onLine);
    const data = (chunk: Buffer) => lines.push(chunk);
    stream.on('data', data);
    stream.on('error', () => undefined);
    this.detach.push(() => stream.removeListener('data', data));
  }

  /** Hands stdout and stderr over to the launcher, which reads them as the plugin's. */
  releaseOutput(): void {
    for (const d of this.detach.splice(0)) d();
  }

  info(): SpareInfo {
    const whose = this.own ? (this.own.prewarmed ? { prewarmed: this.own.plugin } : { plugin: this.own.plugin }) : {};
    return { pid: this.child.pid!, flags: [...this.flags], ready: this.ready, ...whose };
  }
}

/**
 * Prewarmed spare processes (host option `spares`, default 0): Node started and the framework and
 * Nest loaded, waiting to be told which plugin to run. A plugin start (load, restart, a restart
 * after a crash) with a ready spare of the same Node flags hands its entry, arguments, working
 * directory and environment to the spare instead of spawning Node; the pool then warms a new one.
 */
@Injectable()
export class SparePool implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WwPluginSpares');
  private readonly target: number;
  private readonly spares = new Set<Spare>();
  /** Spares of a plugin's own, by plugin id, and what each was started with (to start the next). */
  private readonly own = new Map<string, { spare?: Spare; flags: string[]; assignment: SpareAssignment; failures: number; retry?: NodeJS.Timeout }>();
  /** Spares prewarmed for the next load() of a spec, by what they were started with (prewarmKey). */
  private readonly prewarmed = new Map<string, Spare>();
  /** Plugins (ids) found to run a library of their own in a shared spare: they keep their own spare. */
  private readonly bundles = new Set<string>();
  private readonly learnBundles: boolean;
  private closing = false;
  private failures = 0;
  private retry?: NodeJS.Timeout;

  constructor(@Inject(WWPLUGIN_HOST_OPTIONS) options: WwPluginHostOptions) {
    // The control pipe is a descriptor the spare opens by number: POSIX only.
    this.target = process.platform === 'win32' ? 0 : (options.spares ?? 0);
    this.learnBundles = options.bundleSpares ?? true;
  }

  onApplicationBootstrap(): void {
    this.fill();
  }

  /** The spares now, warming or ready (the shared ones, then those of plugins' own, then the prewarmed). */
  list(): SpareInfo[] {
    const own = [...this.own.values()].flatMap((o) => (o.spare ? [o.spare] : []));
    return [...this.spares, ...own, ...this.prewarmed.values()].filter((s) => s.child.pid !== undefined).map((s) => s.info());
  }

  /**
   * Starts a spare for the next load() of a plugin not loaded yet: started as that plugin would be
   * (`flags`, `assignment` without its id and secret), it runs the entry up to bootstrapPlugin and
   * waits there. One per spec; resolves once it is ready (false if it died first or the pool closes).
   */
  prewarm(flags: string[], assignment: SpareAssignment): Promise<boolean> {
    if (this.closing || process.platform === 'win32') return Promise.resolve(false);
    const key = prewarmKey(flags, assignment);
    let spare = this.prewarmed.get(key);
    if (!spare) {
      const { [ENV_TOKEN]: _token, [ENV_PLUGIN_ID]: _id, ...env } = assignment.env;
      const args = ['--own', assignment.entry, ...assignment.args];
      spare = this.spawnSpare(flags, { env, cwd: assignment.cwd, args }, { plugin: assignment.entry, token: randomBytes(32).toString('hex'), prewarmed: true });
      this.prewarmed.set(key, spare);
      const started = spare;
      started.child.once('exit', () => {
        if (this.prewarmed.get(key) === started) this.prewarmed.delete(key);
      });
    }
    const waiting = spare;
    return new Promise((resolve) => {
      if (waiting.ready) return resolve(true);
      const control = waiting.child.stdio[3] as Socket;
      const onData = () => waiting.ready && done(true);
      const done = (ready: boolean) => {
        control.removeListener('data', onData);
        waiting.child.removeListener('exit', onExit);
        resolve(ready);
      };
      const onExit = () => done(false);
      control.on('data', onData);
      waiting.child.once('exit', onExit);
    });
  }

  /**
   * The ready spare prewarmed for exactly this start (flags, entry, arguments, working directory
   * and environment but for the plugin's id and secret), let go with the plugin's id and secret.
   */
  takePrewarmed(flags: readonly string[], assignment: SpareAssignment, plugin: string): { child: ChildProcess; token: string } | undefined {
    const key = prewarmKey(flags, assignment);
    const spare = this.prewarmed.get(key);
    if (!spare?.own || !spare.ready || !spare.alive) return undefined;
    this.prewarmed.delete(key);
    spare.releaseOutput();
    const control = spare.child.stdio[3] as Socket;
    control.removeAllListeners('end');
    control.end(`${spare.own.token} ${plugin}\n`);
    return { child: spare.child, token: spare.own.token };
  }

  /**
   * Keeps a spare of this plugin's own (`spare: 'own'`): started as the plugin would be (`flags`,
   * `assignment` without a secret), it runs the entry up to bootstrapPlugin and waits there.
   */
  warmOwn(plugin: string, flags: string[], assignment: SpareAssignment): void {
    if (this.closing || process.platform === 'win32') return;
    const entry = this.own.get(plugin);
    if (entry?.spare) return;
    const record = entry ?? { flags, assignment, failures: 0 };
    record.flags = flags;
    record.assignment = assignment;
    this.own.set(plugin, record);
    const token = randomBytes(32).toString('hex');
    const { [ENV_TOKEN]: _none, ...env } = assignment.env;
    record.spare = this.spawnSpare(flags, { env, cwd: assignment.cwd, args: ['--own', assignment.entry, ...assignment.args] }, { plugin, token });
  }

  /**
   * The ready spare of this plugin's own, now let go into bootstrapPlugin with its secret (sent on
   * the control pipe, never in its environment); undefined when there is none or the plugin would
   * now start with other flags or another environment.
   */
  takeOwn(plugin: string, flags: readonly string[], env: Record<string, string>): { child: ChildProcess; token: string } | undefined {
    const record = this.own.get(plugin);
    const spare = record?.spare;
    if (!record || !spare?.own || !spare.ready || !spare.alive || spare.key !== flags.join('\0')) return undefined;
    record.spare = undefined;
    if (!sameEnv(spare.env, env)) {
      // Started with what the plugin no longer has: it cannot serve, and the next warmOwn replaces it.
      signalGroup(spare.child, 'SIGKILL');
      return undefined;
    }
    spare.releaseOutput();
    const control = spare.child.stdio[3] as Socket;
    control.removeAllListeners('end');
    control.end(`${spare.own.token}\n`);
    return { child: spare.child, token: spare.own.token };
  }

  /** The plugin is stopped or gone: its own spare goes too. */
  discardOwn(plugin: string): void {
    this.bundles.delete(plugin);
    const record = this.own.get(plugin);
    if (!record) return;
    this.own.delete(plugin);
    clearTimeout(record.retry);
    if (record.spare) signalGroup(record.spare.child, 'SIGKILL');
  }

  /**
   * A ready spare started with `flags`, now running the plugin of `assignment`; undefined when
   * none is ready or the plugin's startup variables (NODE_OPTIONS, ...) differ from the spare's.
   */
  take(flags: readonly string[], assignment: SpareAssignment): ChildProcess | undefined {
    const key = flags.join('\0');
    for (const spare of this.spares) {
      if (!spare.ready || !spare.alive || spare.key !== key || !sameStartup(spare.env, assignment.env)) continue;
      this.spares.delete(spare);
      spare.releaseOutput();
      const control = spare.child.stdio[3] as Socket;
      control.removeAllListeners('end');
      control.write(`${JSON.stringify(assignment)}\n`);
      this.hearLibrary(control, assignment.env[ENV_PLUGIN_ID]);
      return spare.child;
    }
    return undefined;
  }

  /**
   * True when this plugin should keep a spare of its own although its spec does not ask for one:
   * a start in a shared spare showed it runs a copy of the library of its own (a bundle), which
   * the shared spares' preloaded modules do nothing for (host option `bundleSpares`).
   */
  wantsOwn(plugin: string): boolean {
    return this.bundles.has(plugin);
  }

  /** Reads the plugin's word on fd 3: which library it runs; then closes the pipe. */
  private hearLibrary(control: Socket, plugin: string | undefined): void {
    let said = '';
    const onData = (chunk: Buffer) => {
      said += chunk.toString('utf8');
      if (!said.includes('\n')) return;
      control.removeListener('data', onData);
      control.destroy();
      if (said.startsWith('library own') && plugin && this.learnBundles && !this.closing) this.bundles.add(plugin);
    };
    control.on('data', onData);
  }

  /** Starts spares until `spares` are warming or ready (after a spare was taken, or at bootstrap). */
  fill(): void {
    if (this.closing || this.retry) return;
    while (this.spares.size < this.target) this.spares.add(this.spawnSpare([]));
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Kills every spare and starts no more; resolves once they are gone. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retry);
    for (const record of this.own.values()) {
      clearTimeout(record.retry);
      if (record.spare) this.spares.add(record.spare);
    }
    this.own.clear();
    this.bundles.clear();
    for (const spare of this.prewarmed.values()) this.spares.add(spare);
    this.prewarmed.clear();
    const gone = [...this.spares].map((s) => (s.alive ? new Promise<void>((resolve) => s.child.once('exit', () => resolve())) : Promise.resolve()));
    // A spare holds nothing: no grace period.
    for (const s of this.spares) signalGroup(s.child, 'SIGKILL');
    await Promise.all(gone);
    this.spares.clear();
  }

  private spawnSpare(
    flags: string[],
    own?: { env: Record<string, string>; cwd: string; args: string[] },
    owner?: { plugin: string; token: string; prewarmed?: boolean },
  ): Spare {
    const env: Record<string, string> = own?.env ?? { ...(process.env as Record<string, string>), NO_COLOR: '1', ...compileCacheEnv() };
    const child = spawn(process.execPath, [...flags, RUNNER, ...(own?.args ?? [])], {
      env,
      cwd: own?.cwd,
      // stdin: end-of-file when the host dies; fd 3: the control pipe (ready, then the assignment).
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    const spare = new Spare(child, flags, env, owner);
    child.stdin!.on('error', () => undefined);
    const who = owner ? `spare of ${owner.plugin}` : 'spare';
    spare.watchOutput(child.stdout!, (line) => this.logger.log(`${who} ${child.pid}: ${line}`));
    spare.watchOutput(child.stderr!, (line) => this.logger.warn(`${who} ${child.pid}: ${line}`));
    const control = child.stdio[3] as Socket;
    control.on('error', () => undefined);
    let said = '';
    const onData = (chunk: Buffer) => {
      said += chunk.toString('utf8');
      if (!said.includes('ready\n')) return;
      control.removeListener('data', onData);
      spare.ready = true;
      if (owner?.prewarmed) return;
      if (owner) this.own.get(owner.plugin)!.failures = 0;
      else this.failures = 0;
    };
    control.on('data', onData);
    child.once('error', (err) => this.logger.warn(`A spare process could not be started: ${err.message}`));
    child.once('exit', (code, signal) => {
      signalGroup(child, 'SIGKILL');
      if (this.closing) return;
      if (owner?.prewarmed) {
        if ([...this.prewarmed.values()].includes(spare))
          this.logger.warn(`The spare prewarmed for ${owner.plugin} (pid ${child.pid ?? '?'}) exited (${signal ?? `code ${code}`}) before it was used.`);
        return;
      }
      if (owner) return this.ownExited(owner.plugin, spare, code, signal);
      if (!this.spares.delete(spare)) return; // taken: now a plugin
      this.logger.warn(`Spare process ${child.pid ?? '?'} exited (${signal ?? `code ${code}`}) before it was used: starting another.`);
      if (!spare.ready) this.failures += 1;
      this.replaceLater();
    });
    return spare;
  }

  /** A plugin's own spare died while it waited: another, after a backoff if it never got ready. */
  private ownExited(plugin: string, spare: Spare, code: number | null, signal: NodeJS.Signals | null): void {
    const record = this.own.get(plugin);
    if (!record || record.spare !== spare) return; // taken, replaced or discarded
    record.spare = undefined;
    this.logger.warn(
      `The spare of plugin ${plugin} (pid ${spare.child.pid ?? '?'}) exited (${signal ?? `code ${code}`}) before it was used: starting another.`,
    );
    if (!spare.ready) record.failures += 1;
    const delay = record.failures ? Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (record.failures - 1)) : 0;
    record.retry = setTimeout(() => {
      record.retry = undefined;
      if (this.own.get(plugin) === record) this.warmOwn(plugin, record.flags, record.assignment);
    }, delay);
    record.retry.unref();
  }

  /** A spare that dies before it is ready is replaced after a backoff: a broken setup must not spin. */
  private replaceLater(): void {
    if (!this.failures) return this.fill();
    const delay = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (this.failures - 1));
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.fill();
    }, delay);
    this.retry.unref();
  }
}

/** What a prewarmed spare was started with: a start matches it only if all of it is equal. */
function prewarmKey(flags: readonly string[], a: SpareAssignment): string {
  const { [ENV_TOKEN]: _token, [ENV_PLUGIN_ID]: _id, ...env } = a.env;
  const sorted = Object.keys(env)
    .sort()
    .map((k) => [k, env[k]]);
  return JSON.stringify([flags, a.entry, a.args, a.cwd, sorted]);
}

/** The same variables with the same values. */
function sameEnv(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/** True when a process started with `spare`'s environment starts as one started with `plugin`'s would. */
export function sameStartup(spare: Record<string, string>, plugin: Record<string, string>): boolean {
  for (const key of new Set([...Object.keys(spare), ...Object.keys(plugin)])) {
    if (isStartupVariable(key) && spare[key] !== plugin[key]) return false;
  }
  return true;
}
