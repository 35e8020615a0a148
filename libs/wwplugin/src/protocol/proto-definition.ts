import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The package ships proto/ inside dist (scripts/copy-proto.mjs). Only in this repository's library
// folder (it has tsconfig.lib.json, which the package never ships) may it fall back to the repo's
// proto/: in an installed package that path would lead into the consumer's own project.
function protoPath(): string {
  const candidates = ['../proto/wwplugin/v1/wwplugin.proto'];
  if (existsSync(fileURLToPath(new URL('../../tsconfig.lib.json', import.meta.url)))) candidates.push('../../../../proto/wwplugin/v1/wwplugin.proto');
  for (const rel of candidates) {
    const candidate = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('wwplugin.proto not found next to the library; was the package built?');
}

/** The options both sides decode frames with: docs/protocol.md relies on these shapes. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  defaults: false,
  oneofs: true,
};

type ServiceCtor = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition };
let cached: ServiceCtor | undefined;

/** The generated `wwplugin.v1.PluginHost` client constructor (its `.service` is the server definition). */
export function pluginHostService(): ServiceCtor {
  if (!cached) {
    const definition = protoLoader.loadSync(protoPath(), PROTO_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { wwplugin: { v1: { PluginHost: ServiceCtor } } };
    cached = pkg.wwplugin.v1.PluginHost;
  }
  return cached;
}

/** Encodes and decodes whole frames, for frames sent in chunks (the gRPC layer does it otherwise). */
export interface FrameCodec {
  encode(frame: object): Buffer;
  decode(bytes: Buffer): object;
}

/** The Session method's own serializer and deserializer: a chunked frame is a Frame message. */
export function frameCodec(): FrameCodec {
  const session = pluginHostService().service.Session;
  return {
    encode: (frame) => session.requestSerialize(frame) as Buffer,
    decode: (bytes) => session.requestDeserialize(bytes) as object,
  };
}
