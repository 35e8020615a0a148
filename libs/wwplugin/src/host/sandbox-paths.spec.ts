import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot, pluginReadPaths } from './sandbox-paths.js';

describe('pluginReadPaths', () => {
  let root: string;

  beforeAll(() => {
    // root/package.json, root/node_modules/{dep, @scope/linked -> ../../libs/linked}, root/plugins/p/{package.json, dist/main.js}
    root = mkdtempSync(join(tmpdir(), 'wwplugin-paths-'));
    writeFileSync(join(root, 'package.json'), '{}');
    mkdirSync(join(root, 'node_modules', 'dep'), { recursive: true });
    mkdirSync(join(root, 'node_modules', '@scope'), { recursive: true });
    mkdirSync(join(root, 'libs', 'linked'), { recursive: true });
    symlinkSync(join(root, 'libs', 'linked'), join(root, 'node_modules', '@scope', 'linked'));
    mkdirSync(join(root, 'plugins', 'p', 'dist'), { recursive: true });
    writeFileSync(join(root, 'plugins', 'p', 'package.json'), '{}');
    writeFileSync(join(root, 'plugins', 'p', 'dist', 'main.js'), '');
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("is the plugin's package, the node_modules above it, where linked packages lead, and the package.json files above", () => {
    const paths = pluginReadPaths(join(root, 'plugins', 'p', 'dist', 'main.js'));
    expect(paths).toContain(join(root, 'plugins', 'p'));
    expect(paths).toContain(join(root, 'node_modules'));
    expect(paths).toContain(join(root, 'libs', 'linked'));
    expect(paths).toContain(join(root, 'package.json'));
    // Nothing else of the repository: not its libs beyond the linked one, not its root as a whole.
    expect(paths).not.toContain(root);
    expect(paths).not.toContain(join(root, 'libs'));
  });

  it("a plugin's package is the nearest directory with a package.json", () => {
    expect(packageRoot(join(root, 'plugins', 'p', 'dist', 'main.js'))).toBe(join(root, 'plugins', 'p'));
  });
});
