// `npm run bench:instances`: calls/s of a CPU-bound plugin function with 2 instances against 1
// (goal ≥ 1.7x on 2 cores). The host runs in this process; each round loads the plugin with 1 and
// with 2 instances in turn (the machine's speed drifts), keeps `4 × instances` calls in flight for
// the round's duration, and counts the answers. Each round also runs the same loop in 1 and then 2
// bare Node processes (no framework, no calls): that ratio is what the machine gives two processes
// at that moment, the limit the framework's ratio is held to. Medians over the rounds; every round is
// printed, with the load average, because on a shared machine the neighbours move the figures.
//
//   node dist/bench/instances.js [--rounds N] [--seconds S] [--rounds-per-call R] [--out file.json]
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { DIST_BENCH } from './support/paths.js';
import { median } from './support/stats.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROUNDS = arg('--rounds', 5);
const SECONDS = arg('--seconds', 4);
const WORK = arg('--rounds-per-call', 2_000_000);
const OUT = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;

/** Calls/s with `instances` processes over SECONDS, 4 calls per instance outstanding at all times. */
async function measure(host: PluginHostService, instances: number): Promise<number> {
  await host.load({ path: `${DIST_BENCH}instances-plugin.js`, name: 'burn', instances });
  try {
    const ids = host.list().map((p) => p.id);
    // Warm-up: the JIT compiles `burn` in every instance.
    for (let i = 0; i < 5; i++) await Promise.all(ids.map((id) => host.call(id, 'burn', { rounds: WORK })));
    const inFlight = 4 * instances;
    const until = performance.now() + SECONDS * 1000;
    let done = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < until) {
          await host.call('burn', 'burn', { rounds: WORK }, { timeoutMs: 0 });
          done++;
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    return done / elapsed;
  } finally {
    await host.unload('burn');
  }
}

/** The same loop, as many times as it fits in SECONDS, in one bare process; prints the count. */
const BARE = `function burn(rounds) { let x = 0; for (let i = 0; i < rounds; i++) x = (x * 31 + i) % 1000003; return x; }
const until = Date.now() + ${SECONDS * 1000}; let n = 0;
while (Date.now() < until) { burn(${WORK}); n++; }
console.log(n);`;

/** Loops/s of `processes` bare processes running at once. */
async function bare(processes: number): Promise<number> {
  const runs = await Promise.all(Array.from({ length: processes }, () => promisify(execFile)(process.execPath, ['-e', BARE])));
  return runs.reduce((sum, r) => sum + Number(r.stdout.trim()), 0) / SECONDS;
}

async function main(): Promise<void> {
  @Module({ imports: [WwPluginModule.forRoot({ heartbeat: false })] })
  class BenchHostModule {}
  const app = await NestFactory.createApplicationContext(BenchHostModule, { logger: ['error'] });
  const host = app.get(PluginHostService);
  const rounds: Array<{ one: number; two: number; ratio: number; bareOne: number; bareTwo: number; bareRatio: number; loadavg: number }> = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const one = await measure(host, 1);
      const two = await measure(host, 2);
      const bareOne = await bare(1);
      const bareTwo = await bare(2);
      const round = { one, two, ratio: two / one, bareOne, bareTwo, bareRatio: bareTwo / bareOne, loadavg: loadavg()[0] };
      rounds.push(round);
      console.log(
        `round ${r + 1}: 1 instance ${one.toFixed(1)} calls/s, 2 instances ${two.toFixed(1)} calls/s, ratio ${round.ratio.toFixed(2)}x; ` +
          `bare processes ${bareOne.toFixed(1)} and ${bareTwo.toFixed(1)} loops/s, ratio ${round.bareRatio.toFixed(2)}x (load average ${round.loadavg.toFixed(2)})`,
      );
    }
  } finally {
    await app.close();
  }
  const ratios = rounds.map((r) => r.ratio);
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    secondsPerMeasurement: SECONDS,
    roundsPerCall: WORK,
    oneInstanceCallsPerSecond: median(rounds.map((r) => r.one)),
    twoInstancesCallsPerSecond: median(rounds.map((r) => r.two)),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    bareRatio: median(rounds.map((r) => r.bareRatio)),
    ratioOfBareRatio: median(rounds.map((r) => r.ratio / r.bareRatio)),
    goal: '≥ 1.7x on 2 cores',
    rounds,
  };
  console.log(
    `\nmedian: 1 instance ${result.oneInstanceCallsPerSecond.toFixed(1)} calls/s, 2 instances ${result.twoInstancesCallsPerSecond.toFixed(1)} calls/s: ` +
      `${result.ratio.toFixed(2)}x (rounds from ${result.ratioMin.toFixed(2)}x to ${result.ratioMax.toFixed(2)}x; goal ≥ 1.7x on ${result.cores} cores); ` +
      `bare processes ${result.bareRatio.toFixed(2)}x: the framework reaches ${(result.ratioOfBareRatio * 100).toFixed(0)}% of what the machine gave two processes`,
  );
  if (OUT) writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
