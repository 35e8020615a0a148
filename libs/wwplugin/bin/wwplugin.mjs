#!/usr/bin/env node
// The package's command line: `npx @wwplugin/nestjs new-plugin <name>` in a Nest project.
import { newPlugin } from '../scaffold/new-plugin.mjs';

const COMMANDS = 'Commands:\n  new-plugin <name>   create a plugin app in this Nest project (--help for its options)';
const [command, ...rest] = process.argv.slice(2);
if (command === 'new-plugin') {
  process.exitCode = newPlugin(rest, { command: 'npx @wwplugin/nestjs new-plugin' });
} else if (!command || command === '--help' || command === '-h') {
  console.log(`Usage: npx @wwplugin/nestjs <command>\n${COMMANDS}`);
} else {
  console.error(`Unknown command "${command}".\n${COMMANDS}`);
  process.exitCode = 2;
}
