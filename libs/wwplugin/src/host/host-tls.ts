import * as grpc from '@grpc/grpc-js';
import { Inject, Injectable } from '@nestjs/common';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { isIP } from 'node:net';
import { HostConfigurationError } from '../errors/wwplugin.errors.js';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { ENV_TLS } from '../protocol/protocol.constants.js';
import { tlsToEnv } from '../protocol/tls.js';
import { TLS_BAD_MODE, TLS_MATERIAL_MISSING } from '../wwplugin.messages.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';

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
 * CA (go-plugin's AutoMTLS). Keys come from node:crypto (fast, native); node-forge only builds and
 * signs the X.509 structures, and is loaded on first use so plugins without TLS never pay for it.
 * @publicApi
 */
export async function createMtlsMaterial(hosts: string[] = ['localhost', '127.0.0.1', '::1']): Promise<MtlsMaterial> {
  // CommonJS package: its exports arrive as the default export.
  const { pki, md } = (await import('node-forge')).default;

  const keyPair = async () => {
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    return { publicPem: publicKey, privatePem: privateKey, privateKey: pki.privateKeyFromPem(privateKey) };
  };
  type KeyPair = Awaited<ReturnType<typeof keyPair>>;
  // Three keys at once, off the main thread: this is most of the time 'auto' adds to a start.
  const [caKey, serverKey, clientKey] = await Promise.all([keyPair(), keyPair(), keyPair()]);
  const build = (
    commonName: string,
    subjectKey: KeyPair,
    issuer: { subject: ReturnType<typeof pki.createCertificate>['subject']['attributes'] | null; key: KeyPair },
    extensions: object[],
  ) => {
    const cert = pki.createCertificate();
    cert.publicKey = pki.publicKeyFromPem(subjectKey.publicPem);
    // A positive serial: a leading 01 keeps the top bit clear.
    cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600_000);
    const subject = [{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'WWPlugin' }];
    cert.setSubject(subject);
    cert.setIssuer(issuer.subject ?? subject);
    cert.setExtensions([...extensions, { name: 'subjectKeyIdentifier' }]);
    cert.sign(issuer.key.privateKey, md.sha256.create());
    return cert;
  };

  const ca = build('WWPlugin one-off CA', caKey, { subject: null, key: caKey }, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  const issuer = { subject: ca.subject.attributes, key: caKey };
  const leafUsage = { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true };
  const altNames = [...new Set(hosts)].map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h }));

  const server = build('wwplugin-host', serverKey, issuer, [
    { name: 'basicConstraints', cA: false },
    leafUsage,
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  const client = build('wwplugin-plugin', clientKey, issuer, [
    { name: 'basicConstraints', cA: false },
    leafUsage,
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  return {
    ca: pki.certificateToPem(ca),
    cert: pki.certificateToPem(server),
    key: serverKey.privatePem,
    clientCert: pki.certificateToPem(client),
    clientKey: clientKey.privatePem,
  };
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
      return createMtlsMaterial(['localhost', '127.0.0.1', '::1', ...(host && host !== '0.0.0.0' && host !== '::' ? [host] : [])]);
    }
    if (tls.mode !== 'manual') throw new HostConfigurationError(TLS_BAD_MODE(tls.mode), { mode: tls.mode });
    const missing = (['ca', 'cert', 'key'] as const).filter((k) => !tls[k]);
    if (missing.length) throw new HostConfigurationError(TLS_MATERIAL_MISSING(missing), { missing });
    return { ca: tls.ca!, cert: tls.cert!, key: tls.key!, clientCert: tls.clientCert, clientKey: tls.clientKey };
  }
}
