import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/host-harness.js';
import { netnsUnavailable } from './support/netns.js';

// bench:remote still runs: --quick gives every figure as a finite number. No timing threshold.
const unavailable = netnsUnavailable();
if (unavailable) console.warn(`remote-bench-smoke: skipped: ${unavailable}.`);

describe.skipIf(!!unavailable)('bench:remote smoke run', () => {
  it('runs --quick across two namespaces and reports latency and throughput of both paths, with ratios', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [join(ROOT, 'dist/bench/remote.js'), '--quick'], { cwd: ROOT }, (err, so, se) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: so, stderr: se }),
      ),
    );
    expect(code, `bench:remote failed:\n${stderr}`).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
    for (const path of ['raw', 'framework']) for (const figure of ['p50', 'p99', 'rate']) expect(Number.isFinite(result[path]![figure])).toBe(true);
    expect(result.ratios!.p50).toBeGreaterThan(0);
    expect(result.ratios!.rate).toBeGreaterThan(0);
    expect(stdout).toContain('| host → remote plugin, mTLS |');
  }, 120_000);
});
