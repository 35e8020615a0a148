// `npm run bench:idle`: what a host does with N idle plugins loaded. The host runs in this process,
// loads N bench plugins, lets the one-off work of loading settle (V8's memory reducer: a forced
// full collection, then a settle window), and measures its own CPU time and its main thread's
// wake-ups over consecutive idle windows (the median one is reported), with heartbeats on and then,
// in a second host, off: the difference divided by the heartbeats sent is the host's CPU per
// heartbeat. With --profile, a CPU profile of the idle window (heartbeats on)
// is taken in process (node:inspector) and its self time summed per function and per file.
//
//   node --expose-gc dist/bench/idle.js [--plugins N] [--windows N] [--seconds S] [--settle S] [--profile] [--only on|off]
import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule, type WwPluginHostOptions } from '@wwplugin/nestjs';
import { Session } from 'node:inspector/promises';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { DIST_BENCH, ROOT } from './support/paths.js';

/** The host's default heartbeat interval (docs/user-guide.md). */
const DEFAULT_INTERVAL_MS = 2_000;

// Bytes of every session's frames, counted by the host (an internal of the package's dist).
const { sessionBytes } = (await import(`${ROOT}libs/wwplugin/dist/host/metrics/session-bytes.js`)) as { sessionBytes: { in: number; out: number } };

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const PLUGINS = arg('--plugins', 50);
const SECONDS = arg('--seconds', 5);
const WINDOWS = arg('--windows', 6);
const SETTLE = arg('--settle', 15);
const PROFILE = process.argv.includes('--profile');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Times the host's main thread went to sleep and was woken (Linux): its wake-ups. */
const wakeUps = () => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1] ?? NaN);

@Module({})
class IdleHostModule {
  static forRoot(options: WwPluginHostOptions): DynamicModule {
    return { module: IdleHostModule, imports: [WwPluginModule.forRoot(options)] };
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (µs) per function and per file of a .cpuprofile. */
function selfTimes(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perFn = new Map<string, number>();
  const perFile = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const dt = profile.timeDeltas[i] ?? 0;
    const file = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|libs)\//, '') || '(native)';
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
    perFn.set(fn, (perFn.get(fn) ?? 0) + dt);
    perFile.set(file, (perFile.get(file) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  return { perFn: top(perFn, 30), perFile: top(perFile, 20) };
}

/** One host: loads the plugins, settles, measures the idle window. */
async function idleRun(heartbeat: boolean, profile: boolean) {
  const options: WwPluginHostOptions = heartbeat ? {} : { heartbeat: false };
  const app = await NestFactory.createApplicationContext(IdleHostModule.forRoot(options), { logger: ['error', 'warn'] });
  const host = app.get(PluginHostService);
  try {
    const names = Array.from({ length: PLUGINS }, (_, i) => `i${i}`);
    await Promise.all(
      [0, 1].map(async (lane) => {
        for (let i = lane; i < names.length; i += 2)
          await host.load({ path: `${DIST_BENCH}plugin/main.js`, name: names[i], env: { BENCH_PLUGIN_NAME: names[i] } });
      }),
    );
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(SETTLE * 1000);
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(1000);
    let session: Session | undefined;
    if (profile) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
    }
    // Consecutive windows; the median says what idle costs, whatever one-off work (a collection,
    // a neighbour on the machine) fell into one of them.
    const windows: Array<{ cpuMs: number; userMs: number; systemMs: number; ms: number; wakes: number; bytesIn: number; bytesOut: number }> = [];
    for (let i = 0; i < WINDOWS; i++) {
      const bytes0 = { ...sessionBytes };
      const wake0 = wakeUps();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const cpu = process.cpuUsage(cpu0);
      windows.push({
        cpuMs: (cpu.user + cpu.system) / 1000,
        userMs: cpu.user / 1000,
        systemMs: cpu.system / 1000,
        ms: performance.now() - t0,
        wakes: wakeUps() - wake0,
        bytesIn: sessionBytes.in - bytes0.in,
        bytesOut: sessionBytes.out - bytes0.out,
      });
    }
    const byCpu = [...windows].sort((a, b) => a.cpuMs / a.ms - b.cpuMs / b.ms);
    const mid = byCpu[Math.floor(byCpu.length / 2)];
    let prof: ReturnType<typeof selfTimes> | undefined;
    let profiledUs = 0;
    if (session) {
      const { profile: p } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      session.disconnect();
      prof = selfTimes(p);
      profiledUs = p.timeDeltas.reduce((a, b) => a + b, 0);
    }
    const { cpuMs, userMs, systemMs, ms: windowMs, wakes } = mid;
    const bytes = { in: mid.bytesIn, out: mid.bytesOut };
    const all = windows.map((w) => ((w.cpuMs / w.ms) * 100).toFixed(3)).join(' ');
    return { heartbeat, bytes, wakes, cpuMs, userMs, systemMs, windowMs, pct: (cpuMs / windowMs) * 100, all, prof, profiledUs };
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const runs = [];
  if (ONLY !== 'off') runs.push(await idleRun(true, PROFILE));
  if (ONLY !== 'on') runs.push(await idleRun(false, false));
  console.log(
    `${PLUGINS} plugins, ${WINDOWS} idle windows of ${SECONDS} s after ${SETTLE} s settling; load average ${load0} → ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const r of runs) {
    console.log(
      `heartbeat ${r.heartbeat ? 'on ' : 'off'}: host CPU ${r.cpuMs.toFixed(1)} ms (user ${r.userMs.toFixed(1)}, system ${r.systemMs.toFixed(1)}) over ${(r.windowMs / 1000).toFixed(1)} s = ${r.pct.toFixed(3)} %; ${((r.cpuMs * 1000) / (r.windowMs / 1000)).toFixed(0)} µs per idle second (median of ${WINDOWS} windows of ${SECONDS} s: ${r.all} %); ${((r.wakes * 1000) / r.windowMs).toFixed(1)} wake-ups/s of the main thread; session bytes in ${r.bytes.in}, out ${r.bytes.out}`,
    );
  }
  const [on, off] = runs;
  if (on && off) {
    // The default: every running plugin pinged once per interval.
    const beats = PLUGINS * (on.windowMs / DEFAULT_INTERVAL_MS);
    const perBeat = ((on.cpuMs / on.windowMs - off.cpuMs / off.windowMs) * on.windowMs * 1000) / beats;
    console.log(`host CPU per heartbeat (on − off, ${beats.toFixed(0)} heartbeat periods of ${DEFAULT_INTERVAL_MS} ms): ${perBeat.toFixed(1)} µs`);
  }
  if (on?.prof) {
    console.log(`\nprofile of the idle window: ${(on.profiledUs / 1000).toFixed(0)} ms sampled (incl. idle)`);
    console.log('self time per file (ms):');
    for (const [k, v] of on.prof.perFile) console.log(`  ${(v / 1000).toFixed(1).padStart(9)}  ${k}`);
    console.log('self time per function (ms):');
    for (const [k, v] of on.prof.perFn) console.log(`  ${(v / 1000).toFixed(1).padStart(9)}  ${k}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
