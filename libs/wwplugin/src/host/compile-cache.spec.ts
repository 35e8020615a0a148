import * as nodeModule from 'node:module';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCacheEnv } from './compile-cache.js';

// Runs on the machine's Node and, through the Node matrix, on 22, 24 and 26: each takes its branch.
describe('compileCacheEnv', () => {
  it('gives plugins a private compile-cache folder where Node has the cache, and nothing where it has not or the user chose', () => {
    const env = compileCacheEnv();
    const nodeHasIt = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';
    if (!nodeHasIt || process.env.NODE_COMPILE_CACHE || process.env.NODE_DISABLE_COMPILE_CACHE) {
      expect(env).toEqual({});
      return;
    }
    const dir = env.NODE_COMPILE_CACHE!;
    expect(dir).toMatch(/wwplugin-compile-cache-/);
    const stat = statSync(dir);
    expect(stat.isDirectory()).toBe(true);
    expect(stat.mode & 0o077).toBe(0);
    expect(stat.uid).toBe(process.getuid!());
  });
});
