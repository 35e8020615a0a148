// A second, informational cold-start reference: the same one gRPC call as bare-nest-child.ts, made
// the way Nest's documentation makes gRPC calls (ClientsModule with Transport.GRPC, from
// @nestjs/microservices) instead of with grpc-js directly. The orchestrator spawns and times it as
// it does the bare reference.
import 'reflect-metadata';
import { Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Transport, type ClientGrpc } from '@nestjs/microservices';
import { firstValueFrom, type Observable } from 'rxjs';
import { BENCH_PROTO } from './support/paths.js';

interface Bench {
  Unary(msg: { id: number; payload: string }): Observable<{ id: number; payload: string }>;
}

@Injectable()
class OneCall implements OnApplicationBootstrap {
  constructor(@Inject('BENCH') private readonly client: ClientGrpc) {}

  async onApplicationBootstrap(): Promise<void> {
    await firstValueFrom(this.client.getService<Bench>('Bench').Unary({ id: 1, payload: process.env.WWBENCH_PAYLOAD ?? '' }));
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss, cpuUs: user + system })}\n`);
  }
}

@Module({
  imports: [
    ClientsModule.register([
      { name: 'BENCH', transport: Transport.GRPC, options: { package: 'wwbench.v1', protoPath: BENCH_PROTO, url: process.env.WWBENCH_ADDRESS! } },
    ]),
  ],
  providers: [OneCall],
})
class NestGrpcModule {}

const app = await NestFactory.createApplicationContext(NestGrpcModule, { logger: false });
await app.close();
process.exit(0);
