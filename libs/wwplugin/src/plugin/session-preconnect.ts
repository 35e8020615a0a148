import * as grpc from '@grpc/grpc-js';
import { pluginHostService } from '../protocol/proto-definition.js';
import { ENV_ADDRESS, ENV_TLS } from '../protocol/protocol.constants.js';

/**
 * Channel options of every session's client (a remote plugin's adds its own). The same options,
 * address and credentials make grpc-js share one connection between clients.
 */
export const SESSION_CHANNEL_OPTIONS = {
  // The host checks what it sends against its own limit (Welcome.maxMessageBytes), which may
  // be above our default: a fixed limit here would end the whole session on one large frame.
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
} as const;

let held: grpc.Client | undefined;

/**
 * A spare waiting for its plugin opens the connection to its host now (no stream, no secret:
 * nothing the host acts on), so that the session's own client, made once the spare is used, finds
 * it open. Only for a local plugin without TLS (a TLS session's credentials are its own).
 */
export function preconnect(): void {
  const address = process.env[ENV_ADDRESS];
  if (held || !address || process.env[ENV_TLS]) return;
  const Ctor = pluginHostService();
  held = new Ctor(address, grpc.credentials.createInsecure(), { ...SESSION_CHANNEL_OPTIONS });
  held.getChannel().getConnectivityState(true);
}

/** The session is up on its own client: the one that held the connection open goes. */
export function releasePreconnected(): void {
  held?.close();
  held = undefined;
}
