// `npm run bench:call-profile`: sequential host→plugin calls only, with both processes profiled
// (--cpu-prof), and the CPU per call of each side. What the framework's call path costs, by
// function and by file: summarise each profile with `node bench/profile-summary.mjs FILE`.
//   node --cpu-prof --cpu-prof-dir=DIR dist/bench/call-profile.js [--calls N] [--no-profile] [--dir DIR]
// (`npm run bench:call-profile` does this into bench/results/profiles/calls; then, e.g.
//  node bench/profile-summary.mjs FILE --after sequential --calls 20000 for the host,
//  --after echo --calls N for the plugin, N counting the 1.5 s of warm-up calls it also served)
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { PluginHostService } from '@wwplugin/nestjs';
import { mkdirSync } from 'node:fs';
import { BenchHostModule } from './framework/bench-host.module.js';
import { DIST_BENCH, RESULTS_DIR } from './support/paths.js';
import { makePayload, sequential } from './support/stats.js';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const calls = Number(opt('--calls') ?? 20_000);
const profile = !argv.includes('--no-profile');
const dir = opt('--dir') ?? `${RESULTS_DIR}profiles/calls-${new Date().toISOString().replace(/[:.]/g, '-')}`;
if (profile) mkdirSync(dir, { recursive: true });

// Extra Node/V8 flags for the plugin too (e.g. --no-turbo-inlining, so that self time stays with each function).
const flags = (process.env.PROFILE_FLAGS ?? '').split(' ').filter(Boolean);
const app = await NestFactory.createApplicationContext(BenchHostModule.forRoot({}), { logger: ['error'] });
const host = app.get(PluginHostService);
const entry = `${DIST_BENCH}plugin/main.js`;
await host.load({
  name: 'bench-a',
  env: { BENCH_PLUGIN_NAME: 'bench-a' },
  ...(profile ? { command: process.execPath, args: [...flags, '--cpu-prof', '--cpu-prof-interval', '200', `--cpu-prof-dir=${dir}`, entry] } : { path: entry }),
});
const payload = makePayload(100);
const call = () => host.call('bench-a', 'echo', { payload });
await sequential(1, 1500, call);
const plugin0 = (await host.call('bench-a', 'cpu')) as number;
const host0 = process.cpuUsage();
const seq = await sequential(calls, 0, call);
const h = process.cpuUsage(host0);
const pluginUs = ((await host.call('bench-a', 'cpu')) as number) - plugin0;
const hostUs = h.user + h.system;
console.log(
  `${calls} calls: p50 ${seq.p50.toFixed(1)} µs; CPU per call host ${(hostUs / calls).toFixed(1)} µs, plugin ${(pluginUs / calls).toFixed(1)} µs, both ${((hostUs + pluginUs) / calls).toFixed(1)} µs`,
);
await app.close();
if (profile) console.log(`profiles: ${dir} (the host's too if this process ran with --cpu-prof-dir=${dir})`);
process.exit(0);
