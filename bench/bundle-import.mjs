// What a bundled plugin's start file costs to import: its size, and the time a fresh Node process
// takes to import it (parse, compile, evaluate; the plugin is not started), medians over rounds
// that alternate between the bundles compared. By default the bench plugin bundled by
// scripts/bundle-plugin.mjs; `--script label=path` adds a bundle made by another version of the
// script (for an A/B: `git show REV:scripts/bundle-plugin.mjs > scripts/old-bundle-plugin.mjs`).
//
//   npm run build && node bench/bundle-import.mjs [--rounds N] [--script label=path ...]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const roundsAt = argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 11;
const scripts = { current: join(ROOT, 'scripts/bundle-plugin.mjs') };
argv.forEach((a, i) => {
  if (a !== '--script') return;
  const [label, path] = argv[i + 1].split('=');
  scripts[label] = resolve(path);
});
// Inside the repository, where node_modules is found, as for the bench's own bundles.
const dir = mkdtempSync(join(ROOT, 'dist/bench/bundle-import-'));
const CHILD = `const t0 = performance.now(); await import(process.argv[1]); console.log(performance.now() - t0);`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
try {
  const starts = {};
  for (const [label, script] of Object.entries(scripts)) {
    const { bundlePlugin } = await import(pathToFileURL(script).href);
    const r = await bundlePlugin(join(ROOT, 'dist/bench/plugin/main.js'), join(dir, label, 'main.mjs'));
    if (!r.ok) throw new Error(`${label}: ${r.reason}`);
    starts[label] = join(dir, label, 'main.start.mjs');
  }
  const times = Object.fromEntries(Object.keys(starts).map((l) => [l, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, file] of Object.entries(starts)) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(file).href], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
      times[label].push(Number(r.stdout));
    }
  }
  console.log(`Bundled bench plugin's start file, ${ROUNDS} rounds, Node ${process.version} (import ms, median [min-max]):`);
  for (const [label, file] of Object.entries(starts)) {
    const t = times[label];
    const mb = (statSync(file).size / 1e6).toFixed(2);
    console.log(`  ${label.padEnd(12)} ${mb} MB  ${median(t).toFixed(1).padStart(6)}  [${Math.min(...t).toFixed(1)}-${Math.max(...t).toFixed(1)}]`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
