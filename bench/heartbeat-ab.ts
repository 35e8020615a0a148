// `npm run bench:heartbeat-ab -- <other-scheduler.js>`: the host's idle CPU and wake-ups with this
// build's heartbeat scheduler against another build of it (e.g. main's, compiled), in the same
// process, on the same idle plugins, window by window in turn (A B A B...): on a shared machine
// the neighbours' load drifts, and only same-run ratios hold. The host itself runs with heartbeats
// off; each window starts one scheduler with the default settings and stops it at the end, and a
// third window in each turn runs none (what the idle host costs without heartbeats).
//
// The other scheduler is a compiled heartbeat.scheduler.js of another branch, copied next to this
// build's (libs/wwplugin/dist/host/supervision/, under another name): it imports its neighbours.
//
//   node --expose-gc dist/bench/heartbeat-ab.js <scheduler.js> [--plugins N] [--pairs N] [--seconds S]
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { DIST_BENCH, ROOT } from './support/paths.js';
import { median } from './support/stats.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const OTHER = process.argv[2];
const PLUGINS = arg('--plugins', 20);
const PAIRS = arg('--pairs', 6);
const SECONDS = arg('--seconds', 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wakeUps = () => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))?.[1] ?? NaN);

interface Scheduler {
  onApplicationBootstrap(): void;
  beforeApplicationShutdown(): void;
}
type SchedulerCtor = new (options: object, registry: unknown, launcher: unknown, events: unknown) => Scheduler;

@Module({ imports: [WwPluginModule.forRoot({ heartbeat: false })] })
class HostModule {}

async function main(): Promise<void> {
  if (!OTHER) throw new Error('usage: heartbeat-ab.js <other heartbeat.scheduler.js> [--plugins N] [--pairs N] [--seconds S]');
  const lib = `${ROOT}libs/wwplugin/dist/host/`;
  const ours = ((await import(`${lib}supervision/heartbeat.scheduler.js`)) as { HeartbeatScheduler: SchedulerCtor }).HeartbeatScheduler;
  const other = ((await import(resolve(OTHER))) as { HeartbeatScheduler: SchedulerCtor }).HeartbeatScheduler;
  const { PluginRegistry } = (await import(`${lib}plugin.registry.js`)) as { PluginRegistry: new () => unknown };
  const { PluginLauncher } = (await import(`${lib}plugin-launcher.js`)) as { PluginLauncher: new () => unknown };
  const { HostEvents } = (await import(`${lib}host-events.js`)) as { HostEvents: new () => unknown };

  const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error', 'warn'] });
  const host = app.get(PluginHostService);
  const names = Array.from({ length: PLUGINS }, (_, i) => `ab${i}`);
  await Promise.all(
    [0, 1].map(async (lane) => {
      for (let i = lane; i < names.length; i += 2)
        await host.load({ path: `${DIST_BENCH}plugin/main.js`, name: names[i], env: { BENCH_PLUGIN_NAME: names[i] } });
    }),
  );
  const deps = [app.get(PluginRegistry), app.get(PluginLauncher), app.get(HostEvents)] as const;
  const make = (Ctor: SchedulerCtor) => new Ctor({}, ...deps);
  // The one-off work after loading (V8's memory reducer) settles before anything is measured.
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(10_000);

  // No scheduler (Ctor undefined): what the idle host costs without heartbeats, for reference.
  const window = async (Ctor?: SchedulerCtor) => {
    const s = Ctor && make(Ctor);
    s?.onApplicationBootstrap();
    // The first round goes out one interval after the start: measure whole rounds only.
    await sleep(1_000);
    const w0 = wakeUps();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const c = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    const wakes = ((wakeUps() - w0) * 1000) / ms;
    s?.beforeApplicationShutdown();
    return { usPerS: ((c.user + c.system) * 1000) / ms, wakes };
  };
  const a: Array<{ usPerS: number; wakes: number }> = [];
  const b: typeof a = [];
  const none: typeof a = [];
  for (let i = 0; i < PAIRS; i++) {
    none.push(await window());
    // Alternate which goes first, so that neither always follows the other.
    if (i % 2) {
      b.push(await window(other));
      a.push(await window(ours));
    } else {
      a.push(await window(ours));
      b.push(await window(other));
    }
  }
  const ratios = a.map((x, i) => x.usPerS / b[i].usPerS);
  const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(
    `${PLUGINS} idle plugins, ${PAIRS} pairs of ${SECONDS}-s windows; load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `this build: host CPU ${median(a.map((x) => x.usPerS)).toFixed(0)} µs/s [${f(a.map((x) => x.usPerS))}], ${median(a.map((x) => x.wakes)).toFixed(1)} wake-ups/s`,
  );
  console.log(
    `other:      host CPU ${median(b.map((x) => x.usPerS)).toFixed(0)} µs/s [${f(b.map((x) => x.usPerS))}], ${median(b.map((x) => x.wakes)).toFixed(1)} wake-ups/s`,
  );
  console.log(
    `no heartbeats: host CPU ${median(none.map((x) => x.usPerS)).toFixed(0)} µs/s [${f(none.map((x) => x.usPerS))}], ${median(none.map((x) => x.wakes)).toFixed(1)} wake-ups/s`,
  );
  const beats = PLUGINS;
  console.log(
    `host CPU per heartbeat (median window − median no-heartbeat window, ${beats} heartbeats/s): this build ${((median(a.map((x) => x.usPerS)) - median(none.map((x) => x.usPerS))) / beats).toFixed(0)} µs, other ${((median(b.map((x) => x.usPerS)) - median(none.map((x) => x.usPerS))) / beats).toFixed(0)} µs`,
  );
  console.log(`ratio this/other per pair: median ${median(ratios).toFixed(2)} [${ratios.map((r) => r.toFixed(2)).join(' ')}]`);
  await app.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
