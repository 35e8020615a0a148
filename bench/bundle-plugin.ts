// Bundles the bench plugin into one ES module file. A plugin process spends most of its cold start
// having Node resolve, read and link some 570 ES modules (@nestjs/*, the library) and the CommonJS
// files of grpc-js, protobufjs and rxjs; one file cuts that to a fraction, which is how a plugin
// beats the bare Nest reference.
import { cpSync } from 'node:fs';
import { dirname } from 'node:path';
import { ROOT } from './support/paths.js';

/**
 * Bundles `entry` to `outFile` with rolldown (the bundler Vite 8 ships). Optional packages Nest
 * imports only for other transports stay out of the bundle: they are never loaded at run time.
 * Resolves false, with the reason, when no bundler is installed.
 */
export async function bundlePlugin(entry: string, outFile: string): Promise<{ ok: true; ms: number } | { ok: false; reason: string }> {
  // Imported by a name TypeScript does not resolve: the build must not depend on the bundler being
  // installed (it comes with Vitest's Vite); without it the bench measures the unbundled plugin only.
  const bundler = 'rolldown';
  let rolldown: { build(options: Record<string, unknown>): Promise<unknown> };
  try {
    rolldown = (await import(bundler)) as typeof rolldown;
  } catch (err) {
    return { ok: false, reason: `rolldown is not installed (${(err as Error).message})` };
  }
  const t0 = performance.now();
  await rolldown.build({
    input: entry,
    platform: 'node',
    // Left out: what a plugin process never loads. Nest's HTTP platforms and websockets are for
    // HTTP apps; node-forge makes certificates on the host. Parsing them would cost start time and
    // memory for nothing (about 15 MiB of RSS).
    external: [/^node:/, /^@nestjs\/platform-/, /^@nestjs\/websockets/, 'express', 'node-forge'],
    output: { file: outFile, format: 'esm', codeSplitting: false },
    logLevel: 'warn',
    // Nest's optional packages (kafkajs, mqtt, class-validator...) are not installed: left as
    // imports that nothing on the plugin's path ever runs.
    onLog: (level: string, log: { code?: string }, next: (level: string, log: unknown) => void) => {
      if (log.code !== 'UNRESOLVED_IMPORT') next(level, log);
    },
  });
  // The library reads its .proto at run time from ../proto next to its module: in a bundle, that
  // module is the bundle itself.
  cpSync(`${ROOT}proto`, `${dirname(dirname(outFile))}/proto`, { recursive: true });
  return { ok: true, ms: performance.now() - t0 };
}
