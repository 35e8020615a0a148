// The processes of bench/remote.ts, each run inside a network namespace: the raw grpc-js reference
// (server in the plugin's namespace, client in the host's) and the WWPlugin host. argv[2] is the
// role, argv[3] the JSON config; results go to stdout as one JSON line.
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule } from '@wwplugin/nestjs';
import { readFileSync } from 'node:fs';
import { filter, firstValueFrom } from 'rxjs';
import { benchService, type BenchClient, type Msg } from './raw/bench-service.js';
import { inFlight, makePayload, sequential } from './support/stats.js';

interface Config {
  address: string;
  listen: string;
  ca: string;
  cert: string;
  key: string;
  payloadBytes: number;
  quick: boolean;
  plugin: string;
}

const role = process.argv[2];
const config = JSON.parse(process.argv[3] ?? '{}') as Config;
const out = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
const pem = (path: string) => readFileSync(path);
const seqN = config.quick ? 300 : 2000;
const warmMs = config.quick ? 200 : 1500;
const flightMs = config.quick ? 500 : 3000;

async function rawServer(): Promise<void> {
  const server = new grpc.Server();
  server.addService(benchService().service, { Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, call.request) });
  // The same mutual TLS as the remote listener: CA-signed certificates both ways.
  const credentials = grpc.ServerCredentials.createSsl(pem(config.ca), [{ cert_chain: pem(config.cert), private_key: pem(config.key) }], true);
  await new Promise<number>((resolve, reject) => server.bindAsync(config.listen, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  out({ listening: true });
}

async function rawClient(): Promise<void> {
  const Ctor = benchService();
  const client = new Ctor(config.address, grpc.credentials.createSsl(pem(config.ca), pem(config.key), pem(config.cert))) as unknown as BenchClient;
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
  const payload = makePayload(config.payloadBytes);
  let id = 1;
  const unary = () => new Promise<Msg>((resolve, reject) => client.Unary({ id: id++, payload }, (err, res) => (err ? reject(err) : resolve(res!))));
  const latency = await sequential(seqN, warmMs, unary);
  const rate = await inFlight(64, flightMs, unary);
  out({ p50: latency.p50, p99: latency.p99, rate });
  client.close();
}

async function host(): Promise<void> {
  @Module({
    imports: [
      WwPluginModule.forRoot({
        heartbeat: false,
        remote: { listen: config.listen, tls: { ca: pem(config.ca), cert: pem(config.cert), key: pem(config.key) }, plugins: [{ name: config.plugin }] },
      }),
    ],
  })
  class RemoteBenchHost {}
  const app = await NestFactory.createApplicationContext(RemoteBenchHost, { logger: ['error'] });
  const host = app.get(PluginHostService);
  out({ listening: true });
  await firstValueFrom(host.events().pipe(filter((e) => e.type === 'connected' && e.plugin === config.plugin)));
  const payload = makePayload(config.payloadBytes);
  const call = () => host.call(config.plugin, 'echo', { payload });
  const latency = await sequential(seqN, warmMs, call);
  const rate = await inFlight(64, flightMs, call);
  out({ p50: latency.p50, p99: latency.p99, rate });
  await app.close();
}

const roles: Record<string, () => Promise<void>> = { 'raw-server': rawServer, 'raw-client': rawClient, host };
roles[role!]!().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
