import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DIST_BENCH } from './paths.js';

/**
 * Spawns the bare Nest reference (bare-nest-child.js, or its bundle) the way the host spawns a plugin, and times
 * spawn → the line it prints after its gRPC reply. Its RSS is what it reports then.
 */
export async function bareOnce(address: string, payload: string, file = `${DIST_BENCH}bare-nest-child.js`): Promise<{ ms: number; rss: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, WWBENCH_ADDRESS: address, WWBENCH_PAYLOAD: payload },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string | undefined>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(undefined));
  });
  const ms = performance.now() - t0;
  const code = await exited;
  if (!line || code !== 0) throw new Error(`bare-nest-child failed (exit code ${code})`);
  return { ms, rss: (JSON.parse(line) as { rss: number }).rss };
}
