import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, startHost, type TestHost } from './support/host-harness.js';

/** Inodes of every listening socket on this machine (TCP, TCP6 and unix). */
function listeningInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') inodes.add(cols[9]); // state LISTEN
    }
  }
  for (const line of readFileSync('/proc/net/unix', 'utf8').trim().split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if ((parseInt(cols[3], 16) & 0x10000) !== 0) inodes.add(cols[6]); // __SO_ACCEPTCON
  }
  return inodes;
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []);
}

describe.runIf(process.platform === 'linux')('foundation: adaptive addressing', () => {
  const hosts: TestHost[] = [];
  afterAll(() => Promise.all(hosts.map((h) => h.close())));

  it('two hosts and ten plugins with no port given never collide, and plugins listen on nothing', async () => {
    hosts.push(await startHost(), await startHost());
    const [a, b] = hosts;
    expect(await a.host.address()).not.toBe(await b.host.address());
    const loads = Array.from({ length: 10 }, (_, i) => (i % 2 ? b : a).host.load(fixture(`p${i}`)));
    const infos = await Promise.all(loads);
    // Every plugin answers as itself, through the host that loaded it.
    for (let i = 0; i < 10; i++) {
      const who = await (i % 2 ? b : a).host.call<{ name: string; id: string }>(`p${i}`, 'whoami');
      expect(who).toMatchObject({ name: `p${i}`, id: infos[i].id });
    }
    expect(
      a.host
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['p0', 'p2', 'p4', 'p6', 'p8']);
    expect(
      b.host
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['p1', 'p3', 'p5', 'p7', 'p9']);
    const listening = listeningInodes();
    for (const info of infos) {
      const held = socketInodes(info.pid!);
      expect(held.length).toBeGreaterThan(0); // it does hold its session socket...
      expect(held.filter((inode) => listening.has(inode))).toEqual([]); // ...and no listener
    }
  }, 90_000);
});
