/** PEM material for mutual TLS; the host hands a plugin its own in WWPLUGIN_TLS. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads the JSON `{ ca, cert, key }` (PEM text) the host puts in the plugin's environment. */
export function tlsFromEnv(value: string | undefined): TlsMaterial | undefined {
  if (!value) return undefined;
  const parsed = JSON.parse(value) as { ca: string; cert: string; key: string };
  return { ca: Buffer.from(parsed.ca), cert: Buffer.from(parsed.cert), key: Buffer.from(parsed.key) };
}

/** The inverse of tlsFromEnv: what the host puts in a spawned plugin's WWPLUGIN_TLS. */
export function tlsToEnv(material: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer }): string {
  return JSON.stringify({ ca: material.ca.toString(), cert: material.cert.toString(), key: material.key.toString() });
}
