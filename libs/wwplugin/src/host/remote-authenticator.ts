import { createHash, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { RemotePluginSpec } from '../interfaces/host-options.interface.js';
import { REMOTE_BAD_TOKEN, REMOTE_HELLO_NOT_CERTIFIED, REMOTE_NOT_ALLOWED } from '../wwplugin.messages.js';

/** What a remote client proved: the allowed plugin names its certificate carries. */
export type RemoteIdentity = { names: string[] } | { refused: string; status: 'unauthenticated' | 'permission-denied' };

/**
 * Decides who a remote client is: its client certificate (already verified against the CA by the
 * TLS handshake) names it, by common name or DNS subject alternative names; only allowed names
 * count, and a plugin with a bearer token must present it too.
 */
export class RemoteAuthenticator {
  private readonly specs: Map<string, RemotePluginSpec>;

  constructor(specs: RemotePluginSpec[]) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
  }

  /** The allowed names `certificate` speaks for, if the token fits one of them. */
  identify(certificate: PeerCertificate | undefined, token: string): RemoteIdentity {
    const named = certificateNames(certificate);
    const allowed = named.filter((n) => this.specs.has(n));
    if (!allowed.length) return { refused: REMOTE_NOT_ALLOWED(named, [...this.specs.keys()]), status: 'permission-denied' };
    const admitted = allowed.filter((n) => this.tokenFits(n, token));
    if (!admitted.length) return { refused: REMOTE_BAD_TOKEN, status: 'unauthenticated' };
    return { names: admitted };
  }

  /** Why a Hello naming `name` may not use this identity; undefined when it may. */
  helloRefusal(identity: { names: string[] }, name: string): string | undefined {
    return identity.names.includes(name) ? undefined : REMOTE_HELLO_NOT_CERTIFIED(name, identity.names);
  }

  spec(name: string): RemotePluginSpec | undefined {
    return this.specs.get(name);
  }

  private tokenFits(name: string, token: string): boolean {
    const expected = this.specs.get(name)?.token;
    if (!expected) return true;
    // Digests first: the comparison takes the same time whatever the lengths.
    const a = createHash('sha256').update(expected).digest();
    const b = createHash('sha256').update(token).digest();
    return timingSafeEqual(a, b);
  }
}

/** The common name and the DNS subject alternative names of a certificate. */
export function certificateNames(certificate: PeerCertificate | undefined): string[] {
  if (!certificate?.raw) return [];
  const names = new Set<string>();
  const cn = certificate.subject?.CN;
  for (const value of Array.isArray(cn) ? cn : cn ? [cn] : []) names.add(value);
  // Node gives the SANs as one string: "DNS:a, DNS:b, IP Address:10.0.0.1".
  for (const entry of (certificate.subjectaltname ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) names.add(entry.slice(4));
  }
  return [...names];
}
