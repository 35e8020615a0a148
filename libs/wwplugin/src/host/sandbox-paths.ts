import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * What a Node plugin must read to start, worked out from its entry file: its package directory
 * (the nearest one with a package.json), every node_modules directory Node resolves from above it,
 * where the packages linked into those lead (workspaces, `npm link`), and the package.json files
 * above it that Node reads to learn a module's type.
 */
export function pluginReadPaths(entry: string): string[] {
  const paths = new Set<string>();
  const add = (path: string) => {
    paths.add(path);
    try {
      paths.add(realpathSync(path));
    } catch {
      // gone or unreadable: the plugin will be told when it tries
    }
  };
  const root = packageRoot(entry);
  add(root);
  for (let dir = root; ; dir = dirname(dir)) {
    const modules = join(dir, 'node_modules');
    if (isDirectory(modules)) {
      add(modules);
      for (const linked of linkedPackages(modules)) add(linked);
    }
    if (dir !== root && existsSync(join(dir, 'package.json'))) add(join(dir, 'package.json'));
    if (dirname(dir) === dir) break;
  }
  return [...paths];
}

/** The nearest directory above `entry` holding a package.json; the entry's directory if none. */
export function packageRoot(entry: string): string {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(entry);
  }
}

/** Symbolic links among a node_modules directory's packages (and scoped packages). */
function linkedPackages(modules: string): string[] {
  const links: string[] = [];
  for (const name of safeList(modules)) {
    const path = join(modules, name);
    if (name.startsWith('@')) {
      for (const scoped of safeList(path)) if (isLink(join(path, scoped))) links.push(join(path, scoped));
    } else if (isLink(path)) {
      links.push(path);
    }
  }
  return links;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
