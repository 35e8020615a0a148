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
  const stop = async (graceMs: number, code: number) => {
    if (stopping) return;
    stopping = true;
    // Past the grace period the host terminates us anyway; do not outlive it.
    const hardStop = setTimeout(() => process.exit(code), graceMs + 2_000);
    hardStop.unref();
    await server.drain(graceMs);
    await app.close().catch((err) => log.error(`Shutdown hooks failed: ${(err as Error)?.message}`));
    if (exitOnStop) process.exit(code);
  };
  server.shutdownRequests().subscribe((s) => void stop(s.graceMs || DEFAULT_GRACE_MS, 0));
  // The host is gone (killed, or dropped the session): no one can use our answers, so leave.
  server.lost().subscribe(() => void stop(1_000, 0));
  if (process.stdin && !process.stdin.isTTY) {
    process.stdin.on('end', () => void stop(1_000, 0));
    process.stdin.on('error', () => void stop(1_000, 0));
    process.stdin.resume();
  }
  return app;
}
