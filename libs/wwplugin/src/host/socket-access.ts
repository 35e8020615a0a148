import { chmodSync, chownSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PluginSandboxError } from '../errors/wwplugin.errors.js';
import { SOCKET_GROUP_TAKEN } from '../wwplugin.messages.js';

/**
 * Lets plugins running under another user dial the host's unix socket, and no one else: the socket
 * (and its private directory) get that plugin's group, the socket becomes group-writable and the
 * directory group-searchable. One group per host: a second, different group is refused.
 */
export function admitGroup(address: string, gid: number, ownsDirectory: boolean): void {
  if (!address.startsWith('unix:')) return; // TCP: any local user reaches it already, the secret decides
  const socket = address.slice('unix:'.length);
  const current = statSync(socket).gid;
  if (current === gid) return;
  if (current !== (process.getgid?.() ?? current)) throw new PluginSandboxError(SOCKET_GROUP_TAKEN(gid, current), { gid, socketGid: current });
  const uid = process.getuid?.() ?? 0;
  if (ownsDirectory) {
    chownSync(dirname(socket), uid, gid);
    chmodSync(dirname(socket), 0o710);
  }
  chownSync(socket, uid, gid);
  chmodSync(socket, 0o660);
}
