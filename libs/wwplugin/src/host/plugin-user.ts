import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PluginSandboxError } from '../errors/wwplugin.errors.js';
import type { PluginSpec } from '../interfaces/host-options.interface.js';
import { CANNOT_SWITCH_USER, UNKNOWN_USER } from '../wwplugin.messages.js';

/** The uid and gid a plugin's process runs with; empty when it runs as the host's user. */
export interface PluginIdentity {
  uid?: number;
  gid?: number;
}

/**
 * Resolves `spec.user` / `spec.group` (names or numeric ids). Throws PluginSandboxError for a name
 * that does not exist, or when the host may not switch to that identity (it is not root).
 */
export function pluginIdentity(spec: PluginSpec): PluginIdentity {
  if (spec.user === undefined && spec.group === undefined) return {};
  const plugin = spec.name ?? spec.path ?? spec.command ?? '?';
  if (!process.getuid || !process.getgid) throw new PluginSandboxError(CANNOT_SWITCH_USER(plugin, -1, -1));
  const user = spec.user === undefined ? undefined : lookup('user', spec.user);
  const uid = user?.id ?? process.getuid();
  const gid = spec.group !== undefined ? lookup('group', spec.group).id : (user?.primaryGid ?? process.getgid());
  if (process.getuid() !== 0 && (uid !== process.getuid() || gid !== process.getgid())) {
    throw new PluginSandboxError(CANNOT_SWITCH_USER(plugin, uid, gid), { uid, gid });
  }
  return { uid, gid };
}

/** A user or group by name or id, from /etc/passwd or /etc/group, then `id` (directory services). */
function lookup(kind: 'user' | 'group', nameOrId: string | number): { id: number; primaryGid?: number } {
  const numeric = typeof nameOrId === 'number' || /^\d+$/.test(nameOrId);
  const file = kind === 'user' ? '/etc/passwd' : '/etc/group';
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch {
    // no such file (macOS keeps users elsewhere): `id` below
  }
  for (const line of lines) {
    const fields = line.split(':');
    if (fields.length < 3 || (numeric ? fields[2] !== String(nameOrId) : fields[0] !== nameOrId)) continue;
    return { id: Number(fields[2]), primaryGid: kind === 'user' ? Number(fields[3]) : undefined };
  }
  // An id nobody named is still an id (65534 on a machine without `nobody` in /etc/passwd).
  if (numeric) return { id: Number(nameOrId), primaryGid: kind === 'user' ? Number(nameOrId) : undefined };
  if (kind === 'user') {
    try {
      const id = Number(execFileSync('id', ['-u', String(nameOrId)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const primaryGid = Number(execFileSync('id', ['-g', String(nameOrId)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isInteger(id)) return { id, primaryGid };
    } catch {
      // not found either
    }
  }
  throw new PluginSandboxError(UNKNOWN_USER(kind, String(nameOrId)), { [kind]: nameOrId });
}
