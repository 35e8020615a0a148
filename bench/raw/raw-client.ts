// Raw grpc-js client of the reference, in its own process: unary calls, a server stream, and calls
// as messages over one bidi stream matched by id. Reports its figures to the orchestrator.
import * as grpc from '@grpc/grpc-js';
import { fatal, readConfig, report } from '../support/child-io.js';
import { inFlight, makePayload, sequential, sequentialCpu, sequentialWarmupCalls, sequentialWarmupMs } from '../support/stats.js';
import { benchService, type BenchClient, type Msg } from './bench-service.js';

async function main(): Promise<void> {
  const config = readConfig();
  const quick = config.quick;
  const payload = makePayload(config.payloadBytes);
  const Ctor = benchService();
  const client = new Ctor(String(config.address), grpc.credentials.createInsecure()) as unknown as BenchClient;
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));

  const seqN = quick ? 300 : 3000;
  const warmMs = sequentialWarmupMs(quick);
  const flightMs = quick ? 500 : 3000;

  let nextId = 1;
  const unary = () => new Promise<Msg>((resolve, reject) => client.Unary({ id: nextId++, payload }, (err, res) => (err ? reject(err) : resolve(res!))));
  const unarySeq = await sequential(seqN, warmMs, unary);
  const unaryRate = await inFlight(64, flightMs, unary);

  // Server stream: messages/s as the receiver sees them, first message to last.
  const streamCount = quick ? 20_000 : 300_000;
  const streamRate = await new Promise<number>((resolve, reject) => {
    const call = client.ServerStream({ count: streamCount, payload });
    let received = 0;
    let first = 0;
    call.on('data', () => {
      if (received++ === 0) first = performance.now();
    });
    call.on('end', () => resolve(((received - 1) * 1000) / (performance.now() - first)));
    call.on('error', reject);
  });

  // Calls as messages on one bidi stream, matched by id: the session design with nothing else.
  const bidi = client.Bidi();
  const waiting = new Map<number, (m: Msg) => void>();
  bidi.on('data', (m: Msg) => {
    const done = waiting.get(m.id);
    waiting.delete(m.id);
    done?.(m);
  });
  bidi.on('error', () => undefined);
  const bidiCall = () =>
    new Promise<Msg>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      bidi.write({ id, payload });
    });
  // CPU per sequential call, both processes together: what a call costs, whatever the machine's load.
  const serverCpu = async () =>
    Number((await new Promise<Msg>((resolve, reject) => client.Unary({ id: 0, payload: '' }, (err, res) => (err ? reject(err) : resolve(res!))))).payload);
  // Measured as the framework measures its calls (support/stats.ts: sequentialCpu).
  const bidiSeq = await sequentialCpu(seqN, warmMs, sequentialWarmupCalls(quick), bidiCall, serverCpu);
  const bidiCpu = bidiSeq.cpuPerCall;
  const bidiRate = await inFlight(64, flightMs, bidiCall);
  bidi.end();

  await report({
    type: 'result',
    unary: { p50: unarySeq.p50, p99: unarySeq.p99, rate64: unaryRate },
    stream: { rate: streamRate, count: streamCount },
    bidi: { p50: bidiSeq.p50, p99: bidiSeq.p99, rate64: bidiRate, cpuPerCall: bidiCpu, cpuBatches: bidiSeq.cpuBatches },
    cpuUs: process.cpuUsage(),
  });
  client.close();
  process.exit(0);
}

main().catch(fatal);
