import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginFunctionError, UnknownFunctionError } from '@wwplugin/nestjs';
import type { EchoApi } from '../apps/echo/src/echo.functions.js';
import { APP, ROOT, startHost, type TestHost } from './support/host-harness.js';

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const CHECK = join(ROOT, 'test/types/typed-client.check.ts');

async function tsc(project: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', project, '--pretty', 'false']);
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('typed clients: the types bite', () => {
  it('compiles test/types/typed-client.check.ts: every @ts-expect-error meets a type error', async () => {
    const result = await tsc(join(ROOT, 'test/types/tsconfig.json'));
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it('without the @ts-expect-error lines, each marked line is a compile error', async () => {
    // The same file with the directives blanked out (line numbers kept) must fail exactly on the
    // lines after each directive: proof the check file is not vacuous.
    const lines = readFileSync(CHECK, 'utf8').split('\n');
    const expected = new Set<number>();
    const stripped = lines.map((line, i) => {
      if (!line.trim().startsWith('// @ts-expect-error')) return line;
      expected.add(i + 2);
      return '';
    });
    expect(expected.size).toBeGreaterThan(10);
    const dir = mkdtempSync(join(ROOT, 'test/types/.tmp-'));
    try {
      writeFileSync(join(dir, 'typed-client.check.ts'), stripped.join('\n').replaceAll("'../../apps/", "'../../../apps/"));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { rootDir: '../../..' }, include: ['typed-client.check.ts'] }),
      );
      const result = await tsc(join(dir, 'tsconfig.json'));
      expect(result.code).not.toBe(0);
      const failing = new Set([...result.out.matchAll(/typed-client\.check\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1])));
      expect([...failing].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('typed clients at run time: host.plugin<EchoApi>("echo")', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost({ plugins: [{ path: APP('echo'), name: 'echo' }] });
  }, 30_000);

  afterAll(async () => {
    await t?.close();
  });

  it('calls the functions with their arguments and resolves with their results', async () => {
    const echo = t.host.plugin<EchoApi>('echo');
    const greeting: string = await echo.greet({ name: 'Ada' });
    expect(greeting).toBe('Hello, Ada');
    const sum: number = await echo.add({ a: 2, b: 3.5 }, { timeoutMs: 10_000 });
    expect(sum).toBe(5.5);
    expect(await echo.echo({ value: [1, 'two', { three: 3 }] })).toEqual([1, 'two', { three: 3 }]);
  }, 30_000);

  it('rejects with the typed errors of plain calls', async () => {
    const echo = t.host.plugin<EchoApi>('echo');
    const failed = await echo.fail({ message: 'no luck', code: 'E_LUCK' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PluginFunctionError);
    expect((failed as PluginFunctionError).message).toBe('no luck');
    expect((failed as PluginFunctionError).remoteCode).toBe('E_LUCK');
    // A proxy typed for functions the plugin lacks still fails cleanly at run time.
    const stale = t.host.plugin<{ vanish(): string }>('echo');
    await expect(stale.vanish()).rejects.toBeInstanceOf(UnknownFunctionError);
  }, 30_000);

  it('is not mistaken for a Promise (awaiting the proxy gives the proxy)', async () => {
    const echo = t.host.plugin<EchoApi>('echo');
    const same = await (echo as unknown as Promise<unknown>);
    expect(same).toBe(echo);
  });
});
