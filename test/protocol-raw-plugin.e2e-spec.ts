// docs/protocol.md is enough to write a plugin: test/fixtures/raw-plugin/raw-plugin.mjs speaks the
// wire with nothing but grpc-js and proto-loader, and the host serves it like any other plugin.
import { Injectable, type LoggerService } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { take, toArray, firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallCancelledError,
  DeadlineExceededError,
  HandshakeRefusedError,
  HostFunction,
  InvalidArgumentError,
  MessageTooLargeError,
  PluginFunctionError,
  PluginStartError,
  UnknownFunctionError,
  type PluginMessage,
} from '@wwplugin/nestjs';
import { isAlive, ROOT, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

const RAW_PLUGIN = `${ROOT}test/fixtures/raw-plugin/raw-plugin.mjs`;

/** A host function the raw plugin calls over its own session (ids in the other direction). */
@Injectable()
class Doubler {
  @HostFunction()
  double({ n }: { n: number | bigint }): number | bigint {
    return typeof n === 'bigint' ? n * 2n : n * 2;
  }
}

/** Keeps every log line with its context: plugins' stdout and stderr reach the host's logger. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private keep(level: string, message: unknown, context?: unknown) {
    this.lines.push(`${level} [${String(context ?? '')}] ${String(message)}`);
  }
  log(message: unknown, context?: unknown) {
    this.keep('log', message, context);
  }
  warn(message: unknown, context?: unknown) {
    this.keep('warn', message, context);
  }
  error(message: unknown, context?: unknown) {
    this.keep('error', message, context);
  }
  debug(message: unknown, context?: unknown) {
    this.keep('debug', message, context);
  }
  verbose(message: unknown, context?: unknown) {
    this.keep('verbose', message, context);
  }
}

type Abandoned = PluginMessage<{ id: number; function: string; why: string }>;

const VALUES: Array<[string, unknown]> = [
  ['string', 'héllo ✓'],
  ['int', -42],
  ['int beyond 2^53 (bigint)', -(2n ** 63n)],
  ['float', 2.5],
  ['bool', false],
  ['bytes', Buffer.from([0, 255, 7])],
  ['json', { a: [1, 'two', null], b: { c: true } }],
  ['null', null],
];

describe('protocol: a plugin written from docs/protocol.md alone', () => {
  let t: TestHost;
  const logs = new CapturingLogger();

  beforeAll(async () => {
    t = await startHost({ heartbeat: { intervalMs: 100, timeoutMs: 5_000, misses: 3 }, maxMessageBytes: 64 * 1024 }, { providers: [Doubler] });
    t.app.useLogger(logs);
    const info = await t.host.load({ command: process.execPath, args: [RAW_PLUGIN], name: 'raw' });
    expect(info).toMatchObject({ name: 'raw', version: '0.0.1', description: 'a plugin written without the library', state: 'running' });
    expect(info.functions).toEqual(expect.arrayContaining(['upper', 'sum', 'add', 'echo', 'fail', 'hang', 'ticks', 'viaHost', 'ghost']));
  }, 30_000);

  afterAll(() => t?.close());

  it('answers a STRING function and a JSON-array function', async () => {
    expect(await t.host.call('raw', 'upper', { text: 'hello wire' })).toBe('HELLO WIRE');
    expect(await t.host.call('raw', 'sum', { values: [1, 2, 3, 4] })).toBe(10);
    expect(await t.host.call('raw', 'sum', { values: [0.5, 0.25] })).toBe(0.75);
  });

  it('keeps all 64 bits of an INT (beyond 2^53 as bigint)', async () => {
    const big = await t.host.call('raw', 'add', { a: 2n ** 62n, b: 5n });
    expect(big).toBe(2n ** 62n + 5n);
    expect(await t.host.call('raw', 'add', { a: 2, b: 3 })).toBe(5);
  });

  for (const [label, value] of VALUES) {
    it(`echoes a ${label} Parameter unchanged`, async () => {
      expect(await t.host.call('raw', 'echo', { value })).toEqual(value);
    });
  }

  it('turns an Error frame with a custom code into PluginFunctionError with remoteCode', async () => {
    for (const style of ['details', 'code']) {
      const err = await t.host.call<never>('raw', 'fail', { code: 'E_RAW', message: 'raw went wrong', style }).catch((e: PluginFunctionError) => e);
      expect(err).toBeInstanceOf(PluginFunctionError);
      expect(err.message).toBe('raw went wrong');
      expect(err.remoteCode).toBe('E_RAW');
      expect(err.remoteName).toBe('RawError');
      expect(err.details).toMatchObject({ hint: 'raw' });
    }
    // The plugin keeps serving after a failed call.
    expect(await t.host.call('raw', 'upper', { text: 'still here' })).toBe('STILL HERE');
  });

  it("maps the plugin's INVALID_ARGUMENT to InvalidArgumentError", async () => {
    const err = await t.host.call<never>('raw', 'upper', { text: 5 }).catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe('argument "text" must be STRING, got INT');
  });

  it('rejects unknown functions: at the host from the Hello, and at the plugin with UNKNOWN_FUNCTION', async () => {
    const atHost = await t.host.call<never>('raw', 'nope').catch((e: PluginFunctionError) => e);
    expect(atHost).toBeInstanceOf(UnknownFunctionError);
    expect(atHost.message).toMatch(/^Plugin "raw" has no function "nope"; it offers: .*upper, sum, add, echo/);
    // Declared in Hello, not implemented: the plugin answers the Error itself.
    const atPlugin = await t.host.call<never>('raw', 'ghost').catch((e: PluginFunctionError) => e);
    expect(atPlugin).toBeInstanceOf(UnknownFunctionError);
    expect(atPlugin.message).toMatch(/^Plugin "raw" has no function "ghost"; it offers: upper, sum/);
    expect(atPlugin.details?.available).not.toContain('ghost');
  });

  it('keeps its answers within Welcome.max_message_bytes: a too large result fails that call alone', async () => {
    expect(await t.host.call('raw', 'repeat', { text: 'ab', times: 1000 })).toBe('ab'.repeat(1000));
    const err = await t.host.call<never>('raw', 'repeat', { text: 'ab', times: 50_000 }).catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect(err.message).toBe(`The message is 100022 bytes, over the limit of ${64 * 1024} bytes.`);
    expect(await t.host.call('raw', 'upper', { text: 'still serving' })).toBe('STILL SERVING');
  });

  it('sends a deadline with the call and a Cancel when it passes; the plugin drops the call', async () => {
    const abandoned = waitFor(t.host.messages<Abandoned['payload']>('raw.abandoned'), (m) => m.payload.function === 'hang');
    const err = await t.host.call<never>('raw', 'hang', {}, { timeoutMs: 200 }).catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe('Call to raw.hang exceeded its deadline of 200 ms.');
    // Whichever comes first: the plugin's own clock (timeout_ms) or the host's Cancel.
    expect((await abandoned).payload.why).toMatch(/^(deadline|cancel: deadline exceeded)$/);
  });

  it('honours Cancel when the caller aborts', async () => {
    const abandoned = waitFor(t.host.messages<Abandoned['payload']>('raw.abandoned'), (m) => m.payload.function === 'hang');
    const controller = new AbortController();
    const call = t.host.call('raw', 'hang', {}, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(CallCancelledError);
    expect((await abandoned).payload.why).toBe('cancel: aborted');
    expect(await t.host.call('raw', 'upper', { text: 'after cancel' })).toBe('AFTER CANCEL');
  });

  it('streams items then end, and stops a stream when the caller unsubscribes', async () => {
    const three = await firstValueFrom(t.host.stream('raw', 'ticks', { n: 3 }).pipe(toArray(), timeout(10_000)));
    expect(three).toEqual([1, 2, 3]);
    const abandoned = waitFor(t.host.messages<Abandoned['payload']>('raw.abandoned'), (m) => m.payload.function === 'ticks');
    const two = await firstValueFrom(t.host.stream('raw', 'ticks').pipe(take(2), toArray(), timeout(10_000)));
    expect(two).toEqual([1, 2]);
    expect((await abandoned).payload.why).toBe('cancel: unsubscribed');
  });

  it('calls a host function over the same session (call ids are per direction)', async () => {
    expect(await t.host.call('raw', 'viaHost', { n: 21 })).toBe(42);
    expect(await t.host.call('raw', 'viaHost', { n: 2n ** 61n })).toBe(2n ** 62n);
  });

  it('receives a Push and answers with an Emit', async () => {
    const echoed = waitFor(t.host.messages('raw.echoed', 'raw'));
    expect(t.host.push('raw', 'raw.echo', { hello: 'there', n: [1, 2] })).toBe(1);
    expect((await echoed).payload).toEqual({ hello: 'there', n: [1, 2] });
  });

  it('answers heartbeat pings with pongs', async () => {
    await until(() => t.host.get('raw')?.lastHeartbeatMs !== undefined, 10_000, 'a pong from the raw plugin');
    expect(t.host.get('raw')?.state).toBe('running');
  });

  it('refuses a Hello with a protocol version the host does not speak, with a clear message on both sides', async () => {
    const err = await t.host
      .load({ command: process.execPath, args: [RAW_PLUGIN], name: 'raw-v99', env: { RAW_NAME: 'raw-v99', RAW_PROTOCOL_VERSION: '99' } })
      .catch((e) => e);
    expect(err instanceof HandshakeRefusedError || err instanceof PluginStartError).toBe(true);
    expect(err.message).toMatch(/Protocol version 99 is not spoken here \(this side speaks 1\)/);
    expect(err.code).toBe('PROTOCOL_VERSION');
    expect(t.host.get('raw-v99')).toBeUndefined();
    // The plugin's side: it printed the Refuse frame's code and reason to stderr.
    await until(
      () =>
        logs.lines.some(
          (l) => l.startsWith('warn [Plugin:raw-v99]') && l.includes('the host refused this plugin (PROTOCOL_VERSION): Protocol version 99 is not spoken here'),
        ),
      10_000,
      "the refused plugin's stderr line",
    );
  });

  it('ends a session with a wrong secret with gRPC UNAUTHENTICATED, before any frame', async () => {
    const child = spawn(process.execPath, [RAW_PLUGIN], {
      env: { ...process.env, WWPLUGIN_ADDRESS: await t.host.address(), WWPLUGIN_TOKEN: 'not-the-secret', WWPLUGIN_PLUGIN_ID: t.host.get('raw')!.id },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('session failed: UNAUTHENTICATED (16): invalid or missing plugin credentials');
    expect(t.host.get('raw')?.state).toBe('running');
  });

  it('on Shutdown finishes the call in flight, then exits 0; it can be started again', async () => {
    const pid = t.host.get('raw')!.pid;
    const slow = t.host.call('raw', 'sleep', { ms: 300 });
    const stopped = await t.host.stop('raw');
    expect(await slow).toBe('slept');
    expect(stopped.state).toBe('stopped');
    expect(isAlive(pid)).toBe(false);
    await until(() => t.host.get('raw')?.lastExit !== undefined, 5_000, 'the exit to be recorded');
    expect(t.host.get('raw')!.lastExit).toMatchObject({ code: 0, signal: null });
    expect(logs.lines.some((l) => l.includes('[Plugin:raw] raw: shutdown requested (stop requested by the host); 1 call(s) in flight'))).toBe(true);

    const again = await t.host.start('raw');
    expect(again.state).toBe('running');
    expect(again.pid).not.toBe(pid);
    expect(await t.host.call('raw', 'upper', { text: 'back' })).toBe('BACK');
  }, 30_000);
});

describe('a plugin written from docs/protocol.md alone: chunked frames', () => {
  let t: TestHost | undefined;
  afterAll(() => t?.close());

  it('reassembles a large call the host sends in Chunk frames', async () => {
    t = await startHost();
    await t.host.load({ command: process.execPath, args: [RAW_PLUGIN], name: 'raw' });
    const big = 'ü'.repeat(600_000); // 1.2 MB of UTF-8: over the 256 KiB chunking threshold
    expect(await t.host.call('raw', 'echo', { value: big })).toBe(big);
    expect(await t.host.call('raw', 'upper', { text: 'still fine' })).toBe('STILL FINE');
  }, 30_000);
});
