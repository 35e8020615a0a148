import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { HostConfigurationError } from '../errors/wwplugin.errors.js';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { ENV_TLS } from '../protocol/protocol.constants.js';
import { TLS_SERVER_NAME, tlsToEnv } from '../protocol/tls.js';
import { TLS_BAD_MODE, TLS_MATERIAL_MISSING } from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { createCertificateAuthority } from './certificate-authority.js';

/** PEM text of a mutual-TLS setup: the CA, the host's certificate and one client certificate. @publicApi */
export interface MtlsMaterial {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

/**
 * Makes a one-off CA, a server certificate for `hosts` and a client certificate, all signed by that
 * CA (go-plugin's AutoMTLS). EC P-256 keys from WebCrypto and X.509 from @peculiar/x509: tens of
 * milliseconds where RSA-2048 took most of a second. The library is loaded on first use (its load
 * is most of the cost), so plugins and hosts without TLS never pay for it.
 * @publicApi
 */
export async function createMtlsMaterial(hosts: string[] = [TLS_SERVER_NAME, '127.0.0.1', '::1']): Promise<MtlsMaterial> {
  const ca = await createCertificateAuthority({ name: 'WWPlugin one-off CA' });
  const [server, client] = await Promise.all([
    ca.issue({ name: 'wwplugin-host', usage: 'server', hosts }),
    ca.issue({ name: 'wwplugin-plugin', usage: 'client' }),
  ]);
  return { ca: ca.cert, cert: server.cert, key: server.key, clientCert: client.cert, clientKey: client.key };
}

/**
 * Transport security of the listener. Without `tls` the host listens on a private unix socket or
 * loopback TCP; with it, mutual TLS: a client must present a certificate signed by the host's CA,
 * then still authenticate with its per-process secret.
 */
@Injectable()
export class HostTls {
  private material?: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer; clientCert?: string | Buffer; clientKey?: string | Buffer };

  constructor(@Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions) {}

  /** True when the listener speaks TLS. */
  get enabled(): boolean {
    return !!this.options.tls;
  }

  /** The listener's credentials; for mode 'auto' this makes the one-off CA and certificates (once). */
  async serverCredentials(): Promise<grpc.ServerCredentials> {
    const tls = this.options.tls;
    if (!tls) return grpc.ServerCredentials.createInsecure();
    this.material ??= await this.loadMaterial();
    const { ca, cert, key } = this.material;
    // true: a client without a certificate signed by `ca` is refused during the TLS handshake.
    return grpc.ServerCredentials.createSsl(Buffer.from(ca), [{ cert_chain: Buffer.from(cert), private_key: Buffer.from(key) }], true);
  }

  /** Environment entries that give a spawned plugin the CA and its client certificate. */
  pluginEnv(): Record<string, string> {
    const m = this.material;
    if (!m?.clientCert || !m.clientKey) return {};
    return { [ENV_TLS]: tlsToEnv({ ca: m.ca, cert: m.clientCert, key: m.clientKey }) };
  }

  private async loadMaterial(): Promise<NonNullable<HostTls['material']>> {
    const tls = this.options.tls!;
    if (tls.mode === 'auto') {
      const host = this.options.host;
      return createMtlsMaterial([TLS_SERVER_NAME, '127.0.0.1', '::1', ...(host && host !== '0.0.0.0' && host !== '::' ? [host] : [])]);
    }
    if (tls.mode !== 'manual') throw new HostConfigurationError(TLS_BAD_MODE(tls.mode), { mode: tls.mode });
    const missing = (['ca', 'cert', 'key'] as const).filter((k) => !tls[k]);
    if (missing.length) throw new HostConfigurationError(TLS_MATERIAL_MISSING(missing), { missing });
    return { ca: tls.ca!, cert: tls.cert!, key: tls.key!, clientCert: tls.clientCert, clientKey: tls.clientKey };
  }
}
