import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

/** A certificate and its private key, PEM text. @publicApi */
export interface PemPair {
  cert: string;
  key: string;
}

/** What a certificate is for: a host's listener (server), a plugin (client), or both. @publicApi */
export type CertificateUsage = 'server' | 'client';

/** A CA that can issue certificates: its own certificate and key (PEM), and `issue`. @publicApi */
export interface CertificateAuthority extends PemPair {
  /**
   * Issues a certificate whose common name is `name`. A client certificate also carries `name` as
   * a DNS name when it is one (the identity a remote plugin registers under); a server certificate
   * carries `hosts` (names and IP addresses the host is dialled by).
   */
  issue(options: { name: string; usage: CertificateUsage; hosts?: string[]; validDays?: number }): Promise<PemPair>;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600_000;
const DEFAULT_VALID_DAYS = 3650;
/** What a DNS subject alternative name may hold (RFC 1123 labels). */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

type X509 = typeof import('@peculiar/x509');

/** @peculiar/x509 on first use: its load is most of the cost, and hosts without TLS never pay it. */
async function x509(): Promise<X509> {
  // It resolves its parts through tsyringe, which needs the Reflect polyfill Nest uses.
  await import('reflect-metadata');
  return import('@peculiar/x509');
}

const newKeys = () => webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
// A positive serial: a leading 01 keeps the top bit clear.
const serialNumber = () => `01${randomBytes(15).toString('hex')}`;
const keyPem = (key: webcrypto.CryptoKey) => KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string;
const validity = (days: number) => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + days * DAY_MS) });
/** Commas and the like would change a distinguished name's meaning: they are escaped. */
const rdn = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');

/**
 * Makes a new CA: an EC P-256 key (WebCrypto) and a self-signed certificate (@peculiar/x509).
 * A few milliseconds after the library's first load.
 * @publicApi
 */
export async function createCertificateAuthority(options: { name?: string; validDays?: number } = {}): Promise<CertificateAuthority> {
  const lib = await x509();
  const keys = await newKeys();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    ...validity(options.validDays ?? DEFAULT_VALID_DAYS),
    serialNumber: serialNumber(),
    name: `CN=${rdn(options.name ?? 'WWPlugin CA')}, O=WWPlugin`,
    keys,
    signingAlgorithm: EC_P256,
    extensions: [
      new lib.BasicConstraintsExtension(true, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return authority(lib, cert, keys.privateKey, keyPem(keys.privateKey));
}

/** A CA made earlier (by createCertificateAuthority or scripts/make-certs.mjs), from its PEM files. @publicApi */
export async function loadCertificateAuthority(pem: PemPair): Promise<CertificateAuthority> {
  const lib = await x509();
  const cert = new lib.X509Certificate(pem.cert);
  const der = createPrivateKey(pem.key).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, EC_P256, true, ['sign']);
  return authority(lib, cert, privateKey, pem.key);
}

function authority(lib: X509, ca: InstanceType<X509['X509Certificate']>, caKey: webcrypto.CryptoKey, caKeyPem: string): CertificateAuthority {
  return {
    cert: ca.toString('pem'),
    key: caKeyPem,
    async issue({ name, usage, hosts = [], validDays = DEFAULT_VALID_DAYS }) {
      const keys = await newKeys();
      const names = usage === 'server' ? hosts : DNS_NAME.test(name) ? [name] : [];
      const altNames = [...new Set(names)].map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h }));
      const cert = await lib.X509CertificateGenerator.create({
        ...validity(validDays),
        serialNumber: serialNumber(),
        subject: `CN=${rdn(name)}, O=WWPlugin`,
        issuer: ca.subject,
        publicKey: keys.publicKey,
        signingKey: caKey,
        signingAlgorithm: EC_P256,
        extensions: [
          new lib.BasicConstraintsExtension(false),
          new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
          new lib.ExtendedKeyUsageExtension([usage === 'server' ? lib.ExtendedKeyUsage.serverAuth : lib.ExtendedKeyUsage.clientAuth]),
          await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await lib.AuthorityKeyIdentifierExtension.create(ca),
          ...(altNames.length ? [new lib.SubjectAlternativeNameExtension(altNames)] : []),
        ],
      });
      return { cert: cert.toString('pem'), key: keyPem(keys.privateKey) };
    },
  };
}
