// Raw grpc-js server of the reference: unary echo, a server stream, and a bidi stream echoing calls
// as messages. Runs in its own process; tells the orchestrator its address over IPC.
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fatal, readConfig, report } from '../support/child-io.js';
import { benchService, bindAddress, type Msg } from './bench-service.js';

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function main(): Promise<void> {
  const config = readConfig();
  const server = new grpc.Server();
  server.addService(benchService().service, {
    // Id 0 asks for the CPU this process has used (µs), to work out the cost per call of serving.
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) =>
      cb(null, call.request.id === 0 ? { id: 0, payload: String(cpuMicros()) } : call.request),
    ServerStream: (call: grpc.ServerWritableStream<{ count: number; payload: string }, Msg>) => {
      const { count, payload } = call.request;
      let id = 0;
      // Write while the stream takes it, resume on drain: the sender never buffers without bound.
      const pump = () => {
        while (id < count) {
          id++;
          if (!call.write({ id, payload })) return void call.once('drain', pump);
        }
        call.end();
      };
      pump();
    },
    Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (msg: Msg) => call.write(msg));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  const bind = bindAddress(config.transport);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(bind, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const address = config.transport === 'tcp' ? `127.0.0.1:${port}` : bind;
  await report({ type: 'listening', address });
  // The orchestrator may ask how much CPU serving took (cost per call on the serving side).
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'cpu') void report({ type: 'cpu', cpu: process.cpuUsage() });
  });
  process.on('SIGTERM', () => {
    server.forceShutdown();
    if (config.transport === 'unix') rmSync(dirname(bind.slice('unix:'.length)), { recursive: true, force: true });
    process.exit(0);
  });
}

main().catch(fatal);
