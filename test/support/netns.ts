// Two network namespaces joined by a veth pair: "another machine" for remote-plugin tests (root
// only). Everything made here is removed by teardown(), and by the process's exit if a test dies.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomInt } from 'node:crypto';

export interface NetnsPair {
  hostNs: string;
  pluginNs: string;
  hostIp: string;
  pluginIp: string;
  /** The host side's interface (inside hostNs): set it down to cut the link. */
  hostIf: string;
  /** Runs a command inside a namespace; the child is the command itself (`ip netns exec` execs it). */
  spawnIn(ns: string, command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** `ip -n <ns> ...` */
  ip(ns: string, ...args: string[]): string;
  teardown(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Why the OS refuses network namespaces here (not root, a kernel or container that forbids them),
 * or undefined when they can be made. A missing `ip` command is not a refusal: it throws, saying
 * what to install (.ci/run installs it).
 */
export function netnsUnavailable(): string | undefined {
  const probe = `wwp-probe-${process.pid}-${randomInt(1000)}`;
  try {
    ip('netns', 'add', probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('The remote-plugin tests need the `ip` command: apt-get install -y iproute2', { cause: err });
    return `this OS refuses to create a network namespace (\`ip netns add\`: ${String(e.stderr ?? e.message).trim()}); it needs root (CAP_SYS_ADMIN)`;
  }
  ip('netns', 'del', probe);
  return undefined;
}

/** Makes the pair (names unique per process and call): hostNs 10.<a>.<b>.1 and pluginNs 10.<a>.<b>.2 on one /24, loopback up in both. */
export function createNetnsPair(tag = `${process.pid}${randomInt(100, 1000)}`): NetnsPair {
  const hostNs = `wwp-h-${tag}`;
  const pluginNs = `wwp-p-${tag}`;
  // Interface names are at most 15 characters.
  const hostIf = `wvh${tag}`.slice(0, 15);
  const pluginIf = `wvp${tag}`.slice(0, 15);
  const n = Number(tag) || 1;
  // Each pair is a world of its own: its addresses may repeat in another pair.
  const subnet = `10.${200 + (n % 50)}.${Math.floor(n / 64) % 250}`;
  const children = new Set<ChildProcess>();
  let torn = false;
  const teardown = () => {
    if (torn) return;
    torn = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Deleting a namespace deletes its end of the veth pair, and with it the other end.
    for (const ns of [hostNs, pluginNs]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', teardown);
  try {
    ip('netns', 'add', hostNs);
    ip('netns', 'add', pluginNs);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', pluginIf);
    ip('link', 'set', hostIf, 'netns', hostNs);
    ip('link', 'set', pluginIf, 'netns', pluginNs);
    ip('-n', hostNs, 'addr', 'add', `${subnet}.1/24`, 'dev', hostIf);
    ip('-n', pluginNs, 'addr', 'add', `${subnet}.2/24`, 'dev', pluginIf);
    for (const [ns, dev] of [
      [hostNs, hostIf],
      [pluginNs, pluginIf],
    ] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (err) {
    teardown();
    throw err;
  }
  return {
    hostNs,
    pluginNs,
    hostIp: `${subnet}.1`,
    pluginIp: `${subnet}.2`,
    hostIf,
    spawnIn(ns, command, args, options = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    ip: (ns, ...args) => ip('-n', ns, ...args),
    teardown,
  };
}
