import type { ChildProcess } from 'node:child_process';

/**
 * Signals a plugin and whatever it spawned. A plugin leads its own process group (it is spawned
 * detached), so a signal to the group leaves no grandchild behind; the group outlives its leader,
 * so this also reaches what a plugin left behind after it exited. Windows has no groups: the
 * process alone is signalled.
 */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid && process.platform !== 'win32') {
    try {
      process.kill(-child.pid, signal);
      return;
    } catch {
      // no such group (everything in it is gone): fall back to the process itself
    }
  }
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}
