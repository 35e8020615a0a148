import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { takeHostSecret } from './host-secret.js';

describe('takeHostSecret', () => {
  it('reads the secret from the descriptor the host names, and closes it', async () => {
    // A child that runs the built module, with the secret on its fd 3.
    const built = fileURLToPath(new URL('../../dist/plugin/host-secret.js', import.meta.url));
    const script = `import(${JSON.stringify(built)}).then(({ takeHostSecret }) => {
      const secret = takeHostSecret();
      let open = true; try { require('node:fs').fstatSync(3); } catch { open = false; }
      console.log(JSON.stringify({ secret, open, left: Object.keys(process.env).filter((k) => k.startsWith('WWPLUGIN_TOKEN')) }));
    })`;
    // Spawned the way the host spawns a plugin: the secret on a fourth pipe, written and ended at once.
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'], env: { ...process.env, WWPLUGIN_TOKEN_FD: '3' } });
    (child.stdio[3] as Writable).end('abc123\n');
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    await new Promise((resolve) => child.once('close', resolve));
    expect(JSON.parse(out)).toEqual({ secret: 'abc123', open: false, left: [] });
  });

  it('falls back to the environment of an older host, and removes it', () => {
    const env: NodeJS.ProcessEnv = { WWPLUGIN_TOKEN: 'from-env' };
    expect(takeHostSecret(env)).toBe('from-env');
    expect(env).toEqual({});
  });
});
