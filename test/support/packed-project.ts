import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './host-harness.js';

// The library packed with `npm pack` and installed in a new project outside the repository, as a
// user installs it: the tests of the public API from the tarball build and run code there.

const run = promisify(execFile);
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ROOT_PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** A package at the version this repository pins (so npm's cache answers). */
export const pinned = (name: string) => `${name}@${ROOT_PKG.dependencies[name] ?? ROOT_PKG.devDependencies[name]}`;

/** Text without terminal colours (Nest's CLI colours its output whatever NO_COLOR says). */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const plain = (text: string) => text.replace(ANSI_COLOUR, '');

/** A user's shell: without the npm_* variables npm passes down (workspace, prefix...). */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs a command; resolves with its exit code and output instead of throwing on failure. */
export async function sh(
  cmd: string,
  args: string[],
  cwd: string,
  timeout = 180_000,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, timeout, maxBuffer: 64 * 1024 * 1024, env: userEnv(env) });
    return { code: 0, out: plain(stdout + stderr) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: plain(`${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`) };
  }
}

/** The README's own words: the first block of `lang` in its Install section. */
export function readmeInstallBlock(lang: string): string {
  const section = README.slice(README.indexOf('\n## Install'));
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  if (!match) throw new Error(`README's Install section has no ${lang} block`);
  return match[1];
}

/** The JSON a script printed on its `RESULT ` line. */
export function result(out: string): Record<string, unknown> {
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line in:\n${out}`);
  return JSON.parse(line.slice('RESULT '.length));
}

export interface PackedProject {
  /** The project's directory (package.json, tsconfig.json, src/, node_modules/). */
  dir: string;
  /** The files in the tarball, as `npm pack` lists them. */
  files: string[];
  /** `npm install`'s exit code and output. */
  installed: { code: number; out: string };
  /** Writes files below the project (paths relative to it). */
  write(files: Record<string, string>): void;
  /** Compiles src/ with the README's tsconfig into dist/. */
  tsc(): Promise<{ code: number; out: string }>;
  /** Runs `node <args>` in the project. */
  node(args: string[], timeout?: number, env?: Record<string, string>): Promise<{ code: number; out: string }>;
  /** Starts `node <args>` in the project, its output read line by line (see `lines`). */
  spawn(args: string[], env?: Record<string, string>): Spawned;
  /** Removes the project and the tarball. */
  remove(): void;
}

export interface Spawned {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first match of `pattern` in its output (now or later); rejects after `ms` or when it exits first. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with its exit code (or signal) once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Packs libs/wwplugin (its prepack builds it, as from a fresh clone) and installs the tarball in a new
 * project with the README's install line, the compiler a new project adds, and `extra` packages.
 */
export async function packedProject(label: string, extra: string[] = []): Promise<PackedProject> {
  const work = mkdtempSync(join(tmpdir(), `wwplugin-${label}-`));
  const dir = join(work, 'app');
  const pack = await sh('npm', ['pack', '-w', '@wwplugin/nestjs', '--json', '--pack-destination', work], ROOT);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.out}`);
  const packed = JSON.parse(pack.out.slice(pack.out.indexOf('['), pack.out.lastIndexOf(']') + 1))[0] as { filename: string; files: { path: string }[] };
  const tarball = join(work, packed.filename);

  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }, null, 2));
  writeFileSync(join(dir, 'tsconfig.json'), readmeInstallBlock('json'));
  const line = readmeInstallBlock('bash')
    .split('\n')
    .find((l) => l.startsWith('npm install @wwplugin/nestjs'))!;
  const args = line
    .split(/\s+/)
    .slice(2)
    .map((a) => (a === '@wwplugin/nestjs' ? tarball : a));
  const dev = ['typescript', '@types/node'].map(pinned);
  const installed = await sh('npm', ['install', ...args, ...dev, ...extra, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir, 240_000);

  return {
    dir,
    files: packed.files.map((f) => f.path),
    installed,
    write(files) {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
    },
    // Build info kept outside the project so a second build is incremental.
    tsc: () =>
      sh(
        process.execPath,
        [join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', join(work, 'tsbuildinfo')],
        dir,
      ),
    node: (nodeArgs, timeout = 60_000, env = {}) => sh(process.execPath, nodeArgs, dir, timeout, env),
    spawn: (nodeArgs, env = {}) => spawned(spawn(process.execPath, nodeArgs, { cwd: dir, env: userEnv(env), stdio: ['pipe', 'pipe', 'pipe'] })),
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}

function spawned(child: ChildProcess): Spawned {
  let text = '';
  let gone = false;
  const waiters = new Set<() => void>();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      gone = true;
      resolve({ code, signal });
      for (const w of waiters) w();
    }),
  );
  const onData = (chunk: Buffer) => {
    text += plain(chunk.toString('utf8'));
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match) return done(() => resolve(match));
          if (gone) done(() => reject(new Error(`exited before printing ${pattern}:\n${text}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`Timed out after ${ms} ms waiting for ${pattern} in:\n${text}`))), ms);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}
