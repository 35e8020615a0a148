import * as grpc from '@grpc/grpc-js';
import { decodeFrame, encodeFrame } from './frame-codec.js';
import type { Frame } from './frames.js';

// The Session service of proto/wwplugin/v1/wwplugin.proto, defined by hand: its Frame messages are
// encoded by frame-codec.ts, so neither side loads the .proto (nor protobufjs) at run time. The
// package still ships the .proto: it is the contract for plugins in other languages.

/** The gRPC path of `wwplugin.v1.PluginHost/Session`. */
export const SESSION_PATH = '/wwplugin.v1.PluginHost/Session';

const serialize = (frame: Frame): Buffer => encodeFrame(frame);
const deserialize = (bytes: Buffer): Frame => decodeFrame(bytes);

const SERVICE: grpc.ServiceDefinition = {
  Session: {
    path: SESSION_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
    // As proto-loader names it: grpc-js adds the lower-case alias `session` to the client.
    originalName: 'session',
  },
};

type ServiceCtor = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition };
let cached: ServiceCtor | undefined;

/** The `wwplugin.v1.PluginHost` client constructor (its `.service` is the server definition). */
export function pluginHostService(): ServiceCtor {
  cached ??= grpc.makeGenericClientConstructor(SERVICE, 'wwplugin.v1.PluginHost') as ServiceCtor;
  return cached;
}

/** Encodes and decodes whole frames, for frames sent in chunks (the gRPC layer does it otherwise). */
export interface FrameCodec {
  encode(frame: object): Buffer;
  decode(bytes: Buffer): object;
}

const CODEC: FrameCodec = { encode: (frame) => encodeFrame(frame as Frame), decode: (bytes) => decodeFrame(bytes) };

/** The Session method's own serializer and deserializer: a chunked frame is a Frame message. */
export function frameCodec(): FrameCodec {
  return CODEC;
}
