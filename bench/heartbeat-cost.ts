// `npm run bench:heartbeat-cost`: the host's CPU per heartbeat frame, measured without waiting for
// a real heartbeat: one plugin, heartbeats off, and the host sends frames on the plugin's session
// as fast as they are answered. Three loops: ping → pong (a heartbeat as the scheduler sends it),
// frames the plugin ignores (what sending costs the host), and the difference (what receiving
// costs). CPU time, not wall time: the figures hold on a loaded machine.
//
//   node dist/bench/heartbeat-cost.js [--n N] [--rounds R]
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { loadavg } from 'node:os';
import { DIST_BENCH, ROOT } from './support/paths.js';
import { median } from './support/stats.js';

/** The parts of the host's internals this bench drives (the package's own dist: the same module instances). */
interface Frame {
  kind?: string;
  ping?: { seq: number };
  pong?: { seq: number };
}
interface Plugin {
  heartbeat: { outstandingSeq: number; sentAt: number };
  channel?: { send(frame: Frame): boolean };
}
interface Internals {
  CallRouter: new (...a: never[]) => { onPluginFrame(p: Plugin, frame: Frame): void };
  PluginRegistry: new (...a: never[]) => { all(): Plugin[] };
}
const internal = async (): Promise<Internals> => ({
  ...((await import(`${ROOT}libs/wwplugin/dist/host/call-router.js`)) as Pick<Internals, 'CallRouter'>),
  ...((await import(`${ROOT}libs/wwplugin/dist/host/plugin.registry.js`)) as Pick<Internals, 'PluginRegistry'>),
});

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const N = arg('--n', 5_000);
const ROUNDS = arg('--rounds', 3);

@Module({ imports: [WwPluginModule.forRoot({ heartbeat: false })] })
class HostModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(HostModule, { logger: ['error', 'warn'] });
  const host = app.get(PluginHostService);
  await host.load({ path: `${DIST_BENCH}plugin/main.js`, name: 'hb', env: { BENCH_PLUGIN_NAME: 'hb' } });
  const { CallRouter, PluginRegistry } = await internal();
  const plugin = app.get(PluginRegistry).all()[0];
  const router = app.get(CallRouter);
  let onPong: (() => void) | undefined;
  const original = router.onPluginFrame.bind(router);
  router.onPluginFrame = (p: Plugin, frame: Frame) => {
    original(p, frame);
    if (frame.kind === 'pong') onPong?.();
  };
  const channel = plugin.channel!;
  // Sequential pings: one heartbeat's whole round trip at a time, as the scheduler does.
  const pingPong = async () => {
    for (let i = 1; i <= N; i++) {
      const answered = new Promise<void>((r) => (onPong = r));
      plugin.heartbeat.outstandingSeq = i;
      plugin.heartbeat.sentAt = Date.now();
      channel.send({ ping: { seq: i } });
      await answered;
    }
  };
  // Frames the plugin drops without answering (a pong it did not ask for): the sending side alone.
  const sendOnly = async () => {
    for (let i = 1; i <= N; i++) {
      channel.send({ pong: { seq: i } });
      // One frame per turn of the event loop, like the scheduler's (no batching into one write).
      await new Promise((r) => setImmediate(r));
    }
    // The last frames reach the plugin; a ping behind them says when.
    const answered = new Promise<void>((r) => (onPong = r));
    channel.send({ ping: { seq: 1 } });
    await answered;
  };
  const cpuPer = async (loop: () => Promise<void>) => {
    const c0 = process.cpuUsage();
    await loop();
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / N;
  };
  await pingPong();
  await sendOnly();
  const pp: number[] = [];
  const so: number[] = [];
  const idle: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    pp.push(await cpuPer(pingPong));
    so.push(await cpuPer(sendOnly));
    // The cost of the loop's own turn of the event loop, for reference.
    idle.push(
      await cpuPer(async () => {
        for (let i = 0; i < N; i++) await new Promise((res) => setImmediate(res));
      }),
    );
  }
  console.log(
    `load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}; ${N} frames × ${ROUNDS} rounds; host CPU per frame (µs), median [rounds]`,
  );
  console.log(`  heartbeat (ping sent, pong received): ${median(pp).toFixed(1)}  [${pp.map((x) => x.toFixed(1)).join(', ')}]`);
  console.log(`  send only (frame the plugin ignores):  ${median(so).toFixed(1)}  [${so.map((x) => x.toFixed(1)).join(', ')}]`);
  console.log(`  an empty turn of the event loop:       ${median(idle).toFixed(1)}`);
  await app.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
