import { closeSync, readFileSync } from 'node:fs';
import { ENV_TOKEN, ENV_TOKEN_FD } from '../protocol/protocol.constants.js';

/**
 * Takes this process's one-use secret: from the descriptor the host named (read to its end, then
 * closed), or from the environment of an older host. Either way nothing is left behind for the
 * plugin's own children to inherit.
 */
export function takeHostSecret(env: NodeJS.ProcessEnv = process.env): string {
  const fd = Number(env[ENV_TOKEN_FD]);
  const fromEnv = env[ENV_TOKEN] ?? '';
  delete env[ENV_TOKEN_FD];
  delete env[ENV_TOKEN];
  if (!Number.isInteger(fd) || fd < 3) return fromEnv;
  try {
    return readFileSync(fd, 'utf8').trim();
  } catch {
    // Already taken (a second session object in this process): the host refuses an empty secret.
    return '';
  } finally {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
  }
}
