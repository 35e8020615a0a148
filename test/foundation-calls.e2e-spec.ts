import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeadlineExceededError,
  InvalidArgumentError,
  ParameterType,
  PluginEntryNotFoundError,
  PluginFunctionError,
  PluginStartError,
  UnknownFunctionError,
  UnknownPluginError,
} from '@wwplugin/nestjs';
import { APP, fixture, startHost, type TestHost } from './support/host-harness.js';

// Every value the wire carries, and what must come back.
const VALUES: Array<[string, unknown]> = [
  ['string', 'héllo wörld ✓'],
  ['empty string', ''],
  ['int', 42],
  ['negative int', -7],
  ['int beyond 2^53 (bigint)', 2n ** 60n],
  ['int64 min', -(2n ** 63n)],
  ['float', 3.25],
  ['bool true', true],
  ['bool false', false],
  ['bytes', Buffer.from([0, 1, 2, 250, 255])],
  ['json object', { a: 1, nested: { list: [1, 'two', null, true] } }],
  ['json array', [1, 2, 3]],
  ['null', null],
];

describe('foundation: calls across processes', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost();
    await Promise.all([t.host.load(APP('echo')), t.host.load(fixture('fixture'))]);
  }, 60_000);

  afterAll(() => t?.close());

  for (const plugin of ['echo', 'fixture']) {
    for (const [label, value] of VALUES) {
      it(`${plugin} echoes ${label}`, async () => {
        const back = await t.host.call(plugin, 'echo', { value });
        expect(back).toEqual(value);
        if (typeof value === 'bigint') expect(typeof back).toBe('bigint');
        if (Buffer.isBuffer(value)) expect(Buffer.isBuffer(back)).toBe(true);
      });
    }
  }

  it('takes the seed-style Parameter[] as arguments and hands the handler the raw list', async () => {
    const result = await t.host.call<{ parameters: unknown[]; caller: string; fn: string; plugin: string }>('fixture', 'inspect', [
      { name: 'who', type: ParameterType.STRING, value: 'Ada' },
      { name: 'n', type: ParameterType.INT, value: 5n },
      { name: 'ratio', type: ParameterType.FLOAT, value: 2 },
      { name: 'blob', type: ParameterType.BYTES, value: Buffer.from('x') },
    ]);
    expect(result).toEqual({
      fn: 'inspect',
      caller: 'host',
      plugin: 'fixture',
      aborted: false,
      parameters: [
        { name: 'who', type: 'STRING' },
        { name: 'n', type: 'INT' },
        { name: 'ratio', type: 'FLOAT' },
        { name: 'blob', type: 'BYTES' },
      ],
    });
  });

  it('returns plain objects of mixed JSON values', async () => {
    expect(await t.host.call('echo', 'echoAll', { a: 'x', b: 2, c: [true] })).toEqual({ a: 'x', b: 2, c: [true] });
    expect(await t.host.call('echo', 'greet', { name: 'Ada' })).toBe('Hello, Ada');
  });

  it('rejects arguments that are neither an object nor a Parameter list', async () => {
    await expect(t.host.call('echo', 'greet', 'Ada')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(t.host.call('echo', 'greet', [{ nope: 1 }])).rejects.toThrow(/not a Parameter/);
  });

  it('refuses wrong-typed declared arguments before the handler runs', async () => {
    const err = await t.host.call<never>('fixture', 'add', { a: 'one' }).catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe('add: argument "a" must be INT, got STRING.');
    await expect(t.host.call('fixture', 'add', {})).rejects.toThrow('add: argument "a" is required (expected INT, got nothing).');
    expect(await t.host.call('fixture', 'add', { a: 2, b: 3 })).toBe(5);
  });

  it('unknown plugin is an UnknownPluginError', async () => {
    const err = await t.host.call<never>('nobody', 'greet').catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(UnknownPluginError);
    expect(err.message).toMatch(/No plugin "nobody" is loaded \(loaded: .*echo/);
  });

  it('unknown function is an UnknownFunctionError listing the functions that exist', async () => {
    const err = await t.host.call<never>('echo', 'shout').catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(UnknownFunctionError);
    expect(err.message).toContain('Plugin "echo" has no function "shout"; it offers: greet, echo');
    expect(err.details?.available).toContain('greet');
  });

  it('a handler that throws sends its message and code back, and the plugin keeps serving', async () => {
    const err = await t.host.call<never>('fixture', 'fail', { message: 'disk full', code: 'E_DISK' }).catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.message).toBe('disk full');
    expect(err.remoteCode).toBe('E_DISK');
    expect(err.remoteName).toBe('Error');
    expect(await t.host.call('fixture', 'echo', { value: 'still here' })).toBe('still here');
  });

  it('a call past its deadline is a DeadlineExceededError and the plugin is told to cancel', async () => {
    const err = await t.host.call<never>('fixture', 'sleep', { ms: 30_000 }, { timeoutMs: 150 }).catch((e: PluginFunctionError) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe('Call to fixture.sleep exceeded its deadline of 150 ms.');
    expect(await t.host.call('fixture', 'echo', { value: 1 })).toBe(1);
  });

  it('an AbortSignal cancels a call', async () => {
    const ac = new AbortController();
    const pending = t.host.call('fixture', 'never', {}, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });

  it('Nest guards refuse calls and pipes transform arguments, as on any microservice handler', async () => {
    const refused = await t.host.call<never>('fixture', 'guarded', { key: 'wrong' }).catch((e: PluginFunctionError) => e);
    expect(refused).toBeInstanceOf(PluginFunctionError);
    expect(refused.message).toBe('key required');
    expect(refused.remoteCode).toBe('E_KEY');
    expect(await t.host.call('fixture', 'guarded', { key: 'open' })).toBe('in with open');
    expect(await t.host.call('fixture', 'shout', { text: 'quiet please' })).toBe('QUIET PLEASE');
  });

  it('serves @MessagePattern handlers of plugin controllers as functions', async () => {
    expect(t.host.get('fixture')!.functions).toContain('legacy.sum');
    expect(await t.host.call('fixture', 'legacy.sum', { values: [1, 2, 3.5] })).toBe(6.5);
  });

  it('a typed proxy calls functions by name', async () => {
    const echo = t.host.plugin<{ greet(args: { name: string }): string }>('echo');
    expect(await echo.greet({ name: 'Grace' })).toBe('Hello, Grace');
  });

  it('an entry path that does not exist is a PluginEntryNotFoundError', async () => {
    const err = await t.host.load('/no/such/plugin.js').catch((e) => e);
    expect(err).toBeInstanceOf(PluginEntryNotFoundError);
    expect(err.message).toBe('Plugin entry "/no/such/plugin.js" does not exist.');
  });

  it('two methods declaring the same function name fail the plugin at bootstrap, naming both', async () => {
    const err = await t.host.load(fixture('twice', 'duplicate-function')).catch((e) => e);
    expect(err).toBeInstanceOf(PluginStartError);
    expect(err.stderrTail).toContain(
      'Plugin function "greet" is declared twice: by FirstGreeter.hello and by SecondGreeter.greet. Give one of them another name.',
    );
  });

  it('a plugin that exits before it is callable is a PluginStartError with its stderr tail', async () => {
    const err = await t.host.load(fixture('doomed', 'die-at-boot')).catch((e) => e);
    expect(err).toBeInstanceOf(PluginStartError);
    expect(err.message).toContain('exited before it became callable (exit code 3)');
    expect(err.stderrTail).toBe('fixture: cannot open the configuration\nfixture: giving up');
    expect(
      t.host
        .list()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['echo', 'fixture']);
  });
});
