import { createCertificateAuthority, DeadlineExceededError, HostConfigurationError, PluginNotRunningError, RemotePluginOperationError } from '@wwplugin/nestjs';
import { createServer } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHost } from './support/host-harness.js';

// The remote listener's options, on loopback (no namespaces needed): bad ones fail the bootstrap
// with a HostConfigurationError naming what is wrong.
describe('remote plugins: host options', () => {
  let tls: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    const ca = await createCertificateAuthority();
    const host = await ca.issue({ name: 'host', usage: 'server', hosts: ['127.0.0.1'] });
    tls = { ca: ca.cert, ...host };
  });

  it.each(['7443', 'localhost', '0.0.0.0:99999', ':7443'])('listen %j is refused', async (listen) => {
    const failed = await startHost({ remote: { listen, tls, plugins: [{ name: 'x' }] } }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failed).toBeInstanceOf(HostConfigurationError);
    expect(failed!.message).toContain(`remote.listen must be "host:port"`);
  });

  it('names the TLS material that is missing', async () => {
    const failed = await startHost({ remote: { listen: '127.0.0.1:0', tls: { ca: tls.ca, cert: '', key: '' }, plugins: [] } }).catch((err: Error) => err);
    expect(failed).toBeInstanceOf(HostConfigurationError);
    expect((failed as Error).message).toBe('remote.tls needs cert, key (PEM text or a Buffer).');
  });

  it('a port already taken fails the bootstrap, saying where', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const failed = await startHost({ remote: { listen: `127.0.0.1:${port}`, tls, plugins: [{ name: 'x' }] } }).catch((err: Error) => err);
      expect(failed).toBeInstanceOf(HostConfigurationError);
      expect((failed as Error).message).toContain(`Cannot listen for remote plugins on 127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });

  it('lists allowed names as disconnected; the host does not start, stop, restart, unload or upgrade them', async () => {
    const host = await startHost({ remote: { listen: '127.0.0.1:0', tls, plugins: [{ name: 'far' }] } });
    try {
      expect(host.host.list()).toMatchObject([{ name: 'far', state: 'disconnected', instance: 0, instances: 1 }]);
      for (const op of [() => host.host.start('far'), () => host.host.stop('far'), () => host.host.restart('far'), () => host.host.unload('far')]) {
        await expect(op()).rejects.toBeInstanceOf(RemotePluginOperationError);
      }
      await expect(host.host.upgrade('far', 'x.js')).rejects.toBeInstanceOf(RemotePluginOperationError);
      // whileRestarting 'wait' (the default): a call waits for a replica, within its deadline.
      await expect(host.host.call('far', 'fn', {}, { timeoutMs: 200 })).rejects.toBeInstanceOf(DeadlineExceededError);
    } finally {
      await host.close();
    }
  });

  it("with whileRestarting 'fail', a call to a disconnected remote plugin fails at once", async () => {
    const host = await startHost({ whileRestarting: 'fail', remote: { listen: '127.0.0.1:0', tls, plugins: [{ name: 'far' }] } });
    try {
      const err = await host.host.call('far', 'fn').catch((e: Error) => e);
      expect(err).toBeInstanceOf(PluginNotRunningError);
      expect((err as PluginNotRunningError).details).toEqual({ state: 'disconnected' });
    } finally {
      await host.close();
    }
  });
});
