// `npm run bench:observability`: what metrics and tracing cost a call. One run starts host
// processes in turn, without and with observability (forRoot({ metrics: true }) and an
// OpenTelemetry SDK registered, without exporter, in the host and in its plugins), and compares
// the median of their sequential host→plugin call p50 (also plugin→plugin through the host).
//
//   node dist/bench/observability.js [--rounds N] [--quick] [--breakdown] [--profile DIR] [--pin apart|together] [--sample R]
//
// --sample R: the host's SDK samples a ratio R of the traces it starts (ParentBased of
// TraceIdRatioBased, as a production setup would), and the plugins follow its decision (their
// default, ParentBased): what tracing costs when most calls are not recorded. The goal is for
// every trace recorded, so a sampled run gives no verdict.
//
// --pin apart: each host on CPU 0 and its plugins on CPU 1; --pin together: all on CPU 0 (Linux,
// taskset). Unpinned, the scheduler sometimes puts a plugin on its host's CPU, where the span work a
// process leaves for after its reply waits between that reply and the next call.
// --profile DIR: one process per mode, whose host and plugins write CPU profiles of the sequential
// calls only (no start-up) to DIR/<mode>/; sum their self time per function to see what costs.
// (SIGWINCH switches the profiles on and off: plugins, as Nest apps, end on SIGUSR2.)
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { PluginHostService, PluginMetrics, WwPluginModule } from '@wwplugin/nestjs';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePinning, pinProcesses } from './support/cpu-pin.js';
import { DIST_BENCH } from './support/paths.js';
import { makePayload, median, sequential, sequentialWarmupMs } from './support/stats.js';

const SELF = fileURLToPath(import.meta.url);
const GOAL = 1.1;

interface Figures {
  callP50: number;
  callP99: number;
  /** CPU (µs) of host and plugin per sequential call: what a call costs, however loaded the machine. */
  callCpu: number;
  relayP50: number;
}

/** What a host process turns on: nothing, metrics, tracing (an SDK in host and plugins), or both. */
type Mode = 'off' | 'metrics' | 'tracing' | 'both';

/** One host process in `mode`. */
async function child(mode: Mode, quick: boolean): Promise<void> {
  const metrics = mode === 'metrics' || mode === 'both';
  const tracing = mode === 'tracing' || mode === 'both';
  if (tracing) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const ratio = process.env.BENCH_SAMPLE;
    const sampler = ratio ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Number(ratio)) }) : undefined;
    trace.setGlobalTracerProvider(new TracerProvider({ sampler }));
  }
  const entry = tracing ? `${DIST_BENCH}observability/traced-plugin.js` : `${DIST_BENCH}plugin/main.js`;
  @Module({ imports: [WwPluginModule.forRoot({ metrics })] })
  class HostModule {}
  const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error'] });
  const host = app.get(PluginHostService);
  await Promise.all(['bench-a', 'bench-b'].map((name) => host.load({ path: entry, name, env: { BENCH_PLUGIN_NAME: name } })));
  const pinning = parsePinning(process.env.BENCH_PIN);
  const pluginPids = host.list().map((p) => p.pid!);
  if (pinning) pinProcesses(pinning, process.pid, pluginPids);
  const payload = makePayload(64);
  const n = quick ? 500 : 5000;
  const warmupMs = sequentialWarmupMs(quick);
  const call = () => host.call('bench-a', 'echo', { payload });
  await sequential(1, warmupMs, call);
  const pluginCpu0 = (await host.call('bench-a', 'cpu')) as number;
  // --profile: the host and its plugins profile just the sequential calls.
  const profiled = process.env.BENCH_PROFILE_DIR ? [process.pid, ...pluginPids] : [];
  const toggleProfiles = () => profiled.forEach((pid) => process.kill(pid, 'SIGWINCH'));
  toggleProfiles();
  const hostCpu0 = process.cpuUsage();
  const seq = await sequential(n, 0, call);
  const hostCpu = process.cpuUsage(hostCpu0);
  toggleProfiles();
  const callCpu = (hostCpu.user + hostCpu.system + ((await host.call('bench-a', 'cpu')) as number) - pluginCpu0) / n;
  // Fewer relays: each is two calls, and a loaded machine makes them slow.
  const relayArgs = { target: 'bench-b', n: Math.ceil(n / 5), warmupMs, payload };
  const relay = (await host.call('bench-a', 'measureCallPlugin', relayArgs, { timeoutMs: 600_000 })) as { p50: number };
  // The figures really were taken: every call of the run is counted.
  if (metrics && !(await app.get(PluginMetrics).metrics()).includes('wwplugin_calls_total{plugin="bench-a",function="echo",kind="call"}')) {
    throw new Error('metrics did not count the calls');
  }
  await app.close();
  console.log(JSON.stringify({ callP50: seq.p50, callP99: seq.p99, callCpu, relayP50: relay.p50 } satisfies Figures));
}

