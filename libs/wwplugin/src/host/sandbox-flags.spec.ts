import { describe, expect, it } from 'vitest';
import { heapFlags, permissionSupport, permissionSupportOf, sandboxFlags, type SandboxRights } from './sandbox-flags.js';

const NONE: SandboxRights = { fsRead: ['/app'], fsWrite: [], childProcess: false, worker: false, addons: false };

// The flag lists are what each pinned Node binary reports in process.allowedNodeEnvironmentFlags.
describe('sandboxFlags per Node line', () => {
  it('Node 20: --experimental-permission, and its experimental warning silenced', () => {
    const support = permissionSupportOf('20.20.2', new Set(['--experimental-permission', '--allow-fs-read', '--allow-worker']));
    expect(sandboxFlags(support, NONE)).toEqual(['--experimental-permission', '--allow-fs-read=/app', '--disable-warning=ExperimentalWarning']);
  });

  it('Node 22.13+ and 24: --permission, no warning to silence', () => {
    const support = permissionSupportOf('24.22.3', new Set(['--permission', '--allow-fs-read', '--permission-audit']));
    expect(sandboxFlags(support, { ...NONE, fsWrite: ['/tmp/out'], worker: true })).toEqual([
      '--permission',
      '--allow-fs-read=/app',
      '--allow-fs-write=/tmp/out',
      '--allow-worker',
    ]);
  });

  it('Node 26: sockets are a permission, and the session with the host needs one (--allow-net)', () => {
    const support = permissionSupportOf('26.12.1', new Set(['--permission', '--allow-net', '--allow-fs-read']));
    expect(sandboxFlags(support, { ...NONE, childProcess: true, addons: true })).toEqual([
      '--permission',
      '--allow-fs-read=/app',
      '--allow-child-process',
      '--allow-addons',
      '--allow-net',
      '--disable-warning=ExperimentalWarning',
    ]);
  });

  it('one flag per path, however many paths (commas changed meaning across lines)', () => {
    const support = permissionSupportOf('22.23.5', new Set(['--permission']));
    expect(sandboxFlags(support, { ...NONE, fsRead: ['/a', '/b,c'] }).filter((f) => f.startsWith('--allow-fs-read'))).toEqual([
      '--allow-fs-read=/a',
      '--allow-fs-read=/b,c',
    ]);
  });

  it('a Node without the permission model is refused', () => {
    expect(() => sandboxFlags(permissionSupportOf('18.20.0', new Set()), NONE)).toThrow(/no permission model/);
  });

  it("this Node's own support agrees with its flag list", () => {
    const own = permissionSupport();
    expect(own.version).toBe(process.versions.node);
    expect(own.permissionFlag).toBe(process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission');
    expect(own.hasAllowNet).toBe(process.allowedNodeEnvironmentFlags.has('--allow-net'));
  });
});

describe('heapFlags', () => {
  it('gives V8 the old-space limit, and nothing without one', () => {
    expect(heapFlags({ maxHeapMiB: 128, maxRssMiB: 512 })).toEqual(['--max-old-space-size=128']);
    expect(heapFlags({ maxRssMiB: 512 })).toEqual([]);
  });
});
