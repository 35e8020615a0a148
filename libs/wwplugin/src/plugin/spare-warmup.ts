import { Injectable, Logger, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

@Injectable()
class WarmupProvider {}

@Module({ providers: [WarmupProvider] })
class WarmupModule {}

/** Swallows everything: the warm-up app must not print. */
const silent: LoggerService = { log() {}, error() {}, warn() {} };

/** Nest's static logger, which creating an app with a logger option replaces. */
const staticLogger = Logger as unknown as { staticInstanceRef?: LoggerService };

/**
 * A spare, before it says ready, creates and closes one empty Nest application context (what
 * bootstrapPlugin creates) with this copy of Nest: V8 compiles Nest's start path (scanner,
 * injector, hooks) on first use, about 10 ms that a restart served by the spare would otherwise
 * pay while its host waits. Never fails the spare.
 */
export async function warmUpNest(): Promise<void> {
  const before = staticLogger.staticInstanceRef;
  try {
    const app = await NestFactory.createApplicationContext(WarmupModule, { logger: silent, abortOnError: false });
    await app.close();
  } catch {
    // A spare that could not warm up starts its plugin as fast as it would have without.
  } finally {
    // Code the plugin runs before bootstrapPlugin logs as it would have without the warm-up.
    Logger.overrideLogger(before as LoggerService);
  }
}
