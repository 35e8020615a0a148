// Scaffolds a plugin app in a Nest project: the one implementation behind the package's
// `npx @wwplugin/nestjs new-plugin <name>`, its schematic (`nest g -c @wwplugin/nestjs plugin <name>`)
// and this repository's `npm run new-plugin -- <name>`. Plain Node, no dependencies, so it runs
// before anything is installed or built. It reads and writes through a small file host: the disk
// for the command line, the schematic's Tree for Nest's CLI.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';

// Names become a directory, a Nest project key and the plugin's wire name: keep them plain.
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The usage text, led by the command the user typed. */
export const usage = (command) =>
  `Usage: ${command} <name> [--description <text>] [--root <dir>]\n` +
  '  <name>  lower-case words joined by dashes, e.g. "weather" or "price-feed"\n' +
  '  --root  the Nest project (default: the current directory)';

/** Parses argv; returns either the options or an error text. `root` is the default project. */
export function parseArgs(argv, root = process.cwd()) {
  const opts = { root, description: '' };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg === '--root' || arg === '--description') {
      if (i + 1 >= argv.length) return { error: `${arg} needs a value.` };
      opts[arg.slice(2)] = argv[++i];
    } else if (arg.startsWith('--')) {
      return { error: `Unknown option ${arg}.` };
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) return { error: 'Give exactly one plugin name.' };
  const [name] = positional;
  if (!NAME.test(name)) return { error: `"${name}" is not a valid plugin name: use lower-case letters, digits and dashes, starting with a letter.` };
  return { ...opts, name, root: resolve(opts.root) };
}

/** The project's files on disk, by path relative to `root` ('/'-separated). */
export function diskFiles(root) {
  const abs = (rel) => join(root, rel);
  return {
    read: (rel) => (existsSync(abs(rel)) && statSync(abs(rel)).isFile() ? readFileSync(abs(rel), 'utf8') : undefined),
    isDir: (rel) => existsSync(abs(rel)) && statSync(abs(rel)).isDirectory(),
    create: (rel, text) => {
      mkdirSync(dirname(abs(rel)), { recursive: true });
      writeFileSync(abs(rel), text, { flag: 'wx' });
    },
    overwrite: (rel, text) => writeFileSync(abs(rel), text),
  };
}

