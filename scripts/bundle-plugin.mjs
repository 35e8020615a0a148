#!/usr/bin/env node
// Bundles a built plugin entry into one ES module file. A plugin process spends most of its cold
// start having Node resolve, read and link several hundred module files (@nestjs/*, grpc-js,
// rxjs); one file cuts that to a fraction (BENCHMARKS.md: about half the start time).
//
//   npm run bundle-plugin -- dist/apps/echo/src/main.js dist/bundles/echo/main.mjs
//
// Then load the bundle like any entry: host.load('dist/bundles/echo/main.mjs').
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Bundles `entry` to `outFile` with rolldown. Packages a plugin process never loads (Nest's HTTP
 * platforms and websockets, @peculiar/x509 for the host's certificates) stay out; Nest's optional
 * transports that are not installed stay as imports nothing runs. Resolves { ok: false, reason }
 * when rolldown is not installed.
 */
export async function bundlePlugin(entry, outFile) {
  let rolldown;
  try {
    rolldown = await import('rolldown');
  } catch (err) {
    return { ok: false, reason: `rolldown is not installed (${err.message})` };
  }
  const t0 = performance.now();
  await rolldown.build({
    input: resolve(entry),
    platform: 'node',
    external: [/^node:/, /^@nestjs\/platform-/, /^@nestjs\/websockets/, 'express', '@peculiar/x509'],
    output: { file: resolve(outFile), format: 'esm', codeSplitting: false },
    logLevel: 'warn',
    onLog: (level, log, next) => {
      if (log.code !== 'UNRESOLVED_IMPORT') next(level, log);
    },
  });
  return { ok: true, ms: performance.now() - t0 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [entry, outFile] = process.argv.slice(2);
  if (!entry || !outFile) {
    console.error('usage: npm run bundle-plugin -- <built entry .js> <output .mjs>');
    process.exit(2);
  }
  const result = await bundlePlugin(entry, outFile);
  if (!result.ok) {
    console.error(result.reason);
    process.exit(1);
  }
  console.log(`bundled ${entry} -> ${outFile} in ${Math.round(result.ms)} ms`);
}
