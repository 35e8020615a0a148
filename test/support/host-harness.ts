import 'reflect-metadata';
import { Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PluginHostService, WwPluginModule, type PluginSpec, type WwPluginHostOptions } from '@wwplugin/nestjs';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, filter, timeout, type Observable, take, toArray } from 'rxjs';

/** Root of the repository. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Built entry of the fixture plugin (one plugin, many behaviours chosen by FIXTURE_MODE). */
export const FIXTURE_PLUGIN = `${ROOT}dist/test/fixtures/plugin/main.js`;
/** Built entries of the example apps. */
export const APP = (name: string) => `${ROOT}dist/apps/${name}/src/main.js`;

/** A fixture plugin spec: `name` becomes the plugin's name, `mode` selects behaviours (comma list). */
export function fixture(name: string, mode = '', extra: Partial<PluginSpec> = {}): PluginSpec {
  return { path: FIXTURE_PLUGIN, ...extra, env: { FIXTURE_NAME: name, FIXTURE_MODE: mode, ...extra.env } };
}

export interface TestHost {
  app: INestApplicationContext;
  host: PluginHostService;
  close(): Promise<void>;
}

/**
 * Boots a host Nest application context with WwPluginModule.forRoot(options) plus extra providers
 * or modules (host functions, controllers). Always close it: that stops every plugin.
 */
export async function startHost(options: WwPluginHostOptions = {}, extra: { providers?: Type[]; imports?: Type[] } = {}): Promise<TestHost> {
  @Module({ imports: [WwPluginModule.forRoot(options), ...(extra.imports ?? [])], providers: extra.providers ?? [] })
  class TestHostModule {}
  const app = await NestFactory.createApplicationContext(TestHostModule, { logger: process.env.TEST_LOGS ? undefined : ['error'] });
  const host = app.get(PluginHostService);
  return { app, host, close: () => app.close() };
}

/** Waits for the first value matching `predicate`, failing after `ms`. Never a fixed sleep. */
export function waitFor<T>(source: Observable<T>, predicate: (v: T) => boolean = () => true, ms = 10_000): Promise<T> {
  return firstValueFrom(source.pipe(filter(predicate), timeout({ first: ms })));
}

/** Collects the first `count` values, failing after `ms`. */
export function collect<T>(source: Observable<T>, count: number, ms = 10_000): Promise<T[]> {
  return firstValueFrom(source.pipe(take(count), toArray(), timeout({ first: ms })));
}

/** Polls `check` until it returns true (for facts no event announces, like a PID vanishing). */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True while a process with this PID exists (and is not a zombie we reaped). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
