import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostFunction, ParameterType, PluginCallForbiddenError, PluginNotRunningError, UnknownPluginError, type WwPluginCallContext } from '@wwplugin/nestjs';
import { APP, fixture, startHost, until, type TestHost } from './support/host-harness.js';

/** What the fixture's callHost/callPlugin return: the value, or the error the plugin caught. */
type Outcome<T = unknown> = { value: T; error?: undefined } | { value?: undefined; error: { name: string; code?: string; message: string; details?: any } };

/** Host functions plugins may call: found by discovery on a provider of the host app. */
@Injectable()
class MathHostFunctions {
  readonly aborted: string[] = [];

  @HostFunction()
  sum({ values }: { values: number[] }): number {
    return values.reduce((a, b) => a + b, 0);
  }

  @HostFunction()
  echo({ value }: { value: unknown }): unknown {
    return value;
  }

  @HostFunction({ name: 'host.whoCalled' })
  whoCalled(_args: unknown, call: WwPluginCallContext) {
    return { caller: call.caller, plugin: call.plugin.name, fn: call.fn };
  }

  @HostFunction({ params: { n: ParameterType.INT } })
  async square({ n }: { n: number }): Promise<number> {
    return n * n;
  }

  /** Never answers; records when the caller's deadline cancels it. */
  @HostFunction()
  wait(_args: unknown, call: WwPluginCallContext): Promise<never> {
    return new Promise((_resolve, reject) => {
      call.signal.addEventListener('abort', () => {
        this.aborted.push(call.caller);
        reject(new Error('aborted'));
      });
    });
  }

  @HostFunction()
  explode({ message }: { message: string }): never {
    throw Object.assign(new Error(message), { code: 'E_BOOM' });
  }
}

