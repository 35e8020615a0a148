import 'reflect-metadata';
import * as main from '@wwplugin/nestjs';
import * as pluginEntry from '@wwplugin/nestjs/plugin';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, FIXTURE_PLUGIN, startHost, type TestHost } from './support/host-harness.js';

describe("'@wwplugin/nestjs/plugin': a plugin's entry point without the host's side", () => {
  let t: TestHost;
  let dir: string;

  beforeAll(async () => {
    t = await startHost();
    // A module hook that writes down every module the plugin process loads.
    dir = mkdtempSync(join(tmpdir(), 'wwplugin-entry-'));
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_FILE, url + '\\n');
  return next(url, context);
}\n`,
    );
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
  });

  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Loads `entry` with the hook, calls `fn`, and returns the answer and the modules its process loaded. */
  async function loadWatched(name: string, entry: string, fn: string, args: unknown, env: Record<string, string> = {}) {
    const loadedFile = join(dir, `${name}.txt`);
    await t.host.load({ name, command: process.execPath, args: ['--import', join(dir, 'register.mjs'), entry], env: { ...env, LOADED_FILE: loadedFile } });
    const answer = await t.host.call(name, fn, args);
    await t.host.unload(name);
    return { answer, loaded: readFileSync(loadedFile, 'utf8').trim().split('\n') };
  }
  const hostSide = (urls: string[]) => urls.filter((u) => /\/libs\/wwplugin\/dist\/(host|admin|http)\/|@opentelemetry\/api/.test(u));
  // The package's index and what only it brings: every transport's server and client (Kafka, MQTT, gRPC...).
  const microserviceTransports = (urls: string[]) => urls.filter((u) => /@nestjs\/microservices\/(index\.js|server\/server-|client\/client-)/.test(u));

  it("exports the main entry point's own classes and functions (one implementation)", () => {
    const names = Object.keys(pluginEntry);
    expect(names).toEqual(expect.arrayContaining(['WwPluginModule', 'bootstrapPlugin', 'PluginFunction', 'OnPush', 'PluginContext', 'WwPluginCallContext']));
    for (const name of names) expect((main as Record<string, unknown>)[name], name).toBe((pluginEntry as Record<string, unknown>)[name]);
  });

  it("a plugin importing it serves calls, and its process never loads the host's modules, @opentelemetry/api nor Nest's transports", async () => {
    const { answer, loaded } = await loadWatched('echo', APP('echo'), 'greet', { name: 'entry' });
    expect(answer).toBe('Hello, entry');
    expect(loaded.some((u) => u.endsWith('/libs/wwplugin/dist/plugin/index.js'))).toBe(true);
    expect(hostSide(loaded)).toEqual([]);
    // A plugin is a Nest application context, not a microservice: the base classes it serves
    // through are loaded alone, not @nestjs/microservices' index with every transport.
    expect(loaded.some((u) => u.endsWith('/@nestjs/microservices/server/server.js'))).toBe(true);
    expect(microserviceTransports(loaded)).toEqual([]);
  }, 30_000);

  it('a plugin importing the main entry point loads them (what the checks above would see)', async () => {
    const { answer, loaded } = await loadWatched('fixture', FIXTURE_PLUGIN, 'echo', { value: 1 }, { FIXTURE_NAME: 'fixture', FIXTURE_MODE: '' });
    expect(answer).toBe(1);
    expect(hostSide(loaded).length).toBeGreaterThan(0);
    // The fixture's controllers import @MessagePattern from the package: its index comes with them.
    expect(microserviceTransports(loaded).length).toBeGreaterThan(0);
  }, 30_000);
});
