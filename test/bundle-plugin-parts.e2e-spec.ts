import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP, ROOT } from './support/host-harness.js';

type Bundler = { bundlePlugin(entry: string, out: string): Promise<{ ok: boolean; reason?: string }> };
const bundler = async () => (await import(`${ROOT}scripts/bundle-plugin.mjs`)) as Bundler;

// What a plugin's start reads is one file; the library's parts it loads only when used are beside it.
describe('npm run bundle-plugin: the start file and the parts loaded when used', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwplugin-bundle-parts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves the host's side out of a plugin's start file, and writes it pure ASCII", async () => {
    const out = join(dir, 'echo', 'main.mjs');
    expect(await (await bundler()).bundlePlugin(APP('echo'), out)).toMatchObject({ ok: true });
    const start = readFileSync(join(dir, 'echo', 'main.start.mjs'));
    expect(readFileSync(out, 'utf8')).toContain('./main.start.mjs');
    expect(start.toString('latin1')).not.toMatch(/class PluginHostService\b|class SparePool\b/);
    expect(existsSync(join(dir, 'echo', 'main.wwplugin-host.module.mjs'))).toBe(true);
    expect(start.some((byte) => byte > 0x7f)).toBe(false);
  }, 60_000);

  it("keeps only the rxjs modules used (its ES module build) and leaves grpc-js's admin protos out", async () => {
    const out = join(dir, 'lean', 'main.mjs');
    expect(await (await bundler()).bundlePlugin(APP('echo'), out)).toMatchObject({ ok: true });
    const start = readFileSync(join(dir, 'lean', 'main.start.mjs'), 'latin1');
    expect(start).toMatch(/node_modules\/rxjs\/dist\/esm\//);
    expect(start).not.toMatch(/node_modules\/rxjs\/dist\/cjs\//);
    // Operators Nest never imports are gone with the CommonJS build.
    expect(start).not.toMatch(/function windowToggle\b|function bufferWhen\b/);
    expect(start).not.toMatch(/node_modules\/(?:protobufjs|@grpc\/proto-loader)\//);
  }, 60_000);

  it('a bundled host app runs, its host side loaded from the files beside its entry while the entry awaits', async () => {
    // A host app's entry awaits its bootstrap, during which WwPluginModule.forRoot imports the host module.
    const out = join(dir, 'host', 'main.mjs');
    expect(await (await bundler()).bundlePlugin(`${ROOT}dist/test/fixtures/supervision-host/main.js`, out)).toMatchObject({ ok: true });
    const child = spawn(process.execPath, [out], { env: { ...process.env, SUP_HOST_PLUGINS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no line from the bundled host within 30 s; stderr: ${stderr}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(text.split('\n')[0]);
        }
      });
      child.once('exit', (code) => reject(new Error(`the bundled host exited (${code}) before it was ready; stderr: ${stderr}`)));
    });
    expect(JSON.parse(line)).toEqual({ hostPid: child.pid, pids: [] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }, 60_000);
});
