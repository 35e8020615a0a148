// The cold-start reference: a process that boots a bare Nest 12 application context and makes one
// gRPC call, nothing else. The orchestrator spawns it the way the host spawns a plugin and times it
// from spawn to the line this process prints after its reply.
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { benchService, type BenchClient } from './raw/bench-service.js';

@Module({})
class BareModule {}

const app = await NestFactory.createApplicationContext(BareModule, { logger: false });
const Ctor = benchService();
const client = new Ctor(process.env.WWBENCH_ADDRESS!, grpc.credentials.createInsecure()) as unknown as BenchClient;
client.Unary({ id: 1, payload: process.env.WWBENCH_PAYLOAD ?? '' }, (err) => {
  if (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss, cpuUs: user + system })}\n`);
  client.close();
  void app.close().then(() => process.exit(0));
});
