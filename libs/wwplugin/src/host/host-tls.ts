import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { tlsToEnv } from '../protocol/tls.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';

/**
 * Transport security of the listener. Without `tls` the host listens on a private unix socket or
 * loopback TCP; with it, mutual TLS: plugins must present a certificate signed by the host's CA.
 */
@Injectable()
export class HostTls {
  constructor(@Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions) {}

  serverCredentials(): grpc.ServerCredentials {
    const tls = this.options.tls;
    if (!tls) return grpc.ServerCredentials.createInsecure();
    if (!tls.ca || !tls.cert || !tls.key) throw new Error('tls requires ca, cert and key');
    return grpc.ServerCredentials.createSsl(Buffer.from(tls.ca), [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], true);
  }

  /** Environment entries that give a spawned plugin its client certificate. */
  pluginEnv(): Record<string, string> {
    const tls = this.options.tls;
    if (!tls?.ca || !tls.clientCert || !tls.clientKey) return {};
    return { WWPLUGIN_TLS: tlsToEnv({ ca: tls.ca, cert: tls.clientCert, key: tls.clientKey }) };
  }
}
