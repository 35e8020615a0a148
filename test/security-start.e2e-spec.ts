import { DuplicatePluginError, PluginEntryNotFoundError, PluginStartError } from '@wwplugin/nestjs';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids } from './support/child-processes.js';
import { FIXTURE_PLUGIN, fixture, isAlive, startHost, type TestHost } from './support/host-harness.js';

/** Rejects with the error `promise` fails with (and fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & { details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { details?: Record<string, unknown> };
  }
  throw new Error('expected the load to fail, it succeeded');
}

/** The PID a fixture announced on stderr ("fixture pid 123 ..."). */
function announcedPid(stderrTail: string): number {
  const match = /pid (\d+)/.exec(stderrTail);
  if (!match) throw new Error(`no pid in stderr tail: ${JSON.stringify(stderrTail)}`);
  return Number(match[1]);
}

describe('security: what is refused at start', () => {
  let t: TestHost;
  let scratch: string;
  /** Child processes once the good plugin runs: a failed load must leave exactly these. */
  let baseline: number[];
  let goodPid: number;
  const sha256 = createHash('sha256').update(readFileSync(FIXTURE_PLUGIN)).digest('hex');

  const stillServes = async () => {
    expect(await t.host.call('good', 'echo', { value: 'still ok' })).toBe('still ok');
    expect(childPids()).toEqual(baseline);
    expect(t.host.list().map((p) => p.name)).toEqual(['good']);
  };

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'wwplugin-sec-'));
    t = await startHost({ maxInFlight: 1, whenBusy: 'wait' });
    // The expected SHA-256 matches: it loads.
    goodPid = (await t.host.load(fixture('good', '', { sha256: sha256.toUpperCase() }))).pid!;
    baseline = childPids();
    expect(baseline).toEqual([goodPid]);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    rmSync(scratch, { recursive: true, force: true });
    expect(isAlive(goodPid)).toBe(false);
    expect(childPids()).toEqual([]);
  });

  it('an entry path that does not exist is a PluginEntryNotFoundError', async () => {
    const path = join(scratch, 'missing.js');
    const err = await failure(t.host.load({ path }));
    expect(err).toBeInstanceOf(PluginEntryNotFoundError);
    expect(err.message).toBe(`Plugin entry "${path}" does not exist.`);
    expect(err.details).toEqual({ path });
    await stillServes();
  });

  it('an entry path that is a directory is a PluginEntryNotFoundError', async () => {
    const err = await failure(t.host.load({ path: scratch }));
    expect(err).toBeInstanceOf(PluginEntryNotFoundError);
    expect(err.message).toBe(`Plugin entry "${scratch}" is not a file that can be run.`);
    await stillServes();
  });

  it('a command that is not executable is a PluginEntryNotFoundError', async () => {
    const file = join(scratch, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const err = await failure(t.host.load({ command: file }));
    expect(err).toBeInstanceOf(PluginEntryNotFoundError);
    expect(err.message).toBe(`Plugin entry "${file}" is not a file that can be run.`);
    await stillServes();
  });

  it('a command not found on the PATH is a PluginEntryNotFoundError', async () => {
    const err = await failure(t.host.load({ command: 'wwplugin-no-such-command' }));
    expect(err).toBeInstanceOf(PluginEntryNotFoundError);
    expect(err.message).toBe('Plugin command "wwplugin-no-such-command" was not found on the PATH.');
    await stillServes();
  });

  it('an entry whose SHA-256 differs is refused before anything is spawned', async () => {
    const wrong = '0'.repeat(64);
    const err = await failure(t.host.load(fixture('tampered', '', { sha256: wrong })));
    expect(err).toBeInstanceOf(PluginStartError);
    expect(err.message).toBe(`Plugin entry "${FIXTURE_PLUGIN}" has SHA-256 ${sha256}, expected ${wrong}; refusing to start it.`);
    expect(err.details).toEqual({ path: FIXTURE_PLUGIN, actual: sha256, expected: wrong });
    await stillServes();
  });

  it('a plugin that exits during its handshake is a PluginStartError with its stderr tail', async () => {
    const err = (await failure(t.host.load(fixture('dies', 'exit-in-handshake')))) as PluginStartError;
    expect(err).toBeInstanceOf(PluginStartError);
    expect(err.message).toMatch(/exited before it became callable \(exit code 3\)\.\nLast lines of its stderr:\n/);
    expect(err.message).toContain('fatal: cannot open the widget database');
    expect(err.stderrTail).toContain('fatal: cannot open the widget database');
    expect(isAlive(announcedPid(err.stderrTail))).toBe(false);
    await stillServes();
  }, 30_000);

  it('a process that never completes the handshake is killed and the load fails with its stderr tail', async () => {
    // A bare Node process (not the fixture) so its stderr line is written long before the timeout.
    const script = "process.stderr.write('fixture pid ' + process.pid + ' will never connect\\n'); setInterval(() => {}, 60000);";
    const err = (await failure(t.host.load({ command: process.execPath, args: ['-e', script], name: 'silent', startTimeoutMs: 1_500 }))) as PluginStartError;
    expect(err).toBeInstanceOf(PluginStartError);
    expect(err.message).toMatch(/^Plugin "silent" did not complete its handshake within 1500 ms and was killed\.\nLast lines of its stderr:\n/);
    expect(err.stderrTail).toContain('will never connect');
    expect(isAlive(announcedPid(err.stderrTail))).toBe(false);
    await stillServes();
  }, 30_000);

  it('a second plugin registering a taken name is a DuplicatePluginError; the first keeps serving', async () => {
    const err = await failure(t.host.load(fixture('good', '')));
    expect(err).toBeInstanceOf(DuplicatePluginError);
    expect(err.message).toBe(
      `A plugin named "good" is already loaded (id ${t.host.get('good')!.id}, state: running). Use start("good") or restart("good") to run it again, or unload("good") first.`,
    );
    expect(t.host.get('good')?.pid).toBe(goodPid);
    await stillServes();
  }, 30_000);

  it("with whenBusy 'wait', calls over maxInFlight wait for a slot instead of failing", async () => {
    const results = await Promise.all([1, 2, 3].map((n) => t.host.call('good', 'sleep', { ms: 50 * n })));
    expect(results).toEqual(['slept 50', 'slept 100', 'slept 150']);
    await stillServes();
  });
});
