import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/host-harness.js';

/**
 * The benchmark still runs: its quick mode (a few iterations, a handful of plugins) produces every
 * figure as a finite number. No timing threshold: how fast things are is the benchmark's business.
 */
describe('benchmark smoke run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wwbench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A generous limit: on a loaded machine the quick run's process starts (cold, with and without
  // spares, bundled and not) take minutes; the limit is for a run that hangs, not a slow one.
  it('runs --quick and reports every figure', async () => {
    const out = join(dir, 'quick.json');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(ROOT, 'dist/bench/run.js'), '--quick', '--out', out],
        { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
        (err, so, se) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: so, stderr: se }),
      );
      child.stdin?.end();
    });
    expect(code, `bench failed:\n${stderr}`).toBe(0);
    expect(stdout).toContain('host→plugin call p50');

    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      options: { quick: boolean; payloadBytes: number };
      figures: Record<string, { value: number; ratio?: number; reference?: string; goal?: string; pass?: boolean }>;
    };
    expect(report.options).toMatchObject({ quick: true, payloadBytes: 100 });
    const expected = [
      'raw.unary.p50_us',
      'raw.unary.p99_us',
      'raw.unary.calls_per_s_64',
      'raw.stream.msgs_per_s',
      'raw.bidi.p50_us',
      'raw.bidi.p99_us',
      'raw.bidi.calls_per_s_64',
      'bare.start_ms',
      'bare.rss_mib',
      'call.p50_us',
      'call.p50_us_vs_bidi',
      'call.p99_us',
      'call.cpu_us_per_call',
      'call.calls_per_s_64',
      'call.calls_per_s_64_vs_bidi',
      'call_host.p50_us',
      'call_plugin.p50_us',
      'push.msgs_per_s',
      'slow_push.host_peak_rss_mib',
      'slow_push.host_late_growth_mib',
      'bare.bundled_start_ms',
      'bare.bundled_rss_mib',
      'cold.start_ms',
      'cold.rss_mib',
      'cold.unbundled_start_ms',
      'cold.unbundled_rss_mib',
      'restart.ms',
      'restart.unbundled_ms',
      'spare.restart_ms',
      'spare.load_ms',
      'spare.unbundled_restart_ms',
      'spare.unbundled_load_ms',
      'spare.own_restart_ms',
      'spare.unbundled_own_restart_ms',
      'spare.rss_mib',
      'scale.idle_cpu_pct',
      'scale.call_p50_1_us',
      'scale.call_p50_n_us',
    ];
    for (const id of expected) expect(Object.keys(report.figures), id).toContain(id);
    for (const [id, f] of Object.entries(report.figures)) {
      expect(Number.isFinite(f.value), `${id} = ${f.value}`).toBe(true);
      if (f.reference) expect(Number.isFinite(f.ratio), `${id} ratio = ${f.ratio}`).toBe(true);
      if (f.goal) expect(typeof f.pass, `${id} pass`).toBe('boolean');
    }
    // The summary beside it: the goals, then every figure, as markdown tables.
    const summary = readFileSync(out.replace(/\.json$/, '.md'), 'utf8');
    expect(summary).toContain('### Goals');
    expect(summary).toContain('| host→plugin call p50, vs raw bidi');
    // A run that pushed to a slow plugin must have hit the bound: that is what the figure is about.
    expect(report.figures['slow_push.dropped'].value).toBeGreaterThan(0);
  }, 420_000);
});
