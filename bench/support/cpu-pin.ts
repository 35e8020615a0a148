// Pins a host and its plugins to CPUs (Linux, `taskset` from util-linux): where the scheduler puts
// them changes what a call costs, so a benchmark can show both cases apart from the unpinned one.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** 'apart': the host on CPU 0, its plugins on CPU 1; 'together': all of them on CPU 0. */
export type Pinning = 'apart' | 'together';

export function parsePinning(value: string | undefined): Pinning | undefined {
  if (value === undefined) return undefined;
  if (value !== 'apart' && value !== 'together') throw new Error(`--pin takes apart or together, not ${value}`);
  if (value === 'apart' && availableParallelism() < 2) throw new Error('--pin apart needs two CPUs');
  return value;
}

/** Pins every thread of the host and of each plugin process. */
export function pinProcesses(how: Pinning, hostPid: number, pluginPids: number[]): void {
  const pin = (cpu: string, pid: number) => {
    try {
      execFileSync('taskset', ['-apc', cpu, String(pid)], { stdio: 'ignore' });
    } catch (err) {
      throw new Error(`taskset -apc ${cpu} ${pid} failed (--pin needs taskset, from Debian's util-linux): ${(err as Error).message}`, { cause: err });
    }
  };
  pin('0', hostPid);
  for (const pid of pluginPids) pin(how === 'apart' ? '1' : '0', pid);
}
