import { execFileSync } from 'node:child_process';
import type { PluginLimits } from '../interfaces/host-options.interface.js';

/** What one Node binary offers of the permission model, read from its own list of flags. */
export interface PermissionSupport {
  version: string;
  /** `--permission` (22.13+), `--experimental-permission` (20, 22 before 22.13), or none. */
  permissionFlag?: '--permission' | '--experimental-permission';
  /** Newer lines deny sockets under the permission model unless `--allow-net` is given. */
  hasAllowNet: boolean;
}

/** The rights a plugin runs with, paths resolved. */
export interface SandboxRights {
  fsRead: string[];
  fsWrite: string[];
  childProcess: boolean;
  worker: boolean;
  addons: boolean;
}

/** Reads the support from a version and a flag list (a Node's `process.allowedNodeEnvironmentFlags`). */
export function permissionSupportOf(version: string, flags: ReadonlySet<string>): PermissionSupport {
  const permissionFlag = flags.has('--permission') ? '--permission' : flags.has('--experimental-permission') ? '--experimental-permission' : undefined;
  return { version, permissionFlag, hasAllowNet: flags.has('--allow-net') };
}

const probed = new Map<string, PermissionSupport>();

/** The support of the Node that runs this host, or of another Node binary (asked once, then remembered). */
export function permissionSupport(nodeBinary = process.execPath): PermissionSupport {
  if (nodeBinary === process.execPath) return permissionSupportOf(process.versions.node, process.allowedNodeEnvironmentFlags);
  let known = probed.get(nodeBinary);
  if (!known) {
    const script = 'console.log(JSON.stringify({ v: process.versions.node, f: [...process.allowedNodeEnvironmentFlags] }))';
    const out = JSON.parse(execFileSync(nodeBinary, ['-e', script], { encoding: 'utf8', timeout: 15_000 })) as { v: string; f: string[] };
    known = permissionSupportOf(out.v, new Set(out.f));
    probed.set(nodeBinary, known);
  }
  return known;
}

/**
 * The Node flags that start a process with exactly `rights`. Throws when this Node has no
 * permission model (the caller turns it into a typed error).
 */
export function sandboxFlags(support: PermissionSupport, rights: SandboxRights): string[] {
  if (!support.permissionFlag) throw new Error(`Node ${support.version} has no permission model (Node 20.19 or newer is needed).`);
  const flags: string[] = [support.permissionFlag];
  // One flag per path: every supported line accepts repeats, while commas changed meaning across lines.
  for (const path of rights.fsRead) flags.push(`--allow-fs-read=${path}`);
  for (const path of rights.fsWrite) flags.push(`--allow-fs-write=${path}`);
  if (rights.childProcess) flags.push('--allow-child-process');
  if (rights.worker) flags.push('--allow-worker');
  if (rights.addons) flags.push('--allow-addons');
  // The session with the host is a socket: where sockets are permissions, the plugin needs this one.
  if (support.hasAllowNet) flags.push('--allow-net');
  // The experimental flags warn on every start; the host would log it as the plugin's stderr.
  if (support.permissionFlag === '--experimental-permission' || support.hasAllowNet) flags.push('--disable-warning=ExperimentalWarning');
  return flags;
}

/** The Node flags of a plugin's memory limits (the resident memory limit is the host's watchdog). */
export function heapFlags(limits: PluginLimits): string[] {
  return limits.maxHeapMiB ? [`--max-old-space-size=${limits.maxHeapMiB}`] : [];
}
