import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@wwplugin/nestjs';
import { ROOT, startHost, type TestHost } from './support/host-harness.js';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');
const NAME = 'weather-station';

/** Runs a command, resolving with its exit code and output instead of throwing on failure. */
async function sh(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/**
 * A temporary copy of the repository's skeleton (configs and the generator), with node_modules and
 * libs linked to the real ones: the plugin is generated and built there, never in the real apps/.
 */
function repoCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-scaffold-'));
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.base.json', 'nest-cli.json', 'scripts/new-plugin.mjs']) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  symlinkSync(join(ROOT, 'libs'), join(dir, 'libs'), 'dir');
  return dir;
}

describe('scaffolding a plugin (npm run new-plugin)', () => {
  let dir: string;
  let generated: { code: number; out: string };
  let t: TestHost | undefined;

  beforeAll(async () => {
    dir = repoCopy();
    generated = await sh(process.execPath, ['scripts/new-plugin.mjs', NAME, '--description', 'Reports the weather'], dir);
  }, 30_000);

  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the app files and wires the project into nest-cli.json', () => {
    expect(generated.code, generated.out).toBe(0);
    for (const file of ['main.ts', `${NAME}.module.ts`, `${NAME}.functions.ts`, `${NAME}.functions.spec.ts`]) {
      expect(existsSync(join(dir, 'apps', NAME, 'src', file)), file).toBe(true);
    }
    const module = readFileSync(join(dir, 'apps', NAME, 'src', `${NAME}.module.ts`), 'utf8');
    expect(module).toContain(`WwPluginModule.forPlugin({ name: '${NAME}', version: '0.1.0', description: 'Reports the weather' })`);
    expect(readFileSync(join(dir, 'apps', NAME, 'src', `${NAME}.functions.ts`), 'utf8')).toContain('@PluginFunction(');

    const cli = JSON.parse(readFileSync(join(dir, 'nest-cli.json'), 'utf8'));
    expect(cli.monorepo).toBe(true);
    expect(cli.projects[NAME]).toMatchObject({ type: 'application', root: `apps/${NAME}`, sourceRoot: `apps/${NAME}/src`, entryFile: 'main' });
    // The projects that were there stay there.
    expect(Object.keys(cli.projects)).toEqual(expect.arrayContaining(['demo-host', 'echo', 'relay', 'ticker', 'wwplugin', NAME]));
    expect(cli.projects.wwplugin).toMatchObject({ type: 'library', root: 'libs/wwplugin' });
  });

  it('refuses a name that exists and a name that is not valid, changing nothing', async () => {
    const before = readFileSync(join(dir, 'nest-cli.json'), 'utf8');
    const again = await sh(process.execPath, ['scripts/new-plugin.mjs', NAME], dir);
    expect(again.code).toBe(1);
    expect(again.out).toContain(`apps/${NAME} already exists`);
    const bad = await sh(process.execPath, ['scripts/new-plugin.mjs', 'Bad_Name'], dir);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('"Bad_Name" is not a valid plugin name');
    expect(existsSync(join(dir, 'apps', 'Bad_Name'))).toBe(false);
    const none = await sh(process.execPath, ['scripts/new-plugin.mjs'], dir);
    expect(none.code).toBe(2);
    expect(none.out).toContain('Usage: npm run new-plugin');
    expect(readFileSync(join(dir, 'nest-cli.json'), 'utf8')).toBe(before);
  }, 30_000);

  it('builds with the repository tsconfig', async () => {
    const build = await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
    expect(build.code, build.out).toBe(0);
    expect(existsSync(join(dir, 'dist', 'apps', NAME, 'src', 'main.js'))).toBe(true);
    // The build leaves unit tests out; they must type-check all the same.
    writeFileSync(
      join(dir, 'tsconfig.spec.json'),
      JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true, incremental: false }, include: ['apps/**/*.ts'], exclude: [] }),
    );
    const check = await sh(process.execPath, [TSC, '-p', 'tsconfig.spec.json'], dir);
    expect(check.code, check.out).toBe(0);
  }, 60_000);

  it('comes with a unit test that passes', async () => {
    const spec = `apps/${NAME}/src/${NAME}.functions.spec.ts`;
    // The repository's vitest config (decorator metadata for Nest DI), made to find apps' unit tests.
    writeFileSync(
      join(dir, 'vitest.config.ts'),
      `import { mergeConfig } from 'vitest/config';\nimport base from ${JSON.stringify(join(ROOT, 'vitest.config.ts'))};\n` +
        `export default mergeConfig(base, { test: { include: ['apps/**/*.spec.ts'] } });\n`,
    );
    const result = await sh(process.execPath, [VITEST, 'run', '--root', dir, '--config', join(dir, 'vitest.config.ts'), '--dir', dir, spec], dir);
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/1 passed/);
  }, 60_000);

  it('loads in a host and answers its function, plainly and through a typed client', async () => {
    t = await startHost();
    const info = await t.host.load({ path: join(dir, 'dist', 'apps', NAME, 'src', 'main.js'), name: NAME });
    expect(info).toMatchObject({ name: NAME, version: '0.1.0', description: 'Reports the weather', state: 'running' });
    expect(info.functions).toEqual(['hello']);

    expect(await t.host.call(NAME, 'hello', { name: 'Ada' })).toBe(`Hello from ${NAME}, Ada!`);
    const client = t.host.plugin<{ hello(args: { name: string }): string }>(NAME);
    expect(await client.hello({ name: 'Grace' })).toBe(`Hello from ${NAME}, Grace!`);
    // The declared parameter type is enforced.
    await expect(t.host.call(NAME, 'hello', { name: 7 })).rejects.toBeInstanceOf(InvalidArgumentError);
  }, 60_000);
});
