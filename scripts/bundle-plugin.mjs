#!/usr/bin/env node
// Bundles a built plugin entry into one ES module file for its start. A plugin process spends most
// of its cold start having Node resolve, read and link several hundred module files (@nestjs/*,
// grpc-js, rxjs); one file cuts that to a fraction (BENCHMARKS.md: about half the start time). The
// library's parts a plugin loads only if used (the host's side, metrics, tracing) go to files
// beside it: a plugin's start neither reads nor compiles them.
//
//   npm run bundle-plugin -- dist/apps/echo/src/main.js dist/bundles/echo/main.mjs
//
// Then load the bundle like any entry: host.load('dist/bundles/echo/main.mjs').
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The library's host side and what only it imports (prom-client and its dependencies), and the
// plugin's tracing (@opentelemetry/api): a plugin process imports them with import(), if ever.
const LOADED_WHEN_USED =
  /[\\/](?:@wwplugin[\\/]nestjs|libs[\\/]wwplugin)[\\/]dist[\\/](?:host[\\/]|protocol[\\/]call-tracing\.js)|[\\/]node_modules[\\/](?:prom-client|bintrees|tdigest|@opentelemetry[\\/]api)[\\/]/;

// rxjs' "node" export is its CommonJS build: every one of its modules is kept and run in a wrapper.
// Its ES module build (the same code, side-effect free) lets the bundler keep only what is used.
const rxjsAsModules = {
  name: 'rxjs-as-modules',
  async resolveId(source, importer, options) {
    if (!/^rxjs(?:\/|$)/.test(source)) return null;
    const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
    const esm = resolved?.id.replace(/([\\/]rxjs[\\/]dist[\\/])cjs([\\/])/, '$1esm$2');
    return esm && esm !== resolved.id && existsSync(esm) ? { ...resolved, id: esm } : resolved;
  },
};

// grpc-js require()s @grpc/proto-loader (and so protobufjs) inside the functions that describe its
// channelz and ORCA services: a sixth of the start file, parsed at every start. Those functions
// also read .proto files from grpc-js's own directory, which no bundle has, so they never worked
// bundled; the require is left to node_modules, as Nest's optional packages are.
const grpcAdminProtosLeftOut = {
  name: 'grpc-admin-protos-left-out',
  resolveId(source, importer) {
    return source === '@grpc/proto-loader' && importer && /[\\/]@grpc[\\/]grpc-js[\\/]/.test(importer) ? { id: source, external: true } : null;
  },
};

/**
 * Bundles `entry` to `outFile` with rolldown. Packages a plugin process never loads (Nest's HTTP
 * platforms and websockets, @peculiar/x509 for the host's certificates) stay out; Nest's optional
 * transports that are not installed stay as imports nothing runs. `outFile` holds the entry
 * module; everything else it imports, at once or with import(), is one file beside it
 * (`<name>.start.mjs`), but for the library's parts a plugin process loads only when used (the
 * host's side, which WwPluginModule.forRoot imports, and tracing), in `<name>.*.mjs` files beside
 * it. Resolves { ok: false, reason } when rolldown is not installed.
 */
export async function bundlePlugin(entry, outFile) {
  const input = resolve(entry);
  // Module ids are real paths (a symlinked directory, /tmp on macOS).
  let entryId = input;
  try {
    entryId = realpathSync(input);
  } catch {
    // No such file: rolldown says so below.
  }
  let rolldown;
  try {
    rolldown = await import('rolldown');
  } catch (err) {
    return { ok: false, reason: `rolldown is not installed (${err.message})` };
  }
  const t0 = performance.now();
  await rolldown.build({
    input,
    platform: 'node',
    external: [/^node:/, /^@nestjs\/platform-/, /^@nestjs\/websockets/, 'express', '@peculiar/x509'],
    output: {
      dir: dirname(resolve(outFile)),
      format: 'esm',
      // Pure ASCII, without JSDoc (where most non-ASCII text was): Node then reads the source in
      // its fast one-byte form, and V8 keeps half the bytes for it.
      charset: 'ascii',
      comments: { legal: true, annotation: true, jsdoc: false },
      entryFileNames: basename(outFile),
      // No hash: a new bundle replaces the files of the one before.
      chunkFileNames: `${basename(outFile, extname(outFile))}.[name].mjs`,
      // The entry module (its top-level await) stays out of the start file: a part loaded later
      // imports the start file, and waiting on a module still evaluating would never end.
      codeSplitting: { groups: [{ name: 'start', test: (id) => id !== input && id !== entryId && !LOADED_WHEN_USED.test(id) }] },
    },
    plugins: [rxjsAsModules, grpcAdminProtosLeftOut],
    logLevel: 'warn',
    onLog: (level, log, next) => {
      // A module imported both ways stays where its static import puts it: nothing to act on.
      if (log.code !== 'UNRESOLVED_IMPORT' && log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') next(level, log);
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
