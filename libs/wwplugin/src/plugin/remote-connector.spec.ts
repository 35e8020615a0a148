import { describe, expect, it } from 'vitest';
import { PluginConfigurationError } from '../errors/wwplugin.errors.js';
import { reconnectDelay, remoteHostFrom } from './remote-connector.js';

describe('reconnectDelay', () => {
  const backoff = { initialMs: 200, maxMs: 10_000 };

  it('doubles from the first delay and stops at the cap', () => {
    const middle = () => 0.5; // no jitter
    expect([0, 1, 2, 3, 4, 5, 6, 7, 40].map((a) => reconnectDelay(a, backoff, middle))).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
  });

  it('spreads each delay by at most 20% either way', () => {
    expect(reconnectDelay(3, backoff, () => 0)).toBe(1280);
    expect(reconnectDelay(3, backoff, () => 1)).toBe(1920);
    expect(reconnectDelay(10, backoff, () => 1)).toBe(12_000);
  });
});

describe('remoteHostFrom', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';

  it('is undefined without WWPLUGIN_HOST: the plugin was spawned by its host', () => {
    expect(remoteHostFrom(undefined, {}, '')).toBeUndefined();
  });

  it('reads the host, PEM text and replica name from the environment, and removes the key from it', () => {
    const env: NodeJS.ProcessEnv = {
      WWPLUGIN_HOST: '10.0.0.1:7443',
      WWPLUGIN_TLS_CA: PEM,
      WWPLUGIN_TLS_CERT: PEM,
      WWPLUGIN_TLS_KEY: PEM,
      WWPLUGIN_REPLICA: 'pod-1',
    };
    const host = remoteHostFrom(undefined, env, 'tok')!;
    expect(host).toMatchObject({ address: '10.0.0.1:7443', servername: '10.0.0.1', replica: 'pod-1', token: 'tok' });
    expect(host.key.toString()).toBe(PEM);
    expect(env.WWPLUGIN_TLS_KEY).toBeUndefined();
  });

  it('names the variables that are missing', () => {
    expect(() => remoteHostFrom(undefined, { WWPLUGIN_HOST: 'h:1', WWPLUGIN_TLS_CA: PEM }, '')).toThrow(PluginConfigurationError);
    expect(() => remoteHostFrom(undefined, { WWPLUGIN_HOST: 'h:1', WWPLUGIN_TLS_CA: PEM }, '')).toThrow(/WWPLUGIN_TLS_CERT, WWPLUGIN_TLS_KEY/);
  });

  it('says which PEM file it cannot read', () => {
    expect(() => remoteHostFrom({ host: 'h:1', tls: { ca: '/nonexistent/ca.crt', cert: PEM, key: PEM } }, {}, '')).toThrow(/\/nonexistent\/ca\.crt/);
  });
});
