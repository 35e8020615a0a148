// `npm run bench:startup`: what TLS mode 'auto' adds to a host start, and what Node's module
// compile cache saves a plugin start, on the machine's Node and on each Node the matrix script has
// unpacked (node_modules/.cache/node-matrix/). Every figure comes from fresh processes, one at a time.
//
//   node dist/bench/startup-costs.js [--rounds N]
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule, createMtlsMaterial, type WwPluginHostOptions } from '@wwplugin/nestjs';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './support/paths.js';
import { median } from './support/stats.js';

const SELF = fileURLToPath(import.meta.url);
const ECHO = `${ROOT}dist/apps/echo/src/main.js`;

/** One measurement in this (fresh) process; prints its figures as JSON. */
async function child(mode: string): Promise<void> {
  if (mode === 'material') {
    let t = performance.now();
    await createMtlsMaterial();
    const cold = performance.now() - t;
    t = performance.now();
    await createMtlsMaterial();
    return void console.log(JSON.stringify({ cold, warm: performance.now() - t }));
  }
  const options: WwPluginHostOptions = mode === 'host-tls' ? { port: 0, tls: { mode: 'auto' } } : { port: 0 };
  @Module({ imports: [WwPluginModule.forRoot(options)] })
  class HostModule {}
  const t0 = performance.now();
  const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error'] });
  const host = app.get(PluginHostService);
  await host.address();
  const start = performance.now() - t0;
  const t1 = performance.now();
  await host.load(ECHO);
  const load = performance.now() - t1;
  await app.close();
  console.log(JSON.stringify({ start, load }));
}

function measure(node: string, mode: string, env: Record<string, string> = {}): Record<string, number> {
  const out = execFileSync(node, [SELF, '--child', mode], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 7;
  const matrix = join(ROOT, 'node_modules/.cache/node-matrix');
  const nodes = [process.execPath, ...(existsSync(matrix) ? readdirSync(matrix).map((v) => join(matrix, v, 'node')) : [])];
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(`rounds: ${rounds}; each figure the median of fresh processes\n`);
  console.log('| Node | certificates, cold (first call, loads @peculiar/x509) | certificates, warm | host start, no TLS | host start, tls auto | plugin load, no compile cache | plugin load, compile cache |');
  console.log('|---|---|---|---|---|---|---|');
  for (const node of nodes) {
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    const material = Array.from({ length: rounds }, () => measure(node, 'material'));
    const plain: Record<string, number>[] = [];
    const tls: Record<string, number>[] = [];
    const cold: Record<string, number>[] = [];
    const cached: Record<string, number>[] = [];
    // Warm the compile cache once, then take turns so drift hits both sides alike.
    measure(node, 'host');
    for (let i = 0; i < rounds; i++) {
      plain.push(measure(node, 'host'));
      tls.push(measure(node, 'host-tls'));
      cold.push(measure(node, 'host', { NODE_DISABLE_COMPILE_CACHE: '1' }));
      cached.push(measure(node, 'host'));
    }
    const m = (rows: Record<string, number>[], key: string) => fmt(median(rows.map((r) => r[key])));
    console.log(
      `| ${version} | ${m(material, 'cold')} | ${m(material, 'warm')} | ${m(plain, 'start')} | ${m(tls, 'start')} | ${m(cold, 'load')} | ${m(cached, 'load')} |`,
    );
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();
