// `npm run bench:startup`: what TLS mode 'auto' adds to a host start, and what Node's module
// compile cache saves a plugin start, on the machine's Node and on each Node the matrix script has
// unpacked (node_modules/.cache/node-matrix/). Every figure comes from fresh processes, one at a
// time, and is CPU time (user + system, all threads of the process) besides wall time: on a shared
// machine the wall clock measures the neighbours as much as the code.
//
//   node dist/bench/startup-costs.js [--rounds N]
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule, createMtlsMaterial, type WwPluginHostOptions } from '@wwplugin/nestjs';
import { execFileSync } from 'node:child_process';
import { generateKeyPair } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RESULTS_DIR, ROOT } from './support/paths.js';
import { median } from './support/stats.js';

const SELF = fileURLToPath(import.meta.url);
/** The example plugin's module: importing it loads what every plugin loads (Nest, grpc-js, protobufjs, the library). */
const ECHO_MODULE = `${ROOT}dist/apps/echo/src/echo.module.js`;

type Figures = Record<string, number>;

/** Runs `work`, returning its wall and CPU milliseconds. */
async function timed(work: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return { wall: performance.now() - t0, cpu: (cpu.user + cpu.system) / 1000 };
}

/** One measurement in this (fresh) process; prints its figures as JSON. */
async function child(mode: string): Promise<void> {
  if (mode === 'material') {
    const cold = await timed(() => createMtlsMaterial());
    const warm = await timed(() => createMtlsMaterial());
    return void console.log(JSON.stringify({ coldWall: cold.wall, coldCpu: cold.cpu, warmWall: warm.wall, warmCpu: warm.cpu }));
  }
  if (mode === 'rsa-reference') {
    // What the node-forge version spent on its three RSA-2048 keys alone (before any signing).
    const keys = await timed(() => Promise.all([1, 2, 3].map(() => promisify(generateKeyPair)('rsa', { modulusLength: 2048 }))));
    return void console.log(JSON.stringify({ wall: keys.wall, cpu: keys.cpu }));
  }
  const options: WwPluginHostOptions = mode === 'host-tls' ? { port: 0, tls: { mode: 'auto' } } : { port: 0 };
  @Module({ imports: [WwPluginModule.forRoot(options)] })
  class HostModule {}
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>> | undefined;
  const start = await timed(async () => {
    app = await NestFactory.createApplicationContext(HostModule, { logger: ['error'] });
    await app.get(PluginHostService).address();
  });
  await app!.close();
  console.log(JSON.stringify({ wall: start.wall, cpu: start.cpu }));
}

/** A bare process that only imports the example plugin's module (this file has loaded Nest already). */
const PLUGIN_MODULES = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(ECHO_MODULE)});
const u = process.cpuUsage(c); console.log(JSON.stringify({ wall: performance.now() - t, cpu: (u.user + u.system) / 1000 }));`;

function measure(node: string, mode: string, env: Record<string, string | undefined> = {}): Figures {
  const args = mode === 'plugin-modules' ? ['--input-type=module', '-e', PLUGIN_MODULES] : [SELF, '--child', mode];
  const out = execFileSync(node, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;
  const matrix = join(ROOT, 'node_modules/.cache/node-matrix');
  const nodes = [
    process.execPath,
    ...(existsSync(matrix)
      ? readdirSync(matrix)
          .sort()
          .map((v) => join(matrix, v, 'node'))
      : []),
  ];
  const ms = (rows: Figures[], key: string) => `${median(rows.map((r) => r[key])).toFixed(1)}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const lines: string[] = [];
  const out = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  const runs: Record<string, Record<string, Figures[]>> = {};
  out(
    `Run \`bench/results/startup-${stamp}.json\`, ${new Date().toISOString()}, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}: medians of ${rounds} fresh processes each; CPU ms (wall ms).\n`,
  );
  out(
    '| Node | certificates, first call (loads @peculiar/x509) | certificates, again | before: 3 RSA-2048 keys alone | host start, no TLS | host start, tls auto | plugin modules, no compile cache | plugin modules, compile cache |',
  );
  out('|---|---|---|---|---|---|---|---|');
  for (const node of nodes) {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const cacheDir = mkdtempSync(join(tmpdir(), 'wwplugin-bench-cache-'));
    const material: Figures[] = [];
    const rsa: Figures[] = [];
    const plain: Figures[] = [];
    const tls: Figures[] = [];
    const cold: Figures[] = [];
    const cached: Figures[] = [];
    // Fill the compile cache once; then take turns, so drift in the machine's speed hits all alike.
    measure(node, 'plugin-modules', { NODE_COMPILE_CACHE: cacheDir });
    for (let i = 0; i < rounds; i++) {
      material.push(measure(node, 'material'));
      rsa.push(measure(node, 'rsa-reference'));
      plain.push(measure(node, 'host'));
      tls.push(measure(node, 'host-tls'));
      cold.push(measure(node, 'plugin-modules', { NODE_COMPILE_CACHE: undefined, NODE_DISABLE_COMPILE_CACHE: '1' }));
      cached.push(measure(node, 'plugin-modules', { NODE_COMPILE_CACHE: cacheDir }));
    }
    rmSync(cacheDir, { recursive: true, force: true });
    const both = (rows: Figures[], cpu: string, wall: string) => `${ms(rows, cpu)} (${ms(rows, wall)})`;
    runs[version] = { material, rsa, plain, tls, cold, cached };
    out(
      `| ${version} | ${both(material, 'coldCpu', 'coldWall')} | ${both(material, 'warmCpu', 'warmWall')} | ${both(rsa, 'cpu', 'wall')} | ${both(plain, 'cpu', 'wall')} | ` +
        `${both(tls, 'cpu', 'wall')} | ${both(cold, 'cpu', 'wall')} | ${both(cached, 'cpu', 'wall')} |`,
    );
  }
  // Every table BENCHMARKS.md shows comes from a committed results file: this run's, with its raw figures.
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}startup-${stamp}.json`, `${JSON.stringify({ when: new Date().toISOString(), rounds, runs }, null, 2)}\n`);
  writeFileSync(`${RESULTS_DIR}startup-${stamp}.md`, `${lines.join('\n')}\n`);
  console.log(`\nwritten: bench/results/startup-${stamp}.json and .md`);
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();
