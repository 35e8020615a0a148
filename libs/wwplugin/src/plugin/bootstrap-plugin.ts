import { firstValueFrom, take, timeout } from 'rxjs';
import {
  Logger,
  Module,
  type CanActivate,
  type DynamicModule,
  type ExceptionFilter,
  type INestApplicationContext,
  type LoggerService,
  type LogLevel,
  type NestInterceptor,
  type PipeTransform,
  type Provider,
  type Type,
} from '@nestjs/common';
import type { NestApplicationContextOptions } from '@nestjs/common/interfaces/nest-application-context-options.interface.js';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE, NestFactory } from '@nestjs/core';
import { startFailureLine } from '../errors/start-failure.js';
import { WWPLUGIN_REMOTE_OPTIONS } from '../wwplugin.constants.js';
import { PluginLogger } from './plugin-logger.js';
import { PluginSession } from './plugin-session.js';
import { PluginTransportServer } from './plugin-transport.server.js';
import { reportUncaughtDenials } from './access-denial.reporter.js';
import { parkIfSpare } from './spare-park.js';
import { remoteHostAddress, type RemoteHostOptions } from './remote-connector.js';
import { ENV_HEALTH_PORT, RemoteHealthServer } from './remote-health.server.js';

/** An enhancer given by class (Nest creates it, with dependency injection) or as an instance. */
export type EnhancerOf<T> = Type<T> | T;

/**
 * Options of bootstrapPlugin: Nest's own application options (logger, bufferLogs, ...) plus the
 * plugin's global enhancers. @publicApi
 */
export interface BootstrapPluginOptions extends Omit<NestApplicationContextOptions, 'logger'> {
  /**
   * Nest log levels (default error and warn; log and debug too when the host runs with debug), or
   * false, or a LoggerService of your own. With levels, each log record travels to the host, which
   * logs it with its own logger; your own LoggerService writes where it writes.
   */
  logger?: LogLevel[] | false | LoggerService;
  /** Exit the process when the plugin stops (default true: a plugin is a process of its own). */
  exitOnStop?: boolean;
  /** Guards around every plugin function and message/event handler; classes get dependency injection. */
  guards?: Array<EnhancerOf<CanActivate>>;
  pipes?: Array<EnhancerOf<PipeTransform>>;
  interceptors?: Array<EnhancerOf<NestInterceptor>>;
  filters?: Array<EnhancerOf<ExceptionFilter>>;
  /** Join a remote host over mutual TLS (else the environment's WWPLUGIN_HOST and WWPLUGIN_TLS_* decide; see docs/remote-plugins.md). */
  remote?: RemoteHostOptions;
  /** A remote plugin sent SIGTERM finishes its calls in flight within this time (ms) before it exits. Default 20 000. */
  shutdownGraceMs?: number;
}

/** Modules bootstrapPlugin builds around the app's (see rootModule). */
@Module({})
class WwPluginRootModule {}
@Module({})
class WwPluginGlobalInstancesModule {}
@Module({})
class WwPluginBootstrapOptionsModule {}

const DEFAULT_GRACE_MS = 5_000;
/** When the host is gone: time left to calls in flight, and the moment the process exits regardless. */
const HOST_GONE_DRAIN_MS = 500;
const HOST_GONE_EXIT_MS = 1_500;
/** Below Kubernetes' default terminationGracePeriodSeconds (30 s). */
const REMOTE_GRACE_MS = 20_000;
/** How long a draining remote plugin waits for the host's answer (older hosts send none). */
const DRAIN_ANSWER_MS = 2_000;

/**
 * Starts a plugin: creates its Nest application context, connects to the host named in the
 * environment with the WWPlugin transport, registers every function, and serves until the host
 * says stop (or disappears). Resolves with the application context once the plugin is serving.
 * @publicApi
 */
