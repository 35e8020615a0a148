// `npm run bench:sandbox`: what the sandbox costs a plugin. Cold start (load() until the first call
// returns) and call p50 of the benchmark plugin sandboxed (`sandbox: true`), as ratios to the same
// plugin unsandboxed, in one run and one host, taken in turns (rounds, medians) because the
// machine's speed drifts. Sandboxed plugins start without Node's compile cache, so the unsandboxed
// plugin is also measured without it: that ratio is the permission model's own cost.
//
//   node dist/bench/sandbox.js [--rounds N] [--calls N]
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule, type PluginSpec } from '@wwplugin/nestjs';
import { DIST_BENCH } from './support/paths.js';
import { makePayload, median, sequential } from './support/stats.js';

const ENTRY = `${DIST_BENCH}plugin/main.js`;
const VARIANTS = {
  unsandboxed: {},
  'unsandboxed, no compile cache': { env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
  sandboxed: { sandbox: true },
} satisfies Record<string, Partial<PluginSpec>>;
type Variant = keyof typeof VARIANTS;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

/** One plugin of `variant`: load() → first reply, then the p50 of `calls` sequential calls (µs). */
async function once(host: PluginHostService, variant: Variant, name: string, calls: number, payload: string): Promise<{ coldMs: number; p50Us: number }> {
  const t0 = performance.now();
  const spec: PluginSpec = { path: ENTRY, name, ...VARIANTS[variant] };
  await host.load({ ...spec, env: { ...spec.env, BENCH_PLUGIN_NAME: name } });
  await host.call(name, 'echo', { payload });
  const coldMs = performance.now() - t0;
  const latency = await sequential(calls, 300, () => host.call(name, 'echo', { payload }));
  await host.unload(name);
  return { coldMs, p50Us: latency.p50 };
}

async function main(): Promise<void> {
  const rounds = option('--rounds', 5);
  const calls = option('--calls', 2_000);
  const payload = makePayload(100);
  @Module({ imports: [WwPluginModule.forRoot({})] })
  class BenchHostModule {}
  const app = await NestFactory.createApplicationContext(BenchHostModule, { logger: ['error'] });
  const host = app.get(PluginHostService);
  const results = Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, { cold: [] as number[], p50: [] as number[] }])) as Record<
    Variant,
    { cold: number[]; p50: number[] }
  >;
  try {
    // One plugin unmeasured first: the host's own first load pays for its warm-up.
    await once(host, 'unsandboxed', 'warm-up', 100, payload);
    const order = Object.keys(VARIANTS) as Variant[];
    for (let round = 0; round < rounds; round++) {
      // Each round in another order: none always goes first.
      for (const variant of round % 2 ? [...order].reverse() : order) {
        const r = await once(host, variant, `bench-${round}-${variant.replace(/\W+/g, '-')}`, calls, payload);
        results[variant].cold.push(r.coldMs);
        results[variant].p50.push(r.p50Us);
      }
      process.stderr.write(`round ${round + 1}/${rounds} done\n`);
    }
  } finally {
    await app.close();
  }
  const base = { cold: median(results.unsandboxed.cold), p50: median(results.unsandboxed.p50) };
  const noCache = { cold: median(results['unsandboxed, no compile cache'].cold), p50: median(results['unsandboxed, no compile cache'].p50) };
  console.log(`Node ${process.versions.node}, ${rounds} rounds, ${calls} calls each, 100-byte payload (medians)\n`);
  console.log('| plugin | cold start (ms) | call p50 (µs) |\n|---|---|---|');
  for (const [variant, r] of Object.entries(results)) console.log(`| ${variant} | ${median(r.cold).toFixed(0)} | ${median(r.p50).toFixed(0)} |`);
  const sandboxed = { cold: median(results.sandboxed.cold), p50: median(results.sandboxed.p50) };
  console.log(`\nsandboxed / unsandboxed: cold start ×${(sandboxed.cold / base.cold).toFixed(2)}, call p50 ×${(sandboxed.p50 / base.p50).toFixed(2)}`);
  console.log(
    `sandboxed / unsandboxed without compile cache: cold start ×${(sandboxed.cold / noCache.cold).toFixed(2)}, call p50 ×${(sandboxed.p50 / noCache.p50).toFixed(2)}`,
  );
}

await main();
