/** PEM material for mutual TLS; the host hands a plugin its own in WWPLUGIN_TLS. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** The name a plugin sends in the TLS handshake (SNI): TLS forbids an IP there (Node's DEP0123). */
  servername: string;
}

/**
 * A host name every certificate that mode 'auto' makes carries. A plugin trusts the host by its
 * one CA (a certificate the CA did not sign is refused), so this name is only what the TLS
 * handshake announces, and host certificates of mode 'manual' need not carry it.
 */
export const TLS_SERVER_NAME = 'localhost';

/** Reads the JSON `{ ca, cert, key }` (PEM text) the host puts in the plugin's environment. */
export function tlsFromEnv(value: string | undefined): TlsMaterial | undefined {
  if (!value) return undefined;
  const parsed = JSON.parse(value) as { ca: string; cert: string; key: string };
  return { ca: Buffer.from(parsed.ca), cert: Buffer.from(parsed.cert), key: Buffer.from(parsed.key), servername: TLS_SERVER_NAME };
}

/** The inverse of tlsFromEnv: what the host puts in a spawned plugin's WWPLUGIN_TLS. */
export function tlsToEnv(material: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer }): string {
  return JSON.stringify({ ca: material.ca.toString(), cert: material.cert.toString(), key: material.key.toString() });
}