export async function bootstrapPlugin(module: Type<unknown> | DynamicModule, options: BootstrapPluginOptions = {}): Promise<INestApplicationContext> {
  // A spare of this plugin's own has run the entry's imports and waits here until it is used.
  await parkIfSpare();
  const { exitOnStop: exitOption, guards, pipes, interceptors, filters, logger: loggerOption, remote, shutdownGraceMs, ...nestOptions } = options;
  const server = new PluginTransportServer();
  reportUncaughtDenials();
  const debug = process.env.WWPLUGIN_DEBUG === '1';
  const levels = loggerOption ?? (debug ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn']);
  const pluginLogger = Array.isArray(levels) ? new PluginLogger({ logLevels: levels }) : undefined;
  const exitOnStop = exitOption ?? true;
  const log = new Logger('WwPlugin');
  const enhancers = { guards, pipes, interceptors, filters };
  let app: INestApplicationContext | undefined;
  let session: PluginSession | undefined;
  // Known before the app exists: its startup hooks run while it is created, and a remote plugin's
  // probes and SIGTERM handling must be in place by then.
  const isRemote = !!remoteHostAddress(remote, process.env);
  let probes: RemoteHealthServer | undefined;
  // Set once the plugin serves: SIGTERM may come while a remote plugin is still starting.
  let drainAndStop = async (): Promise<void> => process.exit(0);
  try {
    // A remote plugin handles SIGTERM itself (below): it finishes its calls in flight first.
    if (isRemote) process.once('SIGTERM', () => void drainAndStop());
    // Probes answer while the plugin starts and dials its host: live at once, ready once welcomed.
    const probePort = process.env[ENV_HEALTH_PORT];
    if (isRemote && probePort) {
      probes = new RemoteHealthServer(() => !!session?.isConnected && session.isWelcomed);
      await probes.listen(Number(probePort));
    }
    // An application context, not a Nest microservice: the transport below serves every handler,
    // and NestFactory.createMicroservice would load all of @nestjs/microservices (every transport's
    // client and server) into each plugin process before it could start.
    app = await NestFactory.createApplicationContext(rootModule(module, enhancers, remote), {
      abortOnError: false,
      ...nestOptions,
      logger: pluginLogger ?? levels,
    });
    const started = app.get(PluginSession, { strict: false });
    session = started;
    if (pluginLogger) started.welcomed.subscribe(() => pluginLogger.attach((record) => started.sendLog(record)));
    server.attach(app);
    app.enableShutdownHooks(isRemote ? ['SIGINT', 'SIGHUP', 'SIGQUIT'] : undefined);
    await new Promise<void>((resolve, reject) => void server.listen((err?: unknown) => (err ? reject(err) : resolve())));
    // As a Nest microservice does once it listens: logs held by `bufferLogs` go out now.
    if (nestOptions.autoFlushLogs ?? true) app.flushLogs();
  } catch (err) {
    // Logs held by `bufferLogs` explain the failure: they go out before it.
    app?.flushLogs();
    log.error(`Plugin failed to start: ${(err as Error)?.message ?? String(err)}`);
    if (exitOnStop) {
      // Last on stderr (after any held log records): the host rebuilds the error with its class.
      process.once('exit', () => process.stderr.write(`${startFailureLine(err)}\n`));
      process.exit(1);
    }
    throw err;
  }

  // The plugin serves from here: a failed start exited or threw above.
  const served = { app: app!, session: session! };
  let stopping = false;
  const stop = async (graceMs: number, hardStopMs: number) => {
    if (stopping) return;
    stopping = true;
    // Never outlive the time we were given: the host would terminate us anyway.
    if (exitOnStop) setTimeout(() => process.exit(0), hardStopMs).unref();
    await server.drain(graceMs);
    probes?.close();
    // The session ends first, as a Nest microservice closes its server before its hooks: the
    // answers still on their way reach the host before hooks take the time left.
    await server.close().catch((err) => log.error(`Ending the session failed: ${(err as Error)?.message}`));
    // An app its own code closed already ran its hooks: Nest would run them again.
    if (!served.session.appShutDown) await served.app.close().catch((err) => log.error(`Shutdown hooks failed: ${(err as Error)?.message}`));
    if (exitOnStop) process.exit(0);
  };
  // Asked by the host: finish the calls in flight within the grace period, run the shutdown hooks,
  // and be gone before the host's SIGTERM (grace + 1 s).
  let draining = false;
  server.shutdownRequests().subscribe((s) => {
    // A draining remote plugin gets the host's Shutdown as the answer to its Draining: drainAndStop waits for it.
    if (draining) return;
    const graceMs = s.graceMs || DEFAULT_GRACE_MS;
    void stop(graceMs, graceMs + 500);
  });
  drainAndStop = async () => {
    const graceMs = shutdownGraceMs ?? REMOTE_GRACE_MS;
    log.log(`SIGTERM: finishing ${served.session.handling} calls in flight (up to ${graceMs} ms), then exiting.`);
    draining = true;
    // Calls the host sent before it read our Draining are still on their way; its Shutdown answer
    // comes after them on the one ordered stream. A host that does not answer is not waited for long.
    const answered = firstValueFrom(server.shutdownRequests().pipe(take(1), timeout(Math.min(graceMs, DRAIN_ANSWER_MS)))).catch(() => undefined);
    served.session.announceDraining(graceMs);
    await answered;
    await stop(graceMs, graceMs + 2_000);
  };
  // A remote plugin outlives its host's sessions (it reconnects): only its orchestrator stops it.
  if (isRemote) return served.app;
  // The host is gone (killed, or dropped the session): no one can use our answers. Leave within
  // HOST_GONE_EXIT_MS, giving calls in flight a moment to end cleanly first.
  const hostGone = (why: string) => {
    if (!stopping) log.warn(`The host is gone (${why}): stopping.`);
    void stop(HOST_GONE_DRAIN_MS, HOST_GONE_EXIT_MS);
  };
  server.lost().subscribe((err) => hostGone(`session lost: ${err.message}`));
  if (process.stdin && !process.stdin.isTTY) {
    process.stdin.on('end', () => hostGone('stdin closed'));
    process.stdin.on('error', (err) => hostGone(`stdin failed: ${err.message}`));
    process.stdin.resume();
  }
  // Our stdout and stderr are pipes to the host: once it is gone, a log line must not crash the
  // shutdown with EPIPE.
  for (const out of [process.stdout, process.stderr]) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  return served.app;
}

type Enhancers = Pick<BootstrapPluginOptions, 'guards' | 'pipes' | 'interceptors' | 'filters'>;
const isClass = <T>(e: EnhancerOf<T>): e is Type<T> => typeof e === 'function';

type EnhancerKinds = Array<[string, Array<EnhancerOf<unknown>> | undefined]>;

/**
 * The app's module, wrapped when bootstrapPlugin has something to add to it: global enhancers as
 * APP_* providers (by class with dependency injection; instances after the app's own, where
 * app.useGlobal*() would put them) and the `remote` option, which the session reads as it is made.
 */
function rootModule(module: Type<unknown> | DynamicModule, e: Enhancers, remote: RemoteHostOptions | undefined): Type<unknown> | DynamicModule {
  const kinds: EnhancerKinds = [
    [APP_GUARD, e.guards],
    [APP_PIPE, e.pipes],
    [APP_INTERCEPTOR, e.interceptors],
    [APP_FILTER, e.filters],
  ];
  const byClass: Provider[] = kinds.flatMap(([provide, list]) => (list ?? []).filter(isClass).map((useClass) => ({ provide, useClass })));
  const instances: Provider[] = kinds.flatMap(([provide, list]) => (list ?? []).filter((x) => !isClass(x)).map((useValue) => ({ provide, useValue })));
  const imports: Array<Type<unknown> | DynamicModule> = [module];
  if (instances.length) imports.push({ module: WwPluginGlobalInstancesModule, providers: instances });
  if (remote) {
    const provider = { provide: WWPLUGIN_REMOTE_OPTIONS, useValue: remote };
    imports.push({ module: WwPluginBootstrapOptionsModule, global: true, providers: [provider], exports: [WWPLUGIN_REMOTE_OPTIONS] });
  }
  return byClass.length || imports.length > 1 ? { module: WwPluginRootModule, imports, providers: byClass } : module;
}
