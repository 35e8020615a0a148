import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_PROTO } from '../support/paths.js';

/** A message of the raw reference: an id to match answers by, and the payload. */
export interface Msg {
  id: number;
  payload: string;
}

export type BenchClient = grpc.Client & {
  Unary(msg: Msg, cb: (err: grpc.ServiceError | null, res?: Msg) => void): grpc.ClientUnaryCall;
  ServerStream(req: { count: number; payload: string }): grpc.ClientReadableStream<Msg>;
  Bidi(): grpc.ClientDuplexStream<Msg, Msg>;
};
type BenchCtor = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition };

// Same decoding options as the framework's frames, so both pay the same proto-loader conversion.
const OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: Number, defaults: false, oneofs: true };

/** The generated client constructor of `wwbench.v1.Bench` (its `.service` is the server definition). */
export function benchService(): BenchCtor {
  const definition = protoLoader.loadSync(BENCH_PROTO, OPTIONS);
  return (grpc.loadPackageDefinition(definition) as unknown as { wwbench: { v1: { Bench: BenchCtor } } }).wwbench.v1.Bench;
}

/** Where the raw server listens: a unix socket in a private directory (as the host does), or loopback TCP. */
export function bindAddress(transport: 'unix' | 'tcp'): string {
  if (transport === 'tcp') return '127.0.0.1:0';
  return `unix:${join(mkdtempSync(join(tmpdir(), 'wwbench-')), 'raw.sock')}`;
}
