import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { certificateNames, RemoteAuthenticator } from './remote-authenticator.js';

const cert = (cn: string, san = ''): PeerCertificate => ({ raw: Buffer.from('x'), subject: { CN: cn }, subjectaltname: san }) as unknown as PeerCertificate;

describe('RemoteAuthenticator', () => {
  const auth = new RemoteAuthenticator([{ name: 'gpu', token: 's3cret' }, { name: 'ocr' }]);

  it('names a certificate by its common name and DNS names', () => {
    expect(certificateNames(cert('gpu', 'DNS:gpu, DNS:gpu.plugins.svc, IP Address:10.0.0.1'))).toEqual(['gpu', 'gpu.plugins.svc']);
    expect(certificateNames(undefined)).toEqual([]);
  });

  it('admits an allowed name (with its token when it has one)', () => {
    expect(auth.identify(cert('ocr'), '')).toEqual({ names: ['ocr'] });
    expect(auth.identify(cert('gpu'), 's3cret')).toEqual({ names: ['gpu'] });
    expect(auth.identify(cert('x', 'DNS:ocr'), '')).toEqual({ names: ['ocr'] });
  });

  it('refuses a name that is not allowed, or no certificate, as permission denied', () => {
    expect(auth.identify(cert('intruder'), '')).toMatchObject({ status: 'permission-denied', refused: expect.stringContaining('"intruder"') });
    expect(auth.identify(undefined, '')).toMatchObject({ status: 'permission-denied', refused: expect.stringContaining('no identity') });
  });

  it('refuses a missing or wrong token as unauthenticated', () => {
    expect(auth.identify(cert('gpu'), '')).toMatchObject({ status: 'unauthenticated' });
    expect(auth.identify(cert('gpu'), 's3cret-')).toMatchObject({ status: 'unauthenticated' });
  });

  it('lets a Hello use only a certified name', () => {
    expect(auth.helloRefusal({ names: ['ocr'] }, 'ocr')).toBeUndefined();
    expect(auth.helloRefusal({ names: ['ocr'] }, 'gpu')).toContain('"gpu"');
  });
});