function runChild(mode: Mode, quick: boolean, retries = 1): Figures {
  try {
    return runChildOnce(mode, quick);
  } catch (err) {
    // A loaded machine may kill or stall one process: one more try before giving up.
    if (!retries) throw err;
    console.error(`the ${mode} run failed (${(err as Error).message.split('\n')[0]}); once more`);
    return runChild(mode, quick, retries - 1);
  }
}

function runChildOnce(mode: Mode, quick: boolean, profileDir?: string): Figures {
  const out = execFileSync(process.execPath, [SELF, '--child', mode, ...(quick ? ['--quick'] : [])], {
    encoding: 'utf8',
    env: profileDir ? { ...process.env, BENCH_PROFILE_DIR: profileDir, NODE_OPTIONS: `--import ${DIST_BENCH}observability/window-profiler.js` } : process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Figures;
}

/** One process per mode whose host and plugins write CPU profiles of the sequential calls to `dir`/<mode>/. */
function profile(dir: string, quick: boolean): void {
  for (const mode of ['off', 'metrics', 'tracing', 'both'] as const) {
    const at = resolvePath(dir, mode);
    mkdirSync(at, { recursive: true });
    const f = runChildOnce(mode, quick, at);
    console.log(`${mode}: call p50 ${f.callP50.toFixed(1)} µs, CPU ${f.callCpu.toFixed(1)} µs per call; profiles in ${at}`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  if (args[0] === '--child') return child(args[1] as Mode, quick);
  const profileAt = args.indexOf('--profile');
  if (profileAt >= 0) return profile(args[profileAt + 1], quick);
  const pinAt = args.indexOf('--pin');
  // The children read it from their environment, which they inherit.
  if (pinAt >= 0) process.env.BENCH_PIN = parsePinning(args[pinAt + 1]);
  const sampleAt = args.indexOf('--sample');
  if (sampleAt >= 0) {
    const ratio = Number(args[sampleAt + 1]);
    if (!(ratio >= 0 && ratio <= 1)) throw new Error(`--sample takes a ratio from 0 to 1, not ${args[sampleAt + 1]}`);
    process.env.BENCH_SAMPLE = String(ratio);
  }
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : quick ? 1 : 5;
  // --breakdown adds a host with metrics only and one with tracing only.
  const modes: Mode[] = args.includes('--breakdown') ? ['off', 'metrics', 'tracing', 'both'] : ['off', 'both'];
  const runs = new Map<Mode, Figures[]>(modes.map((m) => [m, []]));
  // Alternated, so that a neighbour's load falls on every mode alike.
  for (let r = 0; r < rounds; r++) for (const m of modes) runs.get(m)!.push(runChild(m, quick));
  const pick = (m: Mode, k: keyof Figures) => median(runs.get(m)!.map((f) => f[k]));
  // Each round's mode over that round's 'off', run just before it: the machine's speed jumps from
  // round to round, and medians taken apart can set one mode's fast rounds against another's slow ones.
  const paired = (m: Mode, k: keyof Figures) => median(runs.get(m)!.map((f, r) => f[k] / runs.get('off')![r][k]));
  const pinned = process.env.BENCH_PIN ? `, pinned ${process.env.BENCH_PIN}` : '';
  const sampled = process.env.BENCH_SAMPLE ? `, sampling a ratio ${process.env.BENCH_SAMPLE} of the host's traces` : '';
  console.log(`Observability cost, ${rounds} round(s)${pinned}, µs (tracing = an OpenTelemetry SDK without exporter in host and plugins${sampled}):`);
  console.log("  each mode: the median of its rounds; the ratio: the median of the rounds' ratios to that round's off");
  for (const k of ['callP50', 'callCpu', 'relayP50', 'callP99'] as const) {
    const cells = modes.map((m) => `${m} ${pick(m, k).toFixed(1).padStart(8)}${m === 'off' ? '' : ` (${paired(m, k).toFixed(3)}x)`}`);
    console.log(`  ${k.padEnd(9)} ${cells.join('  ')}`);
  }
  const ratio = paired('both', 'callP50');
  const cpuRatio = paired('both', 'callCpu');
  const verdict = sampled ? `(the goal, ≤ ${GOAL}, is for every trace recorded)` : `(goal ≤ ${GOAL}): ${ratio <= GOAL ? 'met' : 'NOT met'}`;
  console.log(`call p50 with metrics and tracing / without: ${ratio.toFixed(3)} ${verdict}`);
  console.log(`CPU per call with metrics and tracing / without: ${cpuRatio.toFixed(3)}`);
  console.log(JSON.stringify({ rounds, ratio, cpuRatio, runs: Object.fromEntries(runs) }));
}

await main();
