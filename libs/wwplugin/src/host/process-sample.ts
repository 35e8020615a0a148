import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux ABI). */
const USER_HZ = 100;

/** One process's resident memory and CPU time so far, as the kernel reports them. */
export interface ProcessSample {
  rssBytes: number;
  cpuSeconds: number;
}

/**
 * Reads a process's memory and CPU time from /proc (Linux); undefined elsewhere or once it is gone.
 * Sampled by the host, so a plugin that is stuck or busy is measured all the same.
 */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  let stat: string;
  let status: string;
  try {
    [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = vmRssKiB(status);
  if (!Number.isFinite(ticks) || rssKiB === undefined) return undefined;
  return { rssBytes: rssKiB * 1024, cpuSeconds: ticks / USER_HZ };
}

/**
 * Resident memory of a process in MiB: /proc on Linux, `ps` elsewhere; undefined once it is gone.
 * Asynchronous both ways: the host's event loop never waits on a sample.
 */
export async function residentMiB(pid: number): Promise<number | undefined> {
  if (process.platform === 'linux') {
    const kib = vmRssKiB(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
    return kib === undefined ? undefined : Math.round(kib / 1024);
  }
  try {
    const { stdout } = await promisify(execFile)('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
    const kib = Number(stdout.trim());
    return Number.isFinite(kib) && kib > 0 ? Math.round(kib / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** The VmRSS line of /proc/<pid>/status, in KiB. */
function vmRssKiB(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : undefined;
}
