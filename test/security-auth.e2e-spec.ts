import { Injectable } from '@nestjs/common';
import { HostFunction } from '@wwplugin/nestjs';
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from './support/child-processes.js';
import { fixture, isAlive, startHost, type TestHost } from './support/host-harness.js';
import { RawSession, type RawSessionOptions } from './support/raw-session.js';

const REFUSED = 'invalid or missing plugin credentials';
const HEX_SECRET = /[0-9a-f]{64}/;

/** Counts calls that reached the host function: a refused client must never get here. */
@Injectable()
class HostFunctions {
  static runs = 0;
  @HostFunction()
  secretData(): string {
    HostFunctions.runs++;
    return 'only for plugins';
  }
}

/**
 * Dials like a plugin would and tries everything a plugin may do: say Hello, call a host function,
 * call a plugin through the host. Resolves with how the session ended and what it received.
 */
async function intrude(options: RawSessionOptions) {
  const session = new RawSession(options);
  session.send({ hello: { protocolVersion: 1, pluginId: options.pluginId ?? 'intruder', name: 'intruder', version: '1.0.0', pid: process.pid } });
  session.send({ call: { id: 1, function: 'secretData' } });
  session.send({ call: { id: 2, function: 'echo', target: 'good', args: [{ name: 'value', type: 1, stringValue: 'x' }] } });
  const end = await session.ended;
  session.close();
  return { code: end.code, details: end.details, frames: session.frames };
}

/** Writes `bytes` to a socket and resolves once the host closed the connection. */
function sendGarbage(socket: Socket, bytes: Buffer): Promise<{ closed: boolean; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    socket.on('data', (d) => (received += d.length));
    socket.on('error', () => undefined); // ECONNRESET is one way of being closed
    socket.on('close', () => resolve({ closed: true, received }));
    socket.on('connect', () => socket.write(bytes));
  });
}

describe('security: only our plugins get in', () => {
  let t: TestHost;
  let address: string;
  let goodId: string;
  let goodPid: number;

  const stillServes = async () => {
    expect(await t.host.call('good', 'echo', { value: 'still ok' })).toBe('still ok');
  };

  beforeAll(async () => {
    t = await startHost({}, { providers: [HostFunctions] });
    const good = await t.host.load(fixture('good', 'sec'));
    goodId = good.id;
    goodPid = good.pid!;
    address = await t.host.address();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    expect(isAlive(goodPid)).toBe(false);
  });

  it('listens on a unix socket in a directory only this user can enter', () => {
    expect(address).toMatch(/^unix:\/.+\/host\.sock$/);
    const dir = dirname(address.slice('unix:'.length));
    const st = statSync(dir);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
    expect(readdirSync(dir)).toEqual(['host.sock']);
  });

  it.each<[string, () => RawSessionOptions]>([
    ['no secret and no id', () => ({ address })],
    ['a wrong secret for a real plugin id', () => ({ address, pluginId: goodId, token: randomBytes(32).toString('hex') })],
    ['a secret of another length', () => ({ address, pluginId: goodId, token: 'short' })],
    ['an empty secret', () => ({ address, pluginId: goodId, token: '' })],
    ['an unknown plugin id', () => ({ address, pluginId: 'ghost-1234', token: randomBytes(32).toString('hex') })],
  ])('a client with %s is refused UNAUTHENTICATED, learns nothing, and reaches nothing', async (_label, options) => {
    const runs = HostFunctions.runs;
    const pushedTo = t.host.push('*', 'news', 'for plugins only');
    const result = await intrude(options());
    // The same answer whatever was wrong: nothing tells a prober which part was.
    expect(result).toEqual({ code: grpc.status.UNAUTHENTICATED, details: REFUSED, frames: [] });
    expect(HostFunctions.runs).toBe(runs);
    expect(pushedTo).toBe(1);
    expect(t.host.list().map((p) => p.name)).toEqual(['good']);
    await stillServes();
  });

  it('the plugin process no longer holds its secret in its environment', async () => {
    // (A copied secret cannot open a second session either: security-input, probe "replay".)
    const seen = await t.host.call<{ tokenInEnv: boolean; argv: string[] }>('good', 'secrets');
    expect(seen.tokenInEnv).toBe(false);
    // It never was there: it came on its own descriptor, so /proc/<pid>/environ has nothing to show.
    expect(readFileSync(`/proc/${goodPid}/environ`, 'utf8')).not.toMatch(HEX_SECRET);
  });

  it('the secret is not on any command line', async () => {
    const seen = await t.host.call<{ argv: string[] }>('good', 'secrets');
    expect(seen.argv.join(' ')).not.toMatch(HEX_SECRET);
    const cmdline = readFileSync(`/proc/${goodPid}/cmdline`, 'utf8');
    expect(cmdline).toContain('main.js');
    expect(cmdline).not.toMatch(HEX_SECRET);
  });

  it.each([
    ['random bytes', () => randomBytes(4096)],
    ['the HTTP/2 preface followed by garbage', () => Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(2048)])],
    ['an HTTP/1.1 request', () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
  ])('%s written to the socket: the connection is closed and the host serves on', async (_label, bytes) => {
    const result = await sendGarbage(connect(address.slice('unix:'.length)), bytes());
    expect(result.closed).toBe(true);
    expect(t.host.list().map((p) => ({ name: p.name, state: p.state }))).toEqual([{ name: 'good', state: 'running' }]);
    await stillServes();
  });
});

describe('security: listener defaults', () => {
  it('removes the socket directory when the host closes', async () => {
    const t = await startHost();
    const path = (await t.host.address()).slice('unix:'.length);
    expect(existsSync(path)).toBe(true);
    await t.close();
    expect(existsSync(dirname(path))).toBe(false);
  });

  it('with a port, binds loopback TCP and refuses clients without the secret there too', async () => {
    const before = childPids();
    const t = await startHost({ port: 0 });
    try {
      const address = await t.host.address();
      expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await intrude({ address })).toEqual({ code: grpc.status.UNAUTHENTICATED, details: REFUSED, frames: [] });
      const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
      expect((await sendGarbage(connect(port, host), randomBytes(1024))).closed).toBe(true);
      // The host still takes a real plugin after all that.
      await t.host.load(fixture('tcp', ''));
      expect(await t.host.call('tcp', 'echo', { value: 1 })).toBe(1);
    } finally {
      await t.close();
    }
    expect(childPids()).toEqual(before);
  }, 30_000);
});
