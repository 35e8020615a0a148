import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript without declarations, shipped as is in the package.
import { generatePlugin, ScaffoldError } from '../libs/wwplugin/scaffold/new-plugin.mjs';

/** The generator's file host over a map of path to text: what a project holds, and what it wrote. */
function project(files: Record<string, string>) {
  const mem = { ...files };
  const host = {
    read: (rel: string) => mem[rel],
    isDir: (rel: string) => Object.keys(mem).some((path) => path.startsWith(`${rel}/`)),
    create: (rel: string, text: string) => {
      if (mem[rel] !== undefined) throw new Error(`${rel} exists`);
      mem[rel] = text;
    },
    overwrite: (rel: string, text: string) => void (mem[rel] = text),
  };
  return { mem, host };
}

const NEST_STARTER = {
  'package.json': JSON.stringify({ devDependencies: { jest: '^30.0.0' } }),
  'nest-cli.json': JSON.stringify({ collection: '@nestjs/schematics', sourceRoot: 'src' }),
  'tsconfig.json': JSON.stringify({ compilerOptions: { outDir: './dist' } }),
  'src/main.ts': '',
};

describe('the plugin generator on the layouts of Nest projects', () => {
  it('a standard project: src/plugins/<name>, nest-cli.json untouched, a jest spec since the project uses jest', () => {
    const { mem, host } = project(NEST_STARTER);
    const result = generatePlugin(host, { name: 'price-feed', description: 'Prices' });
    expect(result.layout).toBe('standard');
    expect(result.entry).toBe('dist/plugins/price-feed/main.js');
    expect(result.files).toEqual([
      'src/plugins/price-feed/main.ts',
      'src/plugins/price-feed/price-feed.module.ts',
      'src/plugins/price-feed/price-feed.functions.ts',
      'src/plugins/price-feed/price-feed.functions.spec.ts',
    ]);
    expect(mem['nest-cli.json']).toBe(NEST_STARTER['nest-cli.json']);
    // Jest's globals: no import from vitest.
    expect(mem['src/plugins/price-feed/price-feed.functions.spec.ts']).not.toContain('vitest');
    expect(mem['src/plugins/price-feed/price-feed.module.ts']).toContain(
      "WwPluginModule.forPlugin({ name: 'price-feed', version: '0.1.0', description: 'Prices' })",
    );
    expect(result.message).toContain("host.load('dist/plugins/price-feed/main.js')");
  });

  it('a Nest monorepo: apps/<name>/src and a project in nest-cli.json, the others kept; vitest spec when the project uses vitest', () => {
    const cli = { monorepo: true, root: 'apps/api', projects: { api: { type: 'application', root: 'apps/api' } } };
    const { mem, host } = project({
      'package.json': JSON.stringify({ devDependencies: { vitest: '^4.0.0' } }),
      'nest-cli.json': JSON.stringify(cli),
      'tsconfig.json': JSON.stringify({ compilerOptions: { rootDir: '.', outDir: 'dist' } }),
      'apps/api/src/main.ts': '',
    });
    const result = generatePlugin(host, { name: 'ledger' });
    expect(result.layout).toBe('monorepo');
    expect(result.entry).toBe('dist/apps/ledger/src/main.js');
    expect(mem['apps/ledger/src/ledger.functions.spec.ts']).toContain("from 'vitest'");
    const written = JSON.parse(mem['nest-cli.json']);
    expect(written.projects.api).toEqual(cli.projects.api);
    expect(written.projects.ledger).toMatchObject({ type: 'application', root: 'apps/ledger', sourceRoot: 'apps/ledger/src', entryFile: 'main' });
  });

  it('no test runner: no spec file; a tsconfig with comments: the default outDir', () => {
    const { mem, host } = project({ 'package.json': '{}', 'tsconfig.json': '{ // comments\n }', 'src/app.module.ts': '' });
    const result = generatePlugin(host, { name: 'weather' });
    expect(result.entry).toBe('dist/plugins/weather/main.js');
    expect(Object.keys(mem).filter((k) => k.endsWith('.spec.ts'))).toEqual([]);
  });

  it('refuses a taken name, an invalid name and an unreadable nest-cli.json, writing nothing', () => {
    const taken = project({ ...NEST_STARTER, 'src/plugins/weather/main.ts': '' });
    expect(() => generatePlugin(taken.host, { name: 'weather' })).toThrow(
      new ScaffoldError('src/plugins/weather already exists: pick another name or delete it first.'),
    );
    const inCli = project({ 'nest-cli.json': JSON.stringify({ monorepo: true, projects: { weather: {} } }) });
    expect(() => generatePlugin(inCli.host, { name: 'weather' })).toThrow('nest-cli.json already has a project "weather".');
    const bad = project(NEST_STARTER);
    expect(() => generatePlugin(bad.host, { name: 'Bad_Name' })).toThrow('"Bad_Name" is not a valid plugin name');
    const broken = project({ ...NEST_STARTER, 'nest-cli.json': '{ oops' });
    expect(() => generatePlugin(broken.host, { name: 'weather' })).toThrow(ScaffoldError);
    for (const p of [taken, inCli, bad, broken]) expect(Object.keys(p.mem).filter((k) => k.includes('weather/') && !k.endsWith('weather/main.ts'))).toEqual([]);
  });
});
