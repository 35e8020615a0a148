// What a plugin's cold start loads that the bare Nest reference does not: each part's import time
// in a fresh Node process, in the order a plugin loads them (Nest core, grpc-js, the library's
// plugin entry with the few classes of @nestjs/microservices it uses), how many of the library's
// own modules and of @nestjs/microservices' that is, and, for comparison, the whole of
// @nestjs/microservices (what NestFactory.createMicroservice would import). Medians, wall ms.
//
//   npm run build && node bench/import-costs.mjs [--rounds N]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 7;
const STEPS = [
  ['@nestjs/core (with reflect-metadata)', ['reflect-metadata', '@nestjs/core']],
  ['@grpc/grpc-js', ['@grpc/grpc-js']],
  ['@wwplugin/nestjs/plugin', ['@wwplugin/nestjs/plugin']],
  ['@nestjs/microservices, the rest of it', ['@nestjs/microservices']],
];
// A load hook names every module of the library and of @nestjs/microservices on stderr (hooks run on a thread of their own).
const HOOK = `export async function load(url, context, next) { if (/\\/libs\\/wwplugin\\/|@nestjs\\/microservices\\//.test(url)) process.stderr.write('MOD ' + url + '\\n'); return next(url, context); }`;
const CHILD = `
import { register } from 'node:module';
if (process.argv[2] === 'count') register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOK)}));
const out = [];
for (const [, specs] of JSON.parse(process.argv[1])) {
  const t0 = performance.now();
  for (const s of specs) await import(s);
  out.push(performance.now() - t0);
}
console.log(JSON.stringify(out));
`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const child = (mode, steps = STEPS) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(steps), mode], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r;
};
// Timed without the hook (it slows every import); one more process counts what a plugin loads (the steps before the last).
const runs = Array.from({ length: ROUNDS }, () => JSON.parse(child('time').stdout));
const loaded = new Set(
  child('count', STEPS.slice(0, -1))
    .stderr.split('\n')
    .filter((l) => l.startsWith('MOD ')),
);
const libModules = [...loaded].filter((l) => l.includes('/libs/wwplugin/')).length;
const microservicesModules = loaded.size - libModules;
console.log(`Import times in a fresh process, ${ROUNDS} rounds, Node ${process.version} (ms, median [min-max]):`);
STEPS.forEach(([label], i) => {
  const xs = runs.map((r) => r[i]);
  console.log(`  ${label.padEnd(40)} ${median(xs).toFixed(0).padStart(5)}  [${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}]`);
});
console.log(`A plugin's modules: the library's own ${libModules}, @nestjs/microservices' ${microservicesModules}.`);