/** A JSON file's content; undefined when it is missing or not plain JSON (a tsconfig with comments). */
function readJson(files, rel) {
  const text = files.read(rel);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Where the plugin goes in this project. A Nest monorepo (nest-cli.json `monorepo: true`, or an
 * apps/ folder and no nest-cli.json) gets an app of its own in apps/<name>, added to nest-cli.json;
 * a standard project (src/, one app) gets src/plugins/<name>, which its own build already compiles.
 */
export function detectLayout(files) {
  const cli = readJson(files, 'nest-cli.json');
  const monorepo = cli ? cli.monorepo === true : files.isDir('apps') || !files.isDir('src');
  if (monorepo) return { kind: 'monorepo', cli };
  return { kind: 'standard', sourceRoot: cli?.sourceRoot ?? 'src' };
}

/** The test runner the project already uses, for the generated unit test; none: no test file. */
export function detectTestRunner(files) {
  const pkg = readJson(files, 'package.json') ?? {};
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  if (deps.vitest) return 'vitest';
  if (deps.jest) return 'jest';
  return undefined;
}

/** A single-quoted TypeScript string literal for any text. */
const quote = (text) => `'${JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
const pascal = (name) =>
  name
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');

/** The source folder of the new plugin, relative to the project root. */
export function pluginDir(layout, name) {
  return layout.kind === 'monorepo' ? `apps/${name}/src` : `${layout.sourceRoot}/plugins/${name}`;
}

/** The files of a new plugin app, by path relative to the project root; a unit test only for a known `testRunner`. */
export function pluginFiles(name, description, { dir = `apps/${name}/src`, testRunner } = {}) {
  const Name = pascal(name);
  const desc = description || `The ${name} plugin`;
  const files = {
    [`${dir}/main.ts`]: `import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs/plugin';
import { ${Name}Module } from './${name}.module.js';

// Started by a host (PluginHostService.load), never by hand: the host passes its address and secret.
await bootstrapPlugin(${Name}Module);
`,
    [`${dir}/${name}.module.ts`]: `import { Module } from '@nestjs/common';
import { WwPluginModule } from '@wwplugin/nestjs/plugin';
import { ${Name}Functions } from './${name}.functions.js';

@Module({
  imports: [WwPluginModule.forPlugin({ name: ${quote(name)}, version: '0.1.0', description: ${quote(desc)} })],
  providers: [${Name}Functions],
})
export class ${Name}Module {}
`,
    [`${dir}/${name}.functions.ts`]: `import { Injectable } from '@nestjs/common';
import { ParameterType, PluginFunction } from '@wwplugin/nestjs/plugin';

/** The ${name} plugin's API as callers see it: \`host.plugin<${Name}Api>(${quote(name)}).hello({ name })\`. */
export interface ${Name}Api {
  hello(args: { name: string }): string;
}

@Injectable()
export class ${Name}Functions implements ${Name}Api {
  /** Declared params are checked before this runs: a call without a string \`name\` is refused with InvalidArgumentError. */
  @PluginFunction({ description: 'Greets by name', params: { name: ParameterType.STRING } })
  hello({ name }: { name: string }): string {
    return \`Hello from ${name}, \${name}!\`;
  }
}
`,
  };
  if (testRunner) {
    // Jest provides describe/it/expect as globals; vitest imports them.
    const imports = testRunner === 'vitest' ? "import { describe, expect, it } from 'vitest';\n" : '';
    files[`${dir}/${name}.functions.spec.ts`] = `import 'reflect-metadata';
import { Test } from '@nestjs/testing';
${imports}import { ${Name}Functions } from './${name}.functions.js';

// A plugin function is a method of a Nest provider: test it without a host or a process.
describe('${Name}Functions', () => {
  it('greets by name', async () => {
    const moduleRef = await Test.createTestingModule({ providers: [${Name}Functions] }).compile();
    const functions = moduleRef.get(${Name}Functions);
    expect(functions.hello({ name: 'Ada' })).toBe('Hello from ${name}, Ada!');
    await moduleRef.close();
  });
});
`;
  }
  return files;
}

/** Adds the app to nest-cli.json (creating a monorepo config if there is none). */
export function wireIntoNestCli(files, name) {
  const existing = readJson(files, 'nest-cli.json');
  const config = existing ?? { $schema: 'https://json.schemastore.org/nest-cli', collection: '@nestjs/schematics', monorepo: true, projects: {} };
  config.projects ??= {};
  if (config.projects[name]) throw new ScaffoldError(`nest-cli.json already has a project "${name}".`);
  config.projects[name] = {
    type: 'application',
    root: `apps/${name}`,
    entryFile: 'main',
    sourceRoot: `apps/${name}/src`,
    compilerOptions: { tsConfigPath: 'tsconfig.json' },
  };
  const text = `${JSON.stringify(config, null, 2)}\n`;
  if (existing) files.overwrite('nest-cli.json', text);
  else files.create('nest-cli.json', text);
}

/** Where the build puts the entry, from the project's tsconfig (outDir, rootDir): what a host loads. */
export function builtEntry(files, dir) {
  const tsconfig = readJson(files, 'tsconfig.json')?.compilerOptions ?? {};
  const outDir = tsconfig.outDir ?? 'dist';
  // A Nest project compiles src/ to outDir with src/ dropped; a repository-wide rootDir keeps it.
  const rootDir = tsconfig.rootDir ?? (dir.startsWith('src/') ? 'src' : '.');
  return posix.join(outDir.replace(/^\.\//, ''), posix.relative(rootDir, dir), 'main.js');
}

/** A refusal the user can act on (the name is taken); nothing was written. */
export class ScaffoldError extends Error {}

/**
 * Creates the plugin `name` in the project behind `files`. Checks everything before writing, so a
 * refusal leaves nothing half made. Returns what it did and what to tell the user.
 */
export function generatePlugin(files, { name, description = '' }) {
  if (!NAME.test(name ?? ''))
    throw new ScaffoldError(`"${name}" is not a valid plugin name: use lower-case letters, digits and dashes, starting with a letter.`);
  if (files.read('nest-cli.json') !== undefined && !readJson(files, 'nest-cli.json')) throw new ScaffoldError('nest-cli.json is not valid JSON: fix it first.');
  const layout = detectLayout(files);
  const dir = pluginDir(layout, name);
  const appDir = layout.kind === 'monorepo' ? `apps/${name}` : dir;
  if (files.isDir(appDir)) throw new ScaffoldError(`${appDir} already exists: pick another name or delete it first.`);
  if (layout.kind === 'monorepo' && layout.cli?.projects?.[name]) throw new ScaffoldError(`nest-cli.json already has a project "${name}".`);
  const created = pluginFiles(name, description, { dir, testRunner: detectTestRunner(files) });
  for (const [rel, text] of Object.entries(created)) files.create(rel, text);
  if (layout.kind === 'monorepo') wireIntoNestCli(files, name);
  const entry = builtEntry(files, dir);
  const lines = [`Created plugin "${name}":`, ...Object.keys(created).map((rel) => `  ${rel}`)];
  lines.push(layout.kind === 'monorepo' ? '  nest-cli.json (project added)' : `  (inside ${layout.sourceRoot}/: the app's own build compiles it)`);
  lines.push('', 'Build with `npm run build`, then load it from a host:', `  WwPluginModule.forRoot({ plugins: ['${entry}'] })   or   host.load('${entry}')`);
  return { layout: layout.kind, files: Object.keys(created), entry, message: lines.join('\n') };
}

/** The command line: creates the plugin on disk; returns the exit code. `command` names it in the usage text. */
export function newPlugin(argv, { command = 'npx @wwplugin/nestjs new-plugin', root, log = console.log, error = console.error } = {}) {
  const opts = parseArgs(argv, root);
  if (opts.help) return (log(usage(command)), 0);
  if (opts.error) return (error(`${opts.error}\n${usage(command)}`), 2);
  try {
    log(generatePlugin(diskFiles(opts.root), opts).message);
    return 0;
  } catch (err) {
    error(err instanceof ScaffoldError ? err.message : `Could not create plugin "${opts.name}": ${err.message}`);
    return 1;
  }
}
