import { Inject, Injectable, Logger } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { delimiter, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { Subject } from 'rxjs';
import { startFailureOf } from '../errors/start-failure.js';
import { PluginCrashedError, PluginEntryNotFoundError, PluginNotRunningError, PluginStartError } from '../errors/wwplugin.errors.js';
import type { PluginSpec, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { ENV_ADDRESS, ENV_PLUGIN_ID, ENV_REPORT_DENIALS, ENV_TOKEN, ENV_TOKEN_FD, TOKEN_FD } from '../protocol/protocol.constants.js';
import { parseAccessDenialLine, type AccessDenial } from '../errors/access-denial.js';
import {
  COMMAND_NOT_FOUND,
  CRASHED,
  ENTRY_NOT_EXECUTABLE,
  ENTRY_NOT_FOUND,
  SHA256_MISMATCH,
  EXITED_BEFORE_READY,
  HANDSHAKE_TIMEOUT,
  NOT_RUNNING,
  OUT_OF_MEMORY,
} from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { HostServer } from './host-server.js';
import { HostTls } from './host-tls.js';
import { compileCacheEnv } from './compile-cache.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { LineSplitter } from './output-lines.js';
import { signalGroup } from './process-group.js';
import { heapOutOfMemory, isHeapOutOfMemoryLine, mayBeOutOfMemory, type OutOfMemory } from './out-of-memory.js';
import { pluginIdentity, type PluginIdentity } from './plugin-user.js';
import { RssWatchdog } from './resource-watchdog.js';
import { sandboxedLaunch, type SandboxedLaunch } from './sandbox-launch.js';
import { admitGroup } from './socket-access.js';
import { SparePool, type SpareAssignment } from './spare-pool.js';

const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_GRACE_MS = 5_000;
/** The longest a used-up spare waits to be replaced while the plugin that took it answers its first calls. */
const REFILL_WAIT_MS = 1_000;

/** An exit of a plugin process, as the supervisor sees it. */
export interface PluginExit {
  plugin: ManagedPlugin;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The host asked for it (stop, unload, restart): never restarted. */
  expected: boolean;
  /** Set when the plugin died of its heap limit or was killed over its resident memory limit. */
  outOfMemory?: OutOfMemory;
}

/** An ERR_ACCESS_DENIED a sandboxed plugin reported (with `logAccessDenials`). */
export interface PluginAccessDenial {
  plugin: ManagedPlugin;
  denial: AccessDenial;
}

/** Starts plugin processes and stops them: spawn, handshake wait, graceful stop, kill. */
@Injectable()
export class PluginLauncher {
  /** Every exit of a plugin process. The supervisor decides what follows. */
  readonly exits$ = new Subject<PluginExit>();
  /** Access denials sandboxed plugins report; the supervisor logs them and emits events. */
  readonly denials$ = new Subject<PluginAccessDenial>();
  /** Why the current process of a plugin was killed by its resident memory watchdog. */
  private readonly killedOverRss = new WeakMap<ChildProcess, OutOfMemory>();
  /** Set when the host closes: no process is spawned after it. */
  private closing = false;

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
    private readonly server: HostServer,
    private readonly tls: HostTls,
    private readonly spares: SparePool,
  ) {}

  /** Throws a typed error when the spec's entry file is missing, not a file, or not the expected one. */
  checkEntry(spec: PluginSpec): void {
    if (!spec.path && !spec.command) throw new PluginEntryNotFoundError('A plugin spec needs a path or a command.');
    const cwd = spec.cwd ?? process.cwd();
    const command = spec.command ?? '';
    // Windows resolves bare command names with PATHEXT: leave those to spawn.
    if (!spec.path && process.platform === 'win32' && !/[\\/]/.test(command)) return;
    const entry = spec.path ? resolvePath(cwd, spec.path) : findCommand(command, cwd, spec.env?.PATH ?? process.env.PATH);
    if (!entry) throw new PluginEntryNotFoundError(COMMAND_NOT_FOUND(command), { command });
    let isFile: boolean;
    try {
      isFile = statSync(entry).isFile();
    } catch {
      throw new PluginEntryNotFoundError(ENTRY_NOT_FOUND(entry), { path: entry });
    }
    if (!isFile) throw new PluginEntryNotFoundError(ENTRY_NOT_EXECUTABLE(entry), { path: entry });
    try {
      // Node reads a path entry; a command is executed itself.
      accessSync(entry, spec.path ? fsConstants.R_OK : fsConstants.X_OK);
    } catch {
      throw new PluginEntryNotFoundError(ENTRY_NOT_EXECUTABLE(entry), { path: entry });
    }
    if (spec.sha256) {
      // The entry file is what is hashed: the JavaScript file for a path, the executable for a command.
      const actual = createHash('sha256').update(readFileSync(entry)).digest('hex');
      if (actual !== spec.sha256.toLowerCase()) {
        throw new PluginStartError(SHA256_MISMATCH(entry, actual, spec.sha256), { path: entry, actual, expected: spec.sha256 });
      }
    }
  }

  /**
   * Spawns the plugin's process and resolves once its session is accepted and it can be called.
   * Every start that fails reports exactly one exit on `exits$` before it rejects (a synthetic one
   * when no process could be spawned), so the supervisor applies the restart policy to it.
   */
  async start(plugin: ManagedPlugin): Promise<void> {
    if (this.closing) throw new PluginNotRunningError(NOT_RUNNING(plugin.name, plugin.state), { state: plugin.state });
    // A restart attempt stays 'restarting' until it is running; any other start is 'starting'.
    if (plugin.state !== 'restarting' && !plugin.lifecycle.moveTo('starting')) {
      throw new PluginNotRunningError(NOT_RUNNING(plugin.name, plugin.state), { state: plugin.state });
    }
    // Set before the first await: a stop() from here on must win over this start.
    plugin.stopRequested = false;
    let address: string;
    let launch: SandboxedLaunch;
    let identity: PluginIdentity;
    try {
      this.checkEntry(plugin.spec);
      address = await this.server.listen();
      ({ launch, identity } = this.sandboxFor(plugin.spec, address));
    } catch (err) {
      if (!plugin.stopRequested) this.exits$.next({ plugin, code: null, signal: null, expected: false });
      else plugin.lifecycle.moveTo('stopped');
      throw err;
    }
    if (plugin.stopRequested) {
      // Stopped before any process existed: there is no exit to wait for.
      plugin.lifecycle.moveTo('stopped');
      throw new PluginNotRunningError(NOT_RUNNING(plugin.name, plugin.state), { state: plugin.state });
    }
    const spec = plugin.spec;
    plugin.token = randomBytes(32).toString('hex');
    plugin.refusedWith = undefined;
    plugin.clearStderr();
    const env = this.pluginEnv(spec, launch, identity, address, plugin.id);
    const spareable = isSpareable(spec, identity);
    // A spare's fd 3 is its control pipe: its secret travels in its assignment, set in-process
    // (never in /proc/<pid>/environ), and the plugin takes it from there.
    const assignment = spareAssignment(spec, { ...env, [ENV_TOKEN]: plugin.token });
    const ownSpare = spec.spare === 'own' || (spec.spare !== false && this.spares.wantsOwn(plugin.id));
    const own = spareable
      ? ((ownSpare ? this.spares.takeOwn(plugin.id, launch.flags, env) : undefined) ?? this.spares.takePrewarmed(launch.flags, assignment, plugin.id))
      : undefined;
    if (own) plugin.token = own.token;
    const spare = own?.child ?? (spareable ? this.spares.take(launch.flags, assignment) : undefined);
    const child =
      spare ??
      spawn(launch.command, launch.args, {
        cwd: spec.cwd,
        env: { ...env, [ENV_TOKEN_FD]: String(TOKEN_FD) },
        // stdin stays open: when the host dies the plugin reads end-of-file and leaves. The secret
        // travels on its own pipe (TOKEN_FD): an environment stays readable in /proc/<pid>/environ.
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        // A process group of its own: Ctrl-C in a terminal reaches the host only, which then stops
        // its plugins gracefully instead of racing them to exit.
        detached: process.platform !== 'win32',
        ...identity,
      });
    plugin.child = child;
    if (!spare) sendSecret(child, plugin.token);
    this.watchMemory(child, launch);
    // The context is read per line: the plugin's name is known only after its Hello.
    const debug = !!this.options.debug;
    forEachLine(child.stdout!, (line) => {
      if (debug) Logger.debug(line, `Plugin:${plugin.name}`);
      else Logger.log(line, `Plugin:${plugin.name}`);
    });
    let sawOutOfMemory = false;
    forEachLine(child.stderr!, (line) => {
      const denial = parseAccessDenialLine(line);
      if (denial) return this.denials$.next({ plugin, denial });
      // Noted as it passes: the native stack trace that follows can push it out of the tail.
      if (isHeapOutOfMemoryLine(line)) sawOutOfMemory = true;
      plugin.noteStderr(line);
      Logger.warn(line, `Plugin:${plugin.name}`);
    });
    child.stdin!.on('error', () => undefined); // EPIPE when the plugin is gone

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    // Registered before the race below: the exit reaches the supervisor before start() rejects.
    const stderrDone = new Promise<void>((resolve) => child.stderr!.once('close', resolve));
    void exited.then(async ({ code, signal }) => {
      // V8's last words (out of memory) may still be in the pipe: read them before judging the exit.
      if (mayBeOutOfMemory(code, signal)) await Promise.race([stderrDone, new Promise((r) => setTimeout(r, 250))]);
      this.onExit(plugin, child, code, signal, this.killedOverRss.get(child) ?? heapOutOfMemory(code, signal, sawOutOfMemory, launch.limits));
    });

    const timeoutMs = spec.startTimeoutMs ?? this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const ready = plugin.whenRunning(0, 'start').then(
      () => 'ready' as const,
      (e: Error) => e,
    );
    const outcome = await Promise.race([ready, exited, timedOut]);
    clearTimeout(timer);
    // A bundle found out in a shared spare gets its own from now on (the word comes before its Hello).
    const warmOwn = outcome === 'ready' && spareable && (spec.spare === 'own' || this.spares.wantsOwn(plugin.id));
    if (spare || warmOwn)
      this.afterFirstAnswers(plugin, () => {
        if (spare) this.spares.fill();
        if (warmOwn && plugin.child === child && plugin.state === 'running') this.spares.warmOwn(plugin.id, launch.flags, assignment);
      });
    if (outcome === 'ready') return;
    if (outcome === 'timeout') {
      signalGroup(child, 'SIGKILL');
      await exited;
      throw new PluginStartError(HANDSHAKE_TIMEOUT(plugin.name, timeoutMs, plugin.stderrTail()), { stderrTail: plugin.stderrTail() });
    }
    if (outcome instanceof Error) throw outcome;
    // Give the stderr reader a moment to deliver the dying words.
    await new Promise((r) => setImmediate(r));
    if (plugin.refusedWith) throw plugin.refusedWith;
    if (outcome.error) {
      throw new PluginStartError(`Plugin "${plugin.name}" could not be started: ${outcome.error.message}`, { cause: outcome.error.message });
    }
    const how = outcome.signal ? `killed by ${outcome.signal}` : `exit code ${outcome.code}`;
    // A library plugin names the error it failed with: it becomes the cause, with its own class.
    const { error: cause, tail } = startFailureOf(plugin.stderrTail());
    const failed = new PluginStartError(EXITED_BEFORE_READY(plugin.name, how, tail), { code: outcome.code, signal: outcome.signal, stderrTail: tail });
    if (cause) failed.cause = cause;
    throw failed;
  }

  /**
   * Runs `refill` (the spares a start used up) once the plugin just started has answered the calls
   * made as it became ready, or REFILL_WAIT_MS later if they take longer: a spawn holds the host's
   * thread, and a spare warming up competes with those first answers for the cores.
   */
  private afterFirstAnswers(plugin: ManagedPlugin, refill: () => void): void {
    let done = false;
    const run = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      refill();
    };
    const timer = setTimeout(run, REFILL_WAIT_MS).unref();
    // One turn on: calls made as load() resolved, or that waited for the restart, are in flight by then.
    setImmediate(() => (plugin.channel ? plugin.channel.whenIdle(() => setImmediate(run)) : run()));
  }

  /**
   * Starts a spare for the next load() of `spec` (PluginHostService.prewarm): the plugin's Node,
   * flags, working directory and environment, its entry imported, waiting inside bootstrapPlugin.
   * Resolves true once it is ready; false when this spec cannot use a spare (a command, another
   * user, spare: false) or the spare died first.
   */
  async prewarm(spec: PluginSpec): Promise<boolean> {
    if (this.closing) return false;
    this.checkEntry(spec);
    const address = await this.server.listen();
    const { launch, identity } = this.sandboxFor(spec, address);
    if (!isSpareable(spec, identity)) return false;
    return this.spares.prewarm(launch.flags, spareAssignment(spec, this.pluginEnv(spec, launch, identity, address)));
  }

  /** The environment a plugin process starts with (without its secret; without its id for a prewarmed spare). */
  private pluginEnv(spec: PluginSpec, launch: SandboxedLaunch, identity: PluginIdentity, address: string, id?: string): Record<string, string> {
    return {
      ...process.env,
      NO_COLOR: '1',
      // A cache a sandboxed or other user's process could write would be code the others run.
      ...(spec.command || launch.rights || identity.uid !== undefined ? {} : compileCacheEnv()),
      ...(this.options.debug ? { WWPLUGIN_DEBUG: '1' } : {}),
      ...(this.options.logAccessDenials ? { [ENV_REPORT_DENIALS]: '1' } : {}),
      // The OTEL_* environment passes on as is; a named plugin reports as a service of its own.
      ...(spec.name ? { OTEL_SERVICE_NAME: spec.name } : {}),
      ...spec.env,
      ...this.tls.pluginEnv(),
      [ENV_ADDRESS]: address,
      ...(id ? { [ENV_PLUGIN_ID]: id } : {}),
    } as Record<string, string>;
  }

  private onExit(plugin: ManagedPlugin, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, outOfMemory?: OutOfMemory): void {
    // The leader is gone; whatever it left in its group (grandchildren) goes with it.
    signalGroup(child, 'SIGKILL');
    if (plugin.child !== child) return; // an older process of this plugin
    plugin.lastExit = { code, signal, at: new Date() };
    const expected = plugin.stopRequested;
    const how = outOfMemory
      ? OUT_OF_MEMORY(plugin.name, outOfMemory.limit, outOfMemory.limitMiB, outOfMemory.rssMiB)
      : signal
        ? `killed by ${signal}`
        : `exit code ${code}`;
    const details = { code, signal, ...(outOfMemory ? { reason: 'out-of-memory', ...outOfMemory } : {}) };
    if (plugin.channel) {
      plugin.closeAfterExit(
        plugin.channel,
        new PluginCrashedError(CRASHED(plugin.name, how), details),
        expected
          ? () => new PluginNotRunningError(NOT_RUNNING(plugin.name, 'stopped'), { state: 'stopped' })
          : () => new PluginCrashedError(CRASHED(plugin.name, how), details),
      );
    }
    plugin.channel = undefined;
    plugin.child = undefined;
    this.exits$.next({ plugin, code, signal, expected, ...(outOfMemory ? { outOfMemory } : {}) });
  }

  /** The spawn plan of a sandboxed or limited plugin, and the user it runs as (typed errors when impossible). */
  private sandboxFor(spec: PluginSpec, address: string): { launch: SandboxedLaunch; identity: PluginIdentity } {
    const command = spec.command ?? process.execPath;
    const args = spec.command ? (spec.args ?? []) : [resolvePath(spec.cwd ?? process.cwd(), spec.path!), ...(spec.args ?? [])];
    const identity = pluginIdentity(spec);
    if (identity.gid !== undefined && identity.gid !== process.getgid?.()) admitGroup(address, identity.gid, !this.options.socketPath);
    return { launch: sandboxedLaunch(spec, this.options, command, args), identity };
  }

  /** Kills a plugin whose resident memory passes its limit; the exit then reports it out of memory. */
  private watchMemory(child: ChildProcess, launch: SandboxedLaunch): void {
    const limitMiB = launch.limits.maxRssMiB;
    if (!limitMiB || !child.pid) return;
    const watchdog = new RssWatchdog(
      child.pid,
      limitMiB,
      (rssMiB) => {
        this.killedOverRss.set(child, { limit: 'rss', limitMiB, rssMiB });
        signalGroup(child, 'SIGKILL');
      },
      launch.limits.rssSampleMs,
    );
    child.once('exit', () => watchdog.stop());
  }

  /**
   * Stops a plugin: asks it to finish its calls within the grace period and exit; past that it is
   * sent SIGTERM, then SIGKILL. Resolves once the process is gone.
   */
  async stop(plugin: ManagedPlugin, graceMs = this.options.shutdownGraceMs ?? DEFAULT_GRACE_MS): Promise<void> {
    const child = plugin.child;
    plugin.stopRequested = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (plugin.state !== 'stopping') plugin.lifecycle.moveTo('stopping');
    if (plugin.channel && !plugin.channel.isClosed) {
      plugin.channel.send({ shutdown: { graceMs, reason: 'stop requested by the host' } });
    } else {
      signalGroup(child, 'SIGTERM');
    }
    if (await this.within(gone, graceMs + 1_000)) return;
    signalGroup(child, 'SIGTERM');
    if (await this.within(gone, 1_000)) return;
    signalGroup(child, 'SIGKILL');
    await gone;
  }

  /** The host is closing: every later start() fails, so no process outlives it. */
  shutdown(): void {
    this.closing = true;
  }

  /** Kills at once (used for unresponsive plugins). */
  kill(plugin: ManagedPlugin): void {
    if (plugin.child) signalGroup(plugin.child, 'SIGKILL');
  }

  private async within(p: Promise<void>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    return done;
  }
}

