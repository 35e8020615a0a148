import * as grpc from '@grpc/grpc-js';
import { HostConfigurationError } from '@wwplugin/nestjs';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Not part of the public surface: the test makes its own certificates for mode 'manual' with it.
import { createMtlsMaterial } from '../libs/wwplugin/dist/host/host-tls.js';
import { childPids } from './support/child-processes.js';
import { fixture, startHost, type TestHost } from './support/host-harness.js';
import { RawSession, type RawSessionOptions } from './support/raw-session.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** Opens a raw session, says Hello and resolves with how it ended and what it received. */
async function dial(options: RawSessionOptions) {
  const session = new RawSession(options);
  session.send({ hello: { protocolVersion: 1, pluginId: options.pluginId ?? 'intruder', name: 'intruder', version: '1.0.0' } });
  const end = await session.ended;
  session.close();
  return { code: end.code, details: end.details, frames: session.frames.length };
}

describe("security: mutual TLS, mode 'auto'", () => {
  let t: TestHost;
  let address: string;
  /** What the host handed its plugin in WWPLUGIN_TLS: the CA and the plugin's client certificate. */
  let handed: { ca: string; cert: string; key: string };
  const before = childPids();

  beforeAll(async () => {
    t = await startHost({ port: 0, tls: { mode: 'auto' } });
    address = await t.host.address();
    await t.host.load(fixture('tls', 'sec'));
    const seen = await t.host.call<{ tls?: string; tlsInEnv: boolean }>('tls', 'secrets');
    handed = JSON.parse(seen.tls!);
    // The plugin read its certificate and dropped it from its environment (children do not inherit it).
    expect(seen.tlsInEnv).toBe(false);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    expect(childPids()).toEqual(before);
  });

  it('listens on loopback TCP; a plugin it spawned connects over mutual TLS and is called', async () => {
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await t.host.call('tls', 'echo', { value: 'over tls' })).toBe('over tls');
  });

  it('the plugin got a client certificate signed by a one-off CA', () => {
    const ca = new X509Certificate(handed.ca);
    const client = new X509Certificate(handed.cert);
    expect(ca.ca).toBe(true);
    expect(client.ca).toBe(false);
    expect(client.checkIssued(ca)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    expect(client.keyUsage).toEqual([CLIENT_AUTH]);
  });

  it('a client without TLS is refused', async () => {
    expect(await dial({ address })).toMatchObject({ code: grpc.status.UNAVAILABLE, frames: 0 });
    expect(await t.host.call('tls', 'echo', { value: 1 })).toBe(1);
  });

  it('a TLS client without a client certificate is refused', async () => {
    expect(await dial({ address, tls: { ca: handed.ca } })).toMatchObject({ code: grpc.status.UNAVAILABLE, frames: 0 });
    expect(await t.host.call('tls', 'echo', { value: 2 })).toBe(2);
  });

  it('a client certificate from another CA is refused', async () => {
    const other = await createMtlsMaterial();
    expect(await dial({ address, tls: { ca: handed.ca, cert: other.clientCert, key: other.clientKey } })).toMatchObject({
      code: grpc.status.UNAVAILABLE,
      frames: 0,
    });
    expect(await t.host.call('tls', 'echo', { value: 3 })).toBe(3);
  });

  it('a valid client certificate is not enough: the session still needs the secret', async () => {
    expect(await dial({ address, tls: handed })).toEqual({ code: grpc.status.UNAUTHENTICATED, details: 'invalid or missing plugin credentials', frames: 0 });
    expect(await t.host.call('tls', 'echo', { value: 4 })).toBe(4);
  });
});

describe("security: mutual TLS, mode 'manual'", () => {
  it("uses the user's certificates: plugins get the client certificate and connect", async () => {
    const material = await createMtlsMaterial(['127.0.0.1']);
    const server = new X509Certificate(material.cert);
    expect(server.keyUsage).toEqual([SERVER_AUTH]);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const t = await startHost({ port: 0, tls: { mode: 'manual', ...material } });
    try {
      await t.host.load(fixture('manual', 'sec'));
      expect(await t.host.call('manual', 'echo', { value: 'manual tls' })).toBe('manual tls');
      const seen = await t.host.call<{ tls?: string }>('manual', 'secrets');
      expect(JSON.parse(seen.tls!)).toEqual({ ca: material.ca, cert: material.clientCert, key: material.clientKey });
    } finally {
      await t.close();
    }
  }, 30_000);

  it.each([
    ['without its certificates', { mode: 'manual' as const }, "tls mode 'manual' needs PEM ca, cert, key"],
    ['with an unknown mode', { mode: 'sometimes' as 'auto' }, `tls.mode must be 'auto' or 'manual', got "sometimes".`],
  ])('a host %s fails to start with HostConfigurationError', async (_label, tls, message) => {
    const err = await startHost({ port: 0, tls }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(HostConfigurationError);
    expect(err!.message).toContain(message);
  });
});
