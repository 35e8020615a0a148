#!/usr/bin/env node
// Scaffolds a plugin app: `npm run new-plugin -- <name> [--description <text>] [--root <dir>]`.
// Plain Node, no dependencies, so it runs before anything is installed or built.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = 'Usage: npm run new-plugin -- <name> [--description <text>] [--root <dir>]\n' +
  '  <name>  lower-case words joined by dashes, e.g. "weather" or "price-feed"';
// Names become a directory, a Nest project key and the plugin's wire name: keep them plain.
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Parses argv; returns either the options or an error text. */
export function parseArgs(argv) {
  const opts = { root: fileURLToPath(new URL('..', import.meta.url)), description: '' };
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

/** A single-quoted TypeScript string literal (the repository's style) for any text. */
const quote = (text) => `'${JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
const pascal = (name) => name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');

/** The files of a new plugin app, by path relative to the repository root. */
export function pluginFiles(name, description) {
  const Name = pascal(name);
  const dir = `apps/${name}/src`;
  const desc = description || `The ${name} plugin`;
  return {
    [`${dir}/main.ts`]: `import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs';
import { ${Name}Module } from './${name}.module.js';

// Started by a host (PluginHostService.load), never by hand: the host passes its address and secret.
await bootstrapPlugin(${Name}Module);
`,
    [`${dir}/${name}.module.ts`]: `import { Module } from '@nestjs/common';
import { WwPluginModule } from '@wwplugin/nestjs';
import { ${Name}Functions } from './${name}.functions.js';

@Module({
  imports: [WwPluginModule.forPlugin({ name: ${quote(name)}, version: '0.1.0', description: ${quote(desc)} })],
  providers: [${Name}Functions],
})
export class ${Name}Module {}
`,
    [`${dir}/${name}.functions.ts`]: `import { Injectable } from '@nestjs/common';
import { ParameterType, PluginFunction } from '@wwplugin/nestjs';

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
    [`${dir}/${name}.functions.spec.ts`]: `import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { ${Name}Functions } from './${name}.functions.js';

// A plugin function is a method of a Nest provider: test it without a host or a process.
describe('${Name}Functions', () => {
  it('greets by name', async () => {
    const moduleRef = await Test.createTestingModule({ providers: [${Name}Functions] }).compile();
    const functions = moduleRef.get(${Name}Functions);
    expect(functions.hello({ name: 'Ada' })).toBe('Hello from ${name}, Ada!');
    await moduleRef.close();
  });
});
`,
  };
}

/** Adds the app to nest-cli.json (creating a monorepo config if there is none). */
export function wireIntoNestCli(root, name) {
  const path = join(root, 'nest-cli.json');
  const config = existsSync(path)
    ? JSON.parse(readFileSync(path, 'utf8'))
    : { $schema: 'https://json.schemastore.org/nest-cli', collection: '@nestjs/schematics', monorepo: true, projects: {} };
  config.projects ??= {};
  if (config.projects[name]) throw new Error(`nest-cli.json already has a project "${name}".`);
  config.projects[name] = {
    type: 'application',
    root: `apps/${name}`,
    entryFile: 'main',
    sourceRoot: `apps/${name}/src`,
    compilerOptions: { tsConfigPath: 'tsconfig.json' },
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
}

function main(argv) {
  const opts = parseArgs(argv);
  if (opts.help) return console.log(USAGE), 0;
  if (opts.error) return console.error(`${opts.error}\n${USAGE}`), 2;
  const appDir = join(opts.root, 'apps', opts.name);
  if (existsSync(appDir)) return console.error(`apps/${opts.name} already exists: pick another name or delete it first.`), 1;
  try {
    // Check nest-cli.json before writing any file so a failure leaves nothing half made.
    const cli = join(opts.root, 'nest-cli.json');
    if (existsSync(cli) && JSON.parse(readFileSync(cli, 'utf8')).projects?.[opts.name]) {
      return console.error(`nest-cli.json already has a project "${opts.name}".`), 1;
    }
    const files = pluginFiles(opts.name, opts.description);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(opts.root, rel, '..'), { recursive: true });
      writeFileSync(join(opts.root, rel), text, { flag: 'wx' });
    }
    wireIntoNestCli(opts.root, opts.name);
    console.log(`Created plugin "${opts.name}":`);
    for (const rel of Object.keys(files)) console.log(`  ${rel}`);
    console.log('  nest-cli.json (project added)');
    const entry = relative(process.cwd(), join(opts.root, 'dist', 'apps', opts.name, 'src', 'main.js')) || '.';
    console.log(`\nBuild with \`npm run build\`, then load it from a host: host.load('${entry}').`);
    return 0;
  } catch (err) {
    console.error(`Could not create plugin "${opts.name}": ${err.message}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
