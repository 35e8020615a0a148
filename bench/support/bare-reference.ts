import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DIST_BENCH, ROOT } from './paths.js';

/**
 * The environment the host adds for a plugin process that changes how fast Node starts: its module
 * compile cache (Node 22.1+; nothing on Node 20). The library's own function, so the reference
 * starts with exactly what a plugin gets.
 */
async function pluginStartEnv(): Promise<Record<string, string>> {
  const lib = (await import(`${ROOT}libs/wwplugin/dist/host/compile-cache.js`)) as { compileCacheEnv(): Record<string, string> };
  return lib.compileCacheEnv();
}

/**
 * Spawns the bare Nest reference (bare-nest-child.js, or its bundle) the way the host spawns a plugin
 * (same Node, no flags, and the same compile cache environment), and times spawn → the line it
 * prints after its gRPC reply. Its RSS and CPU time (µs, all its threads) are what it reports then.
 */
export async function bareOnce(
  address: string,
  payload: string,
  file = `${DIST_BENCH}bare-nest-child.js`,
): Promise<{ ms: number; rss: number; cpuUs: number }> {
  const env = { ...process.env, ...(await pluginStartEnv()), WWBENCH_ADDRESS: address, WWBENCH_PAYLOAD: payload };
  const t0 = performance.now();
  const child = spawn(process.execPath, [file], {
    env,
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
  const { rss, cpuUs } = JSON.parse(line) as { rss: number; cpuUs: number };
  return { ms, rss, cpuUs };
}
