// `npm run bench:coldstart`: a plugin's cold start against the bare Nest reference, like with like
// (unbundled with unbundled, bundled with bundled), in one run and taken in turns. Each start gives
// its wall time (spawn or load() → first reply) and the CPU time the new process spent until then,
// which neighbours on a shared machine move far less than the wall clock. Ratios are per round,
// with their spread.
//
//   node dist/bench/coldstart.js [--rounds N] [--plugin label=path/to/built/main.js ...] [--nest-grpc]
//
// --plugin adds entries (e.g. another build of the bench plugin, to compare before and after).
// --nest-grpc adds bench/nest-grpc-child.ts: the same call made with @nestjs/microservices' gRPC client.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { bareOnce } from './support/bare-reference.js';
import { bundlePlugin } from './bundle-plugin.js';
import { DIST_BENCH, RESULTS_DIR } from './support/paths.js';
import { median } from './support/stats.js';

interface Sample {
  ms: number;
  cpuMs: number;
}

function argValues(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] ? [process.argv[i + 1]] : []));
}

async function main(): Promise<void> {
  const rounds = Number(argValues('--rounds')[0] ?? 7);
  const server = fork(`${DIST_BENCH}raw/raw-server.js`, [JSON.stringify({ transport: 'unix' })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const address = await new Promise<string>((resolve) =>
    server.on('message', (m: { type?: string; address?: string }) => m.type === 'listening' && resolve(m.address!)),
  );
  const bundleDir = `${DIST_BENCH}coldstart-${process.pid}`;
  const plugins: Record<string, string> = { unbundled: `${DIST_BENCH}plugin/main.js` };
  const bares: Record<string, string> = { unbundled: `${DIST_BENCH}bare-nest-child.js` };
  // Informational, in no ratio: the same call the way Nest's documentation makes gRPC calls.
  if (process.argv.includes('--nest-grpc')) bares['nest-grpc'] = `${DIST_BENCH}nest-grpc-child.js`;
  for (const extra of argValues('--plugin')) {
    const [label, path] = extra.split('=');
    plugins[label] = path;
  }
  const app = await NestFactory.createApplicationContext({ module: class ColdStartHost {}, imports: [WwPluginModule.forRoot({})] }, { logger: ['error'] });
  const host = app.get(PluginHostService);
  try {
    // Every plugin entry bundled too (rolldown); the bare reference sits at the top of the directory,
    // three levels below the repository as when it is not bundled.
    const bareBundled = await bundlePlugin(bares.unbundled, `${bundleDir}/bare-nest-child.mjs`);
    if (bareBundled.ok) {
      bares.bundled = `${bundleDir}/bare-nest-child.mjs`;
      for (const [label, path] of Object.entries(plugins)) {
        const out = `${bundleDir}/${label}/main.mjs`;
        if ((await bundlePlugin(path, out)).ok) plugins[label === 'unbundled' ? 'bundled' : `${label} bundled`] = out;
      }
    } else console.error(`no bundles: ${bareBundled.reason}`);
    const samples: Record<string, Sample[]> = {};
    const add = (label: string, s: Sample) => (samples[label] ??= []).push(s);
    let n = 0;
    // One warm-up of each (the file system cache), then the rounds, every entry in turn.
    for (let round = 0; round <= rounds; round++) {
      for (const [label, file] of Object.entries(bares)) {
        const b = await bareOnce(address, 'x', file);
        if (round) add(`bare ${label}`, { ms: b.ms, cpuMs: b.cpuUs / 1000 });
      }
      for (const [label, path] of Object.entries(plugins)) {
        const name = `cold${n++}`;
        const t0 = performance.now();
        await host.load({ path, name, env: { BENCH_PLUGIN_NAME: name }, spare: false });
        await host.call(name, 'echo', { payload: 'x' });
        const ms = performance.now() - t0;
        const cpuMs = ((await host.call(name, 'cpu')) as number) / 1000;
        await host.unload(name);
        if (round) add(`plugin ${label}`, { ms, cpuMs });
      }
    }
    const lines = [
      `Cold start, ${rounds} rounds, Node ${process.version}, load average ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} at the end.`,
    ];
    lines.push('', '| start | wall ms (median) | CPU ms (median) | wall ratio: median [min–max] | CPU ratio: median [min–max] |', '|---|---:|---:|---|---|');
    const ratios = (a: Sample[], b: Sample[], key: keyof Sample) => a.map((s, i) => s[key] / b[i][key]).sort((x, y) => x - y);
    const span = (r: number[]) => `${median(r).toFixed(2)}x [${r[0].toFixed(2)}–${r[r.length - 1].toFixed(2)}]`;
    for (const [label, s] of Object.entries(samples)) {
      const ref = label.startsWith('plugin ') ? samples[/(^| )bundled$/.test(label) ? 'bare bundled' : 'bare unbundled'] : undefined;
      const wall = median(s.map((x) => x.ms)).toFixed(0);
      const cpu = median(s.map((x) => x.cpuMs)).toFixed(0);
      lines.push(`| ${label} | ${wall} | ${cpu} | ${ref ? span(ratios(s, ref, 'ms')) : ''} | ${ref ? span(ratios(s, ref, 'cpuMs')) : ''} |`);
    }
    console.log(lines.join('\n'));
    // A table BENCHMARKS.md cites comes from a committed file: this run's, with every sample.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(`${RESULTS_DIR}coldstart-${stamp}.md`, `${lines.join('\n')}\n`);
    writeFileSync(`${RESULTS_DIR}coldstart-${stamp}.json`, `${JSON.stringify({ when: new Date().toISOString(), rounds, plugins, bares, samples }, null, 2)}\n`);
    console.log(`\nwritten: bench/results/coldstart-${stamp}.md and .json`);
  } finally {
    await app.close();
    server.kill('SIGTERM');
    rmSync(bundleDir, { recursive: true, force: true });
  }
  process.exit(0);
}

await main();
