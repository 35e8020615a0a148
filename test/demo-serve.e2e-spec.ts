import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ROOT, until } from './support/host-harness.js';

describe('npm run demo -- --serve', () => {
  it('keeps the demo host running after its tour, prints the plugins page and metrics URLs, and stops on SIGINT', async () => {
    const demo = spawn(process.execPath, [`${ROOT}dist/apps/demo-host/src/main.js`, '--serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until(() => /Metrics: +\S+/.test(out) || demo.exitCode !== null, 120_000, 'the demo to print its URLs');
      const page = /Plugins page: (http:\/\/127\.0\.0\.1:\d+\/wwplugin\/)\n/.exec(out)?.[1];
      const metrics = /Metrics: +(http:\/\/127\.0\.0\.1:\d+\/metrics)\n/.exec(out)?.[1];
      expect(page, out).toBeDefined();
      expect(metrics).toBe(`${new URL(page!).origin}/metrics`);
      const res = await fetch(page!);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>Plugins · WWPlugin</title>');
      const snapshot = (await (await fetch(`${page}api/plugins`)).json()) as { plugins: Array<{ name: string; state: string }> };
      expect(snapshot.plugins.map((p) => `${p.name}:${p.state}`).sort()).toEqual(['echo:running', 'ticker:running']);
      const scrape = await fetch(metrics!);
      expect(scrape.status).toBe(200);
      expect(await scrape.text()).toContain('# TYPE');
    } finally {
      const exited = demo.exitCode === null ? once(demo, 'exit') : Promise.resolve([demo.exitCode]);
      demo.kill('SIGINT');
      await exited;
    }
    expect(out).not.toContain('Demo failed');
  }, 180_000);
});
