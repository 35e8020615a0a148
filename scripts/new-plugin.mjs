#!/usr/bin/env node
// Scaffolds a plugin app in this repository: `npm run new-plugin -- <name> [--description <text>]`.
// The implementation is the package's own (`npx @wwplugin/nestjs new-plugin`), run on this repo.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newPlugin } from '../libs/wwplugin/scaffold/new-plugin.mjs';

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = newPlugin(process.argv.slice(2), { command: 'npm run new-plugin --', root: fileURLToPath(new URL('..', import.meta.url)) });
}
