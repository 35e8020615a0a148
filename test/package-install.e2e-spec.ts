import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedProject, result, sh, type PackedProject } from './support/packed-project.js';

/** Nest's CLI, for `nest g -c @wwplugin/nestjs plugin <name>`: a Nest project has it already. */
const NEST_CLI = '@nestjs/cli@12.0.8';

/** A host and a plugin as a user writes them, in their own project. */
const PLUGIN = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { bootstrapPlugin, OnPush, PluginContext, PluginFunction, WwPluginModule } from '@wwplugin/nestjs/plugin';
import { interval, map, take } from 'rxjs';

@Injectable()
class ShopFunctions {
  constructor(private readonly ctx: PluginContext) {}
  @PluginFunction() async total(args: { ids: number[] }) { return this.ctx.callHost<number>('sum', args); }
  @PluginFunction() count({ to }: { to: number }) { return interval(5).pipe(take(to), map((n) => n + 1)); }
  @PluginFunction({ stream: true }) *rows({ n }: { n: number }) { for (let i = 0; i < n; i++) yield i; }
  @OnPush('ping') ping(payload: { n: number }) { this.ctx.emit('pong', { n: payload.n * 2 }); }
}

@Module({ imports: [WwPluginModule.forPlugin({ name: 'shop', version: '1.0.0' })], providers: [ShopFunctions] })
class ShopModule {}

await bootstrapPlugin(ShopModule);
`;

const HOST = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HostFunction, PluginHostService, PluginMetrics, WwPluginModule } from '@wwplugin/nestjs';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';

@Injectable()
class MathFunctions {
  @HostFunction() sum({ ids }: { ids: number[] }) { return ids.reduce((a, b) => a + b, 0); }
}

// Mutual TLS ('auto') too: its certificates come from the package's own dependency; metrics from prom-client, loaded on demand.
@Module({ imports: [WwPluginModule.forRoot({ port: 0, tls: { mode: 'auto' }, metrics: true })], providers: [MathFunctions] })
class HostModule {}

const app = await NestFactory.createApplicationContext(HostModule, { logger: ['log', 'warn', 'error'] });
const host = app.get(PluginHostService);
const out: Record<string, unknown> = {};
try {
  const [mode, ...entries] = process.argv.slice(2);
  if (mode === 'tour') {
    await host.load({ path: 'dist/plugin.js' });
    out.call = await host.call('shop', 'total', { ids: [1, 2, 3] });
    out.stream = await firstValueFrom(host.stream('shop', 'count', { to: 3 }).pipe(toArray(), timeout(10_000)));
    // A generator, pulled with for await: the plugin is paused by credit while the loop is slow.
    let pulled = 0;
    for await (const row of host.iterate<number>('shop', 'rows', { n: 500 })) {
      if (row !== pulled) break;
      pulled += 1;
      if (pulled % 100 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    out.pulled = pulled;
    const pong = firstValueFrom(host.messages('pong').pipe(take(1), timeout(10_000)));
    out.pushed = host.push('shop', 'ping', { n: 21 });
    out.push = (await pong).payload;
    // Two sandboxed instances: the read paths worked out for a project outside the repository.
    await host.unload('shop');
    await host.load({ path: 'dist/plugin.js', instances: 2, sandbox: true });
    out.sandboxed = await Promise.all([1, 2, 3, 4].map((n) => host.call('shop', 'total', { ids: [n, n] })));
    out.instances = host.list().filter((p) => p.name === 'shop').map((p) => [p.instance, p.instances, p.state]);
    const text = await app.get(PluginMetrics).metrics();
    out.metered = /wwplugin_calls_total[{][^}]*plugin="shop"[^}]*function="total"[^}]*[}] [1-9]/.test(text);
    // host.prewarm(spec): the next load() of that spec runs in the process readied for it.
    await host.unload('shop');
    out.prewarm = await host.prewarm({ path: 'dist/plugin.js' });
    const warmed = host.spares().find((s) => s.prewarmed)?.pid;
    const loaded = await host.load({ path: 'dist/plugin.js' });
    out.prewarmedLoad = [loaded.pid === warmed, await host.call('shop', 'total', { ids: [5] })];
  } else {
    for (const path of entries) {
      const info = await host.load({ path });
      out[info.name] = await host.call(info.name, 'hello', { name: 'Ada' });
    }
  }
} catch (err) {
  out.error = (err as Error).message;
} finally {
  await app.close();
}
console.log('RESULT ' + JSON.stringify(out));
`;