/** A spare cannot change its user, and it was started with no Node flags of a plugin's own. */
function isSpareable(spec: PluginSpec, identity: PluginIdentity): boolean {
  return !spec.command && spec.spare !== false && identity.uid === undefined && identity.gid === undefined;
}

/** What a spare is told (or started with) to become this plugin. */
function spareAssignment(spec: PluginSpec, env: Record<string, string>): SpareAssignment {
  const cwd = spec.cwd ?? process.cwd();
  return { entry: resolvePath(cwd, spec.path ?? ''), args: spec.args ?? [], cwd: resolvePath(cwd), env };
}

/** Hands each line of a plugin's output to `onLine`, capped at MAX_LINE_BYTES (see LineSplitter). */
function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  const lines = new LineSplitter(onLine);
  stream.on('data', (chunk: Buffer) => lines.push(chunk));
  stream.on('end', () => lines.end());
  stream.on('error', () => undefined);
}

/** The file a bare command name runs, looked up on `pathEnv` the way spawn will; undefined if none. */
function findCommand(command: string, cwd: string, pathEnv = ''): string | undefined {
  if (/[\\/]/.test(command)) return resolvePath(cwd, command);
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = resolvePath(cwd, dir, command);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Hands the plugin its one-use secret on its own pipe, then closes it: the plugin reads to the end. */
function sendSecret(child: ChildProcess, token: string): void {
  const pipe = child.stdio[TOKEN_FD] as NodeJS.WritableStream | null;
  if (!pipe) return;
  pipe.on('error', () => undefined); // the plugin died before reading it
  pipe.end(`${token}\n`);
}
