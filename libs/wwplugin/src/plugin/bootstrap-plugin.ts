import { Logger, type LogLevel, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginTransportServer } from './plugin-transport.server.js';

/** Options of bootstrapPlugin. @publicApi */
export interface BootstrapPluginOptions {
  /** Nest log levels; default error and warn (log and debug too when the host runs with debug). */
  logger?: LogLevel[] | false;
  /** Exit the process when the plugin stops (default true: a plugin is a process of its own). */
  exitOnStop?: boolean;
}

const DEFAULT_GRACE_MS = 5_000;
/** When the host is gone: time left to calls in flight, and the moment the process exits regardless. */
const HOST_GONE_DRAIN_MS = 500;
const HOST_GONE_EXIT_MS = 1_500;

/**
 * Starts a plugin: creates the Nest microservice with the WWPlugin transport, connects to the host
 * named in the environment, registers every function, and serves until the host says stop (or
 * disappears). @publicApi
 */
export async function bootstrapPlugin(module: unknown, options: BootstrapPluginOptions = {}): Promise<INestMicroservice> {
  const server = new PluginTransportServer();
  const debug = process.env.WWPLUGIN_DEBUG === '1';
  const logger: LogLevel[] | false = options.logger ?? (debug ? ['error', 'warn', 'log', 'debug'] : ['error', 'warn']);
  const exitOnStop = options.exitOnStop ?? true;
  const log = new Logger('WwPlugin');
  let app: INestMicroservice;
  try {
    app = await NestFactory.createMicroservice(module as never, { strategy: server, logger, abortOnError: false });
    server.attach(app);
    app.enableShutdownHooks();
    await app.listen();
  } catch (err) {
    log.error(`Plugin failed to start: ${(err as Error)?.message ?? String(err)}`);
    if (exitOnStop) process.exit(1);
    throw err;
  }

  let stopping = false;
  const stop = async (graceMs: number, hardStopMs: number) => {
    if (stopping) return;
    stopping = true;
    // Never outlive the time we were given: the host would terminate us anyway.
    if (exitOnStop) setTimeout(() => process.exit(0), hardStopMs).unref();
    await server.drain(graceMs);
    await app.close().catch((err) => log.error(`Shutdown hooks failed: ${(err as Error)?.message}`));
    if (exitOnStop) process.exit(0);
  };
  // Asked by the host: finish the calls in flight within the grace period, run the shutdown hooks,
  // and be gone before the host's SIGTERM (grace + 1 s).
  server.shutdownRequests().subscribe((s) => {
    const graceMs = s.graceMs || DEFAULT_GRACE_MS;
    void stop(graceMs, graceMs + 500);
  });
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
  return app;
}