describe('messaging: host functions and plugin-to-plugin calls', () => {
  let t: TestHost;
  const decisions: string[] = [];

  beforeAll(async () => {
    t = await startHost(
      {
        heartbeat: false,
        // a may call anything except b.whoami; every decision is recorded.
        allowPluginCalls: (caller, target, fn) => {
          decisions.push(`${caller}->${target}.${fn}`);
          return !(caller === 'a' && target === 'b' && fn === 'whoami');
        },
      },
      { providers: [MathHostFunctions] },
    );
    await Promise.all([
      t.host.load(fixture('a', 'messaging')),
      t.host.load(fixture('b', 'messaging')),
      t.host.load(fixture('c')),
      t.host.load(APP('echo')),
      t.host.load(APP('relay')),
    ]);
  }, 60_000);

  afterAll(() => t?.close());

  const callHost = <T>(fn: string, args?: Record<string, unknown>, timeoutMs?: number) => t.host.call<Outcome<T>>('a', 'callHost', { fn, args, timeoutMs });
  const callPlugin = <T>(target: string, fn: string, args?: Record<string, unknown>, timeoutMs?: number) =>
    t.host.call<Outcome<T>>('a', 'callPlugin', { target, fn, args, timeoutMs });

  describe('host functions', () => {
    it('a plugin calls a @HostFunction and gets its result', async () => {
      expect(await callHost('sum', { values: [1, 2, 3, 4.5] })).toEqual({ value: 10.5 });
      expect(await callHost('square', { n: 12 })).toEqual({ value: 144 });
    });

    it('every parameter type crosses plugin → host → plugin intact', async () => {
      for (const value of ['héllo ✓', -7, 2n ** 60n, 3.25, false, null, Buffer.from([0, 255]), { a: [1, 'two', null] }]) {
        const back = await t.host.call('a', 'callHostWith', { fn: 'echo', value });
        expect(back).toEqual(value);
        if (typeof value === 'bigint') expect(typeof back).toBe('bigint');
        if (Buffer.isBuffer(value)) expect(Buffer.isBuffer(back)).toBe(true);
      }
    });

    it('the host function sees which plugin called it, under its declared name', async () => {
      expect(await callHost('host.whoCalled')).toEqual({ value: { caller: 'a', plugin: 'a', fn: 'host.whoCalled' } });
    });

    it('an unknown host function is an UnknownFunctionError listing what the host offers', async () => {
      const out = await callHost('nope');
      expect(out.error?.name).toBe('UnknownFunctionError');
      expect(out.error?.message).toContain('The host has no function "nope"');
      expect(out.error?.details?.available).toEqual(expect.arrayContaining(['sum', 'echo', 'host.whoCalled', 'square', 'wait', 'explode']));
    });

    it('declared parameter types are checked: InvalidArgumentError', async () => {
      const out = await callHost('square', { n: 'twelve' });
      expect(out.error?.name).toBe('InvalidArgumentError');
      expect(out.error?.message).toContain('"n" must be INT, got STRING');
    });

    it('a host function that throws reaches the plugin as PluginFunctionError with its code', async () => {
      const out = await callHost('explode', { message: 'kaboom' });
      expect(out.error).toMatchObject({ name: 'PluginFunctionError', message: 'kaboom' });
      expect(out.error?.details?.remoteCode).toBe('E_BOOM');
    });

    it("the plugin's timeoutMs is a DeadlineExceededError there, and cancels the host function", async () => {
      const hosts = t.app.get(MathHostFunctions);
      const out = await callHost('wait', {}, 150);
      expect(out.error?.name).toBe('DeadlineExceededError');
      expect(out.error?.message).toContain('wait');
      await until(() => hosts.aborted.includes('a'), 10_000, 'host function to see the cancel');
    });
  });

  describe('plugin-to-plugin', () => {
    it('plugin a calls plugin b through the host and gets its result', async () => {
      expect(await callPlugin('b', 'add', { a: 40, b: 2 })).toEqual({ value: 42 });
      expect(await callPlugin('b', 'echo', { value: { deep: [1, 'x', null] } })).toEqual({ value: { deep: [1, 'x', null] } });
    });

    it('the target may be named by id, and sees the calling plugin as caller', async () => {
      const bId = t.host.get('b')!.id;
      const out = await callPlugin<{ caller: string; plugin: string }>(bId, 'inspect', { x: 1 });
      expect(out.value).toMatchObject({ caller: 'a', plugin: 'b' });
    });

    it("b's errors reach a typed, and calls keep working", async () => {
      const out = await callPlugin('b', 'fail', { message: 'no way', code: 'E_NO' });
      expect(out.error).toMatchObject({ name: 'PluginFunctionError', message: 'no way' });
      expect(out.error?.details?.remoteCode).toBe('E_NO');
      const unknown = await callPlugin('b', 'missing');
      expect(unknown.error?.name).toBe('UnknownFunctionError');
      expect(await callPlugin('b', 'add', { a: 1, b: 1 })).toEqual({ value: 2 });
    });

    it('a refused call is a PluginCallForbiddenError naming caller, target and function', async () => {
      const out = await callPlugin('b', 'whoami');
      expect(out.error?.name).toBe('PluginCallForbiddenError');
      expect(out.error?.code).toBe(new PluginCallForbiddenError('x').code);
      expect(out.error?.message).toBe('Plugin "a" may not call b.whoami (refused by allowPluginCalls).');
      expect(out.error?.details).toEqual({ caller: 'a', target: 'b', function: 'whoami' });
      expect(decisions).toContain('a->b.whoami');
    });

    it('allowPluginCalls sees the target by name even when the caller used its id', async () => {
      const out = await callPlugin(t.host.get('b')!.id, 'whoami');
      expect(out.error?.name).toBe('PluginCallForbiddenError');
      expect(out.error?.details).toMatchObject({ caller: 'a', target: 'b', function: 'whoami' });
    });

    it('the policy decides per caller: b may call what a may not', async () => {
      await expect(t.host.call('b', 'callPlugin', { target: 'a', fn: 'whoami' })).resolves.toMatchObject({ value: { name: 'a' } });
      expect(decisions).toContain('b->a.whoami');
    });

    it('a call to an unknown plugin fails at once with UnknownPluginError', async () => {
      const out = await callPlugin('nobody', 'echo', { value: 1 }, 60_000);
      expect(out.error?.name).toBe(UnknownPluginError.name);
      expect(out.error?.message).toContain('No plugin "nobody" is loaded');
    });

    it('a call to a stopped plugin fails fast with PluginNotRunningError, not a timeout', async () => {
      await t.host.stop('c');
      // A 60 s deadline inside a 20 s test: only an immediate failure passes.
      const out = await callPlugin('c', 'echo', { value: 1 }, 60_000);
      expect(out.error?.name).toBe(PluginNotRunningError.name);
      expect(out.error?.message).toBe('Plugin "c" is not running (state: stopped).');
    }, 20_000);

    it("a streams b's streaming function through the host", async () => {
      const out = await t.host.call('a', 'streamPlugin', { target: 'b', fn: 'ticks', args: { count: 5, intervalMs: 2, tag: 'relayed' }, count: 5 });
      expect(out).toEqual([0, 1, 2, 3, 4]);
    });

    it('a relayed stream that a stops early is torn down in b', async () => {
      const out = await t.host.call('a', 'streamPlugin', { target: 'b', fn: 'ticks', args: { count: 100_000, intervalMs: 5, tag: 'cut' }, count: 3 });
      expect(out).toEqual([0, 1, 2]);
      await until(
        async () => (await t.host.call<{ tornDown: boolean }>('b', 'streamState', { tag: 'cut' }))?.tornDown === true,
        10_000,
        'b to tear the stream down',
      );
      const state = await t.host.call<{ produced: number }>('b', 'streamState', { tag: 'cut' });
      expect(state.produced).toBeLessThan(100_000);
    });

    it('the relay example decorates what echo says, through the host', async () => {
      expect(await t.host.call('relay', 'greet', { name: 'Ada' })).toBe('✨ Hello, Ada ✨ (relayed by relay)');
      expect(await t.host.call('relay', 'sum', { values: [1, 2, 3, 4] })).toBe(10);
      expect(decisions).toContain('relay->echo.greet');
    });
  });
});

describe('messaging: a plugin call without a deadline of its own', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost({ heartbeat: false, defaultTimeoutMs: 300 }, { providers: [MathHostFunctions] });
    await t.host.load(fixture('d', 'messaging'));
  }, 60_000);

  afterAll(() => t?.close());

  it("gets the host's defaultTimeoutMs, as host-to-plugin calls do", async () => {
    const out = await t.host.call<Outcome>('d', 'callHost', { fn: 'wait' }, { timeoutMs: 20_000 });
    expect(out.error?.name).toBe('DeadlineExceededError');
    expect(out.error?.message).toMatch(/host\.wait exceeded its deadline of 300 ms/);
    await until(() => t.app.get(MathHostFunctions).aborted.includes('d'), 10_000, 'the host function to be cancelled');
  });
});