describe('the packed package, installed in a project outside the repository', () => {
  let packed: PackedProject;
  let project: string;
  let installed: { code: number; out: string };
  const tsc = () => packed.tsc();

  beforeAll(async () => {
    // npm pack runs the package's prepack (the build), as from a fresh clone; then the README's
    // install line with the tarball in place of the registry's package.
    packed = await packedProject('package', [NEST_CLI]);
    project = packed.dir;
    installed = packed.installed;
  }, 300_000);

  afterAll(() => packed?.remove());

  it('ships the built library, its types, the proto, README and LICENSE, and nothing else', () => {
    const files = [...packed.files].sort();
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/health/index.js',
      'dist/plugin/index.js',
      'dist/plugin/index.d.ts',
      'dist/proto/wwplugin/v1/wwplugin.proto',
      // The plugins page's files, read at run time by WwPluginAdminModule.
      'dist/admin/page/index.html',
      'dist/admin/page/admin-page.js',
      'dist/admin/page/admin-page.css',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'package.json',
      'bin/wwplugin.mjs',
      'scaffold/new-plugin.mjs',
      'schematics/collection.json',
      'schematics/plugin/index.cjs',
      'schematics/plugin/schema.json',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => !/^(dist\/|bin\/|scaffold\/|schematics\/|README\.md$|LICENSE$|CHANGELOG\.md$|package\.json$)/.test(f))).toEqual([]);
    expect(files.filter((f) => /tsbuildinfo|\.spec\.|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs with the README line, its manifest declaring ranges, engines and peers', () => {
    expect(installed.code, installed.out).toBe(0);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/@wwplugin/nestjs/package.json'), 'utf8'));
    expect(pkg.engines.node).toBe('^22.12.0 || >=24.0.0');
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@grpc/grpc-js', '@peculiar/x509', 'prom-client']);
    for (const range of [...Object.values(pkg.dependencies), ...Object.values(pkg.peerDependencies)] as string[]) expect(range).toMatch(/^\^/);
    expect(pkg.peerDependencies['@nestjs/core']).toBe('^12.0.0');
    expect(pkg.dependencies['node-forge']).toBeUndefined();
  });

  it('source maps carry their sources (the package ships no .ts)', () => {
    const dir = join(project, 'node_modules/@wwplugin/nestjs/dist/host');
    const maps = readdirSync(dir).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(3);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(join(dir, map), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
      expect(parsed.sourcesContent![0].length, map).toBeGreaterThan(0);
    }
  });

  it("compiles a host and a plugin with the README's tsconfig, then a call, a stream and a push cross; sandboxed instances serve, metered; a prewarmed spare serves a load()", async () => {
    writeFileSync(join(project, 'src/plugin.ts'), PLUGIN);
    writeFileSync(join(project, 'src/host.ts'), HOST);
    const build = await tsc();
    expect(build.code, build.out).toBe(0);
    const tour = await sh(process.execPath, ['dist/host.js', 'tour'], project, 60_000);
    expect(tour.code, tour.out).toBe(0);
    expect(result(tour.out)).toEqual({
      call: 6,
      stream: [1, 2, 3],
      pulled: 500,
      pushed: 1,
      push: { n: 42 },
      sandboxed: [2, 4, 6, 8],
      instances: [
        [0, 2, 'running'],
        [1, 2, 'running'],
      ],
      metered: true,
      prewarm: true,
      prewarmedLoad: [true, 5],
    });
    // Over TLS, yet no plugin warns that its TLS server name is an IP address.
    expect(tour.out).not.toMatch(/DEP0123|DeprecationWarning/);
  }, 120_000);

  it('scaffolds plugins with npx @wwplugin/nestjs new-plugin and nest g -c @wwplugin/nestjs plugin; the build compiles them and a host calls them', async () => {
    const made = await sh('npx', ['@wwplugin/nestjs', 'new-plugin', 'weather', '--description', 'Reports the weather'], project, 60_000);
    expect(made.code, made.out).toBe(0);
    expect(made.out).toContain("WwPluginModule.forRoot({ plugins: ['dist/plugins/weather/main.js'] })");
    expect(existsSync(join(project, 'src/plugins/weather/weather.module.ts'))).toBe(true);
    // No test runner in this project: no spec file it could not compile.
    expect(existsSync(join(project, 'src/plugins/weather/weather.functions.spec.ts'))).toBe(false);
    // The same generator as a schematic, run by Nest's own CLI.
    const generated = await sh('npx', ['nest', 'g', '-c', '@wwplugin/nestjs', 'plugin', 'ledger'], project, 90_000);
    expect(generated.out).toMatch(/CREATE src\/plugins\/ledger\/main\.ts/);
    expect(generated.out).toContain("host.load('dist/plugins/ledger/main.js')");
    // Nest's CLI exits 0 even when a schematic fails: the refusal is in what it prints.
    const again = await sh('npx', ['nest', 'g', '-c', '@wwplugin/nestjs', 'plugin', 'ledger'], project, 90_000);
    expect(again.out).toContain('src/plugins/ledger already exists');

    const build = await tsc();
    expect(build.code, build.out).toBe(0);
    const called = await sh(process.execPath, ['dist/host.js', 'load', 'dist/plugins/weather/main.js', 'dist/plugins/ledger/main.js'], project, 60_000);
    expect(called.code, called.out).toBe(0);
    expect(result(called.out)).toEqual({ weather: 'Hello from weather, Ada!', ledger: 'Hello from ledger, Ada!' });
  }, 240_000);

  it('scaffolds into a Nest monorepo layout: apps/<name> and a nest-cli.json project', async () => {
    writeFileSync(
      join(project, 'nest-cli.json'),
      JSON.stringify({ monorepo: true, root: 'apps/api', projects: { api: { type: 'application', root: 'apps/api' } } }),
    );
    try {
      const made = await sh('npx', ['@wwplugin/nestjs', 'new-plugin', 'prices'], project, 60_000);
      expect(made.code, made.out).toBe(0);
      expect(existsSync(join(project, 'apps/prices/src/main.ts'))).toBe(true);
      const cli = JSON.parse(readFileSync(join(project, 'nest-cli.json'), 'utf8'));
      expect(Object.keys(cli.projects)).toEqual(['api', 'prices']);
      expect(cli.projects.prices).toMatchObject({ type: 'application', root: 'apps/prices', sourceRoot: 'apps/prices/src', entryFile: 'main' });
      const again = await sh('npx', ['@wwplugin/nestjs', 'new-plugin', 'prices'], project, 60_000);
      expect(again.code).toBe(1);
      expect(again.out).toContain('apps/prices already exists');
    } finally {
      rmSync(join(project, 'nest-cli.json'));
      rmSync(join(project, 'apps'), { recursive: true, force: true });
    }
  }, 120_000);

  it("reads no .proto at run time: neither a decoy in the consumer's project nor its own shipped one", async () => {
    // The frame codec is written by hand: the shipped .proto is for plugins in other languages only.
    // A decoy where an old fallback led (four levels up from dist/protocol), and the package's own moved away.
    mkdirSync(join(project, 'node_modules/proto/wwplugin/v1'), { recursive: true });
    writeFileSync(join(project, 'node_modules/proto/wwplugin/v1/wwplugin.proto'), 'syntax = "proto3"; package decoy;');
    const own = join(project, 'node_modules/@wwplugin/nestjs/dist/proto');
    renameSync(own, `${own}.away`);
    try {
      const tour = await sh(process.execPath, ['dist/host.js', 'tour'], project, 60_000);
      expect(tour.code, tour.out).toBe(0);
      expect(result(tour.out)).toMatchObject({ call: 6, stream: [1, 2, 3], push: { n: 42 } });
    } finally {
      renameSync(`${own}.away`, own);
    }
  }, 60_000);
});
