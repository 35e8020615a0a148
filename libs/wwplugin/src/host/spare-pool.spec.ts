import { describe, expect, it } from 'vitest';
import { sameStartup } from './spare-pool.js';

// A spare serves a plugin only when Node would have started the same way for it.
describe('sameStartup', () => {
  const spare = { PATH: '/bin', NODE_ENV: 'production', NODE_COMPILE_CACHE: '/tmp/cache', HOME: '/root' };

  it('ignores variables Node reads later (application settings, NODE_ENV)', () => {
    expect(sameStartup(spare, { ...spare, PATH: '/usr/bin', NODE_ENV: 'test', APP_KEY: 'x' })).toBe(true);
  });

  it('refuses a plugin whose startup variables differ, are added or are missing', () => {
    expect(sameStartup(spare, { ...spare, NODE_OPTIONS: '--max-old-space-size=64' })).toBe(false);
    expect(sameStartup(spare, { ...spare, NODE_COMPILE_CACHE: '/elsewhere' })).toBe(false);
    const { NODE_COMPILE_CACHE: _gone, ...without } = spare;
    expect(sameStartup(spare, without)).toBe(false);
    expect(sameStartup(spare, { ...spare, UV_THREADPOOL_SIZE: '16' })).toBe(false);
    expect(sameStartup(spare, { ...spare, SSL_CERT_FILE: '/etc/ca.pem' })).toBe(false);
    expect(sameStartup(spare, { ...spare, OPENSSL_CONF: '/etc/ssl.cnf' })).toBe(false);
  });
});
