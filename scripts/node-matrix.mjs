#!/usr/bin/env node
// Runs the end-to-end subset below on each supported Node line (22, 24, 26): the test host and every
// plugin process it spawns run on that Node, and so does npm in the package-install test.
//
//   npm run test:node-matrix                          # the pinned versions, the subset below
//   NODE_MATRIX=24.22.3 npm run test:node-matrix      # one version
//   npm run test:node-matrix -- test/foo.e2e-spec.ts  # other test files
//
// Node binaries come from the npm registry's node-<os>-<arch> packages (the binary ships inside the
// package), unpacked once into node_modules/.cache/node-matrix/<version>/. The built dist is plain
// JavaScript: build once with the machine's Node (`npm run build`), then test on each.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The newest release of each supported line when this was pinned; bump them together. */
export const VERSIONS = ['22.23.5', '24.22.3', '26.12.1'];
/**
 * What each Node must pass: calls both ways, streams, pushes, crash detection and restart, mutual
 * TLS, the fixture plugin's whole start-up path, the packed package installed and run (a plugin and
 * host, the plugins page and /metrics on Express and Fastify, remote replicas), the
 * compile cache each Node gives plugins, the sandbox (each line spells the permission model's flags its own way),
 * spares (a spare runs its plugin's entry with that Node's own entry runner, and warms Nest up on it), bundles in
 * spares of their own, and remote plugins over mutual TLS (their pushes passed on when a replica drops off).
 */
export const SUBSET = [
  'test/foundation-calls.e2e-spec.ts',
  'test/foundation-lifecycle.e2e-spec.ts',
  'test/messaging-streams.e2e-spec.ts',
  'test/messaging-push.e2e-spec.ts',
  'test/supervision-crash.e2e-spec.ts',
  'test/security-tls.e2e-spec.ts',
  'test/package-install.e2e-spec.ts',
  'test/package-admin.e2e-spec.ts',
  'test/package-remote.e2e-spec.ts',
  'test/sandbox.e2e-spec.ts',
  'test/spares.e2e-spec.ts',
  'test/spares-bundles.e2e-spec.ts',
  'test/remote-plugins.e2e-spec.ts',
  'test/remote-push-failover.e2e-spec.ts',
  'test/remote-app-lifecycle.e2e-spec.ts',
  'test/plugin-entry.e2e-spec.ts',
  'libs/wwplugin/src/host/compile-cache.spec.ts',
];
const CACHE = join(ROOT, 'node_modules', '.cache', 'node-matrix');
const PACKAGE = `node-${process.platform}-${process.arch}`;

/** The path of Node `version`'s binary, unpacking it from the registry package on first use. */
export function nodeBinary(version) {
  const bin = join(CACHE, version, 'node');
  if (existsSync(bin)) return bin;
  const work = mkdtempSync(join(tmpdir(), 'wwplugin-node-'));
  try {
    // npm's cache keeps the tarball: a second machine-wide fetch is offline.
    const pack = spawnSync('npm', ['pack', `${PACKAGE}@${version}`, '--pack-destination', work, '--prefer-offline', '--silent'], {
      cwd: work,
      encoding: 'utf8',
    });
    if (pack.status !== 0) throw new Error(`npm pack ${PACKAGE}@${version} failed:\n${pack.stderr}`);
    const tgz = join(work, pack.stdout.trim().split('\n').pop());
    const tar = spawnSync('tar', ['xzf', tgz, '-C', work, 'package/bin/node'], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`could not unpack ${tgz}:\n${tar.stderr}`);
    mkdirSync(dirname(bin), { recursive: true });
    renameSync(join(work, 'package', 'bin', 'node'), bin);
    chmodSync(bin, 0o755);
    return bin;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs vitest on `node`; resolves with the counts its summary line gave and the time taken. */
function runSuite(node, files) {
  const t0 = Date.now();
  return new Promise((resolvePromise) => {
    // That Node first on PATH: `npm`, `npx` and anything spawned by name run on it too.
    const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
    const child = spawn(node, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...files], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4096);
    });
    child.on('close', (code) => {
      const counts = [...tail.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop();
      resolvePromise({ code, passed: Number(counts?.[1] ?? 0), failed: Number(counts?.[2] ?? 0), seconds: (Date.now() - t0) / 1000 });
    });
  });
}

async function main(argv) {
  const versions = process.env.NODE_MATRIX ? process.env.NODE_MATRIX.split(',').map((v) => v.trim()) : VERSIONS;
  const files = argv.length ? argv : SUBSET;
  if (!existsSync(join(ROOT, 'libs/wwplugin/dist/index.js'))) {
    console.error('Build first: npm run build');
    return 1;
  }
  const results = [];
  for (const version of versions) {
    const node = nodeBinary(version);
    const reported = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`\n=== Node ${reported} (${node}): ${files.length} test files ===`);
    results.push({ version, ...(await runSuite(node, files)) });
  }
  console.log('\nNode matrix:');
  for (const r of results)
    console.log(`  Node ${r.version}: ${r.passed} passed, ${r.failed} failed, ${r.seconds.toFixed(0)} s${r.code ? ` (exit ${r.code})` : ''}`);
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed + (r.code && !r.failed ? 1 : 0), 0);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
