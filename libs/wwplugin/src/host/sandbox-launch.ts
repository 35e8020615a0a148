import { realpathSync } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { PluginSandboxError } from '../errors/wwplugin.errors.js';
import type { PluginLimits, PluginSandboxOptions, PluginSpec, WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { BAD_LIMIT, BAD_SANDBOX, NO_PERMISSION_MODEL, SANDBOX_NEEDS_NODE } from '../wwplugin.messages.js';
import { heapFlags, permissionSupport, sandboxFlags, type SandboxRights } from './sandbox-flags.js';
import { pluginReadPaths } from './sandbox-paths.js';

/** How a plugin is spawned once its sandbox and limits are applied. */
export interface SandboxedLaunch {
  command: string;
  args: string[];
  /** The Node flags put before `args` (empty when neither sandbox nor heap limit applies). */
  flags: string[];
  /** The rights it runs with, or undefined when it is not sandboxed. */
  rights?: SandboxRights;
  limits: PluginLimits;
}

/** The spec's sandbox, or the host's: undefined when the plugin runs with its user's full rights. */
export function sandboxOf(spec: PluginSpec, options: WwPluginHostOptions): PluginSandboxOptions | undefined {
  const sandbox = spec.sandbox ?? options.sandbox ?? false;
  if (sandbox === false) return undefined;
  if (sandbox === true) return {};
  const plugin = spec.name ?? spec.path ?? spec.command ?? '?';
  for (const name of ['fsRead', 'fsWrite'] as const) {
    const paths = sandbox[name];
    if (paths !== undefined && !(Array.isArray(paths) && paths.every((p) => typeof p === 'string'))) {
      throw new PluginSandboxError(BAD_SANDBOX(plugin, name, 'an array of paths', paths), { [name]: paths });
    }
  }
  for (const name of ['childProcess', 'worker', 'addons'] as const) {
    const value = sandbox[name];
    if (value !== undefined && typeof value !== 'boolean') throw new PluginSandboxError(BAD_SANDBOX(plugin, name, 'a boolean', value), { [name]: value });
  }
  return sandbox;
}

/** The spec's limits over the host's, field by field; throws PluginSandboxError for a value that is not a positive integer. */
export function limitsOf(spec: PluginSpec, options: WwPluginHostOptions): PluginLimits {
  const limits: PluginLimits = { ...options.limits, ...spec.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) {
      throw new PluginSandboxError(BAD_LIMIT(spec.name ?? spec.path ?? spec.command ?? '?', name, value), { [name]: value });
    }
  }
  return limits;
}

/**
 * The command and arguments that start `spec` inside its sandbox and heap limit. A plugin by
 * `path` runs on this Node; a `command` must be a Node binary (its flags go before its arguments).
 */
export function sandboxedLaunch(spec: PluginSpec, options: WwPluginHostOptions, command: string, args: string[]): SandboxedLaunch {
  const sandbox = sandboxOf(spec, options);
  const limits = limitsOf(spec, options);
  if (!sandbox && !limits.maxHeapMiB) return { command, args, flags: [], limits };
  const cwd = spec.cwd ?? process.cwd();
  if (spec.command && !isNodeBinary(command)) throw new PluginSandboxError(SANDBOX_NEEDS_NODE(spec.command), { command: spec.command });
  const support = permissionSupport(spec.command ? command : process.execPath);
  let flags = heapFlags(limits);
  let rights: SandboxRights | undefined;
  if (sandbox) {
    // The script is Node's first argument that is not an option.
    const script = spec.path ? resolvePath(cwd, spec.path) : args.find((a) => !a.startsWith('-'));
    rights = {
      fsRead: unique([...(script ? pluginReadPaths(resolvePath(cwd, script)) : []), ...(sandbox.fsRead ?? []).map((p) => resolvePath(cwd, p))]),
      fsWrite: unique((sandbox.fsWrite ?? []).map((p) => resolvePath(cwd, p))),
      childProcess: sandbox.childProcess === true,
      worker: sandbox.worker === true,
      addons: sandbox.addons === true,
    };
    if (!support.permissionFlag) throw new PluginSandboxError(NO_PERMISSION_MODEL(support.version), { version: support.version });
    flags = [...sandboxFlags(support, rights), ...flags];
  }
  return { command, args: [...flags, ...args], flags, rights, limits };
}

/** True for `node`, `node22`, `node.exe`, or this very Node binary. */
function isNodeBinary(command: string): boolean {
  if (/^node(js)?\d*(\.exe)?$/i.test(basename(command))) return true;
  try {
    return realpathSync(command) === realpathSync(process.execPath);
  } catch {
    return false;
  }
}

const unique = (paths: string[]) => [...new Set(paths)];
