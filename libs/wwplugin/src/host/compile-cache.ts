import * as nodeModule from 'node:module';
import { mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let decided: Record<string, string> | undefined;

/**
 * Environment that turns on Node's module compile cache in a spawned plugin (Node 22.1+): a
 * restarted or second plugin then skips compiling the several hundred modules of Nest, grpc-js and
 * protobufjs. On an older Node, or when the user chose (NODE_COMPILE_CACHE set, or
 * NODE_DISABLE_COMPILE_CACHE), it adds nothing. The directory is the user's own (0700): code from
 * a cache others could write would run in the plugin.
 */
export function compileCacheEnv(): Record<string, string> {
  if (decided) return decided;
  decided = {};
  if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache !== 'function') return decided;
  if (process.env.NODE_COMPILE_CACHE || process.env.NODE_DISABLE_COMPILE_CACHE) return decided;
  const dir = join(tmpdir(), `wwplugin-compile-cache-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    if (process.getuid && (stat.uid !== process.getuid() || (stat.mode & 0o022) !== 0)) return decided;
    decided = { NODE_COMPILE_CACHE: dir };
  } catch {
    // No writable temporary directory: plugins start without the cache.
  }
  return decided;
}
