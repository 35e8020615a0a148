import { Injectable } from '@nestjs/common';
import {
  DeadlineExceededError,
  HostFunction,
  InvalidArgumentError,
  MessageTooLargeError,
  ParameterType,
  PluginBusyError,
  PluginCrashedError,
  PluginFunctionError,
  ProtocolError,
  UnknownFunctionError,
  UnknownPluginError,
  WireErrorCode,
} from '@wwplugin/nestjs';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, isAlive, startHost, until, type TestHost } from './support/host-harness.js';

const MAX_BYTES = 64 * 1024;

/** A host function with declared parameters; counts the calls that reached it. */
@Injectable()
class HostFunctions {
  static runs = 0;
  @HostFunction({ params: { n: ParameterType.INT } })
  double({ n }: { n: number }): number {
    HostFunctions.runs++;
    return n * 2;
  }
}

/** Rejects with the error `promise` fails with (and fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & { details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { details?: Record<string, unknown> };
  }
  throw new Error('expected the call to fail, it succeeded');
}

describe('security: bad input to a running host', () => {
  let t: TestHost;
  let goodPid: number;
  let roguePid: number;

  /** The host still answers a normal call to a good plugin. */
  const stillServes = async () => {
    expect(await t.host.call('good', 'echo', { value: 'still ok' })).toBe('still ok');
  };

  beforeAll(async () => {
    t = await startHost({ maxMessageBytes: MAX_BYTES, maxInFlight: 2, whenBusy: 'reject' }, { providers: [HostFunctions] });
    const [good, rogue] = await Promise.all([t.host.load(fixture('good', 'sec,stdout-garbage')), t.host.load(fixture('rogue', 'rogue'))]);
    goodPid = good.pid!;
    roguePid = rogue.pid!;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    expect(isAlive(goodPid)).toBe(false);
    expect(isAlive(roguePid)).toBe(false);
  });

  describe('calls from the host', () => {
    it('a call to an unknown plugin is an UnknownPluginError naming the loaded ones', async () => {
      const err = await failure(t.host.call('ghost', 'echo', { value: 1 }));
      expect(err).toBeInstanceOf(UnknownPluginError);
      expect(err.message).toContain('No plugin "ghost" is loaded');
      expect(err.message).toMatch(/loaded: .*good/);
      await stillServes();
    });

    it('a call to an unknown function is an UnknownFunctionError listing the available ones', async () => {
      const err = await failure(t.host.call('good', 'nope', {}));
      expect(err).toBeInstanceOf(UnknownFunctionError);
      expect(err.message).toMatch(/Plugin "good" has no function "nope"; it offers: .*describe/);
      expect(err.details?.available).toEqual(expect.arrayContaining(['echo', 'describe', 'sink']));
      await stillServes();
    });

    it.each([
      ['a wrong type', { name: 5, count: 1 }, 'name', 'STRING', 'INT', /argument "name" must be STRING, got INT/],
      ['a float for an int', { name: 'a', count: 1.5 }, 'count', 'INT', 'FLOAT', /argument "count" must be INT, got FLOAT/],
      ['a missing argument', { name: 'a' }, 'count', 'INT', 'missing', /argument "count" is required \(expected INT, got nothing\)/],
      ['a null argument', { name: null, count: 1 }, 'name', 'STRING', 'NULL', /argument "name" is required \(expected STRING, got NULL\)/],
      ['json for an optional float', { name: 'a', count: 1, ratio: { x: 1 } }, 'ratio', 'FLOAT', 'JSON', /argument "ratio" must be FLOAT, got JSON/],
    ])('%s is an InvalidArgumentError naming argument, expected and actual type', async (_label, args, argument, expected, actual, text) => {
      const err = await failure(t.host.call('good', 'describe', args));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toMatch(text);
      expect(err.details).toMatchObject({ argument, expected, actual });
      await stillServes();
    });

    it('refused arguments never reached the handler; good ones do', async () => {
      expect(await t.host.call('good', 'describeCount')).toBe(0);
      expect(await t.host.call('good', 'describe', { name: 'ada', count: 3, ratio: 2 })).toBe('ada x3');
      expect(await t.host.call('good', 'describeCount')).toBe(1);
    });

    it.each([
      ['a string', 'string', 'plain string thrown'],
      ['a number', 'number', 'a non-Error value was thrown: 42'],
      ['an object', 'object', 'a non-Error value was thrown: {"reason":"an object","code":7}'],
      ['undefined', 'undefined', 'undefined was thrown'],
      ['null', 'null', 'null was thrown'],
      ['a bigint', 'bigint', 'a non-Error value was thrown: 100000000000000000000'],
    ])('a handler that throws %s gives a PluginFunctionError describing it', async (_label, kind, message) => {
      const err = await failure(t.host.call('good', 'throwKind', { kind }));
      expect(err).toBeInstanceOf(PluginFunctionError);
      expect(err.message).toBe(message);
      await stillServes();
    });

    it('a handler that never returns is a DeadlineExceededError carrying the deadline', async () => {
      const err = await failure(t.host.call('good', 'never', {}, { timeoutMs: 300 }));
      expect(err).toBeInstanceOf(DeadlineExceededError);
      expect(err.message).toBe('Call to good.never exceeded its deadline of 300 ms.');
      expect(err.details).toEqual({ timeoutMs: 300 });
      await stillServes();
    });

    it('calls over maxInFlight get a PluginBusyError; the slots come back', async () => {
      const held = [t.host.call('good', 'never', {}, { timeoutMs: 1_000 }), t.host.call('good', 'never', {}, { timeoutMs: 1_000 })];
      const err = await failure(t.host.call('good', 'echo', { value: 1 }));
      expect(err).toBeInstanceOf(PluginBusyError);
      expect(err.message).toBe('Plugin "good" already has 2 calls in flight (maxInFlight).');
      for (const call of held) expect(await failure(call)).toBeInstanceOf(DeadlineExceededError);
      expect(t.host.get('good')?.inFlight).toBe(0);
      await stillServes();
    });

    it('arguments over maxMessageBytes fail with MessageTooLargeError before they are sent', async () => {
      const err = await failure(t.host.call('good', 'sink', { data: 'x'.repeat(MAX_BYTES + 1) }));
      expect(err).toBeInstanceOf(MessageTooLargeError);
      expect(err.message).toMatch(new RegExp(`^The message is \\d+ bytes, over the limit of ${MAX_BYTES} bytes\\.$`));
      // It never reached the plugin: the first call that does is number 1.
      expect(await t.host.call('good', 'sink', { data: 'small' })).toBe(1);
      await stillServes();
    });

    it('a result over maxMessageBytes comes back as MessageTooLargeError; the session survives', async () => {
      const err = await failure(t.host.call('good', 'bigResult', { bytes: MAX_BYTES + 1 }));
      expect(err).toBeInstanceOf(MessageTooLargeError);
      expect(err.message).toContain(`over the limit of ${MAX_BYTES} bytes`);
      expect(await t.host.call('good', 'bigResult', { bytes: 1_000 })).toHaveLength(1_000);
      expect(t.host.get('good')?.pid).toBe(goodPid);
      await stillServes();
    });

    it('a push over maxMessageBytes is refused with MessageTooLargeError and nothing is queued', async () => {
      const err = await failure((async () => t.host.push('good', 'news', 'p'.repeat(MAX_BYTES + 1)))());
      expect(err).toBeInstanceOf(MessageTooLargeError);
      expect(t.host.get('good')?.pushesQueued).toBe(0);
      await stillServes();
    });

    it("an emit over the host's maxMessageBytes fails in the plugin alone; its session survives", async () => {
      const seen: unknown[] = [];
      const sub = t.host.messages('big', 'good').subscribe((m) => seen.push(m.payload));
      try {
        expect(await t.host.call('good', 'emitBig', { bytes: MAX_BYTES + 1 })).toEqual({
          sent: false,
          error: 'MessageTooLargeError',
          message: expect.stringContaining(`over the limit of ${MAX_BYTES} bytes`),
        });
        expect(await t.host.call('good', 'emitBig', { bytes: 10 })).toEqual({ sent: true });
        await until(() => seen.length === 1, 10_000, 'the small emit');
        expect(seen).toEqual(['e'.repeat(10)]);
      } finally {
        sub.unsubscribe();
      }
      expect(t.host.get('good')?.pid).toBe(goodPid);
      await stillServes();
    });

    it('a plugin that writes garbage to stdout still works (stdout is only logs)', async () => {
      // It also wrote garbage before it booted (mode stdout-garbage) and loaded all the same.
      expect(await t.host.call('good', 'writeGarbage')).toBe('still here');
      await stillServes();
    });
  });

  describe('an authenticated session that misbehaves', () => {
    const probe = (kind: string) => t.host.call<Record<string, unknown>>('rogue', 'probe', { kind });

    it.each([
      ['undecodable bytes', 'undecodable', WireErrorCode.PROTOCOL, /could not be decoded and was dropped/],
      ['a frame of an unknown kind', 'unknown-kind', WireErrorCode.PROTOCOL, /^A frame of an unknown kind was ignored\.$/],
      ['an empty frame', 'empty-frame', WireErrorCode.PROTOCOL, /^A frame of an unknown kind was ignored\.$/],
      ['a host-to-plugin frame', 'misplaced', WireErrorCode.PROTOCOL, /^A "push" frame is not valid from a plugin; it was ignored\.$/],
      ['a second Hello', 'second-hello', WireErrorCode.PROTOCOL, /^A second Hello was ignored\.$/],
      ['a call with id 0', 'call-id-zero', WireErrorCode.PROTOCOL, /non-zero id/],
      ['an emit whose payload is not JSON', 'bad-emit', WireErrorCode.PROTOCOL, /^A "emit" frame from this plugin was rejected: /],
      ['a call to an unknown host function', 'unknown-host-function', WireErrorCode.UNKNOWN_FUNCTION, /^The host has no function "nope"; it offers: .*double/],
      ['a wrong-typed argument to a host function', 'bad-host-args', WireErrorCode.INVALID_ARGUMENT, /argument "n" must be INT, got STRING/],
      ['an argument of an unknown wire type', 'unknown-param-type', WireErrorCode.INVALID_ARGUMENT, /argument "n" must be INT, got 42/],
      ['an argument that is not valid JSON', 'bad-json-arg', WireErrorCode.INVALID_ARGUMENT, /^Argument "n" could not be decoded: /],
      [
        'a relayed call with an argument that is not valid JSON',
        'relay-bad-json-arg',
        WireErrorCode.INVALID_ARGUMENT,
        /^Argument "value" could not be decoded: /,
      ],
      ['a relayed call to an unknown plugin', 'relay-unknown-plugin', WireErrorCode.UNKNOWN_PLUGIN, /No plugin "ghost" is loaded/],
    ])('%s gets an Error frame with a clear reason, and the session goes on', async (_label, kind, code, message) => {
      const runsBefore = HostFunctions.runs;
      const reply = await probe(kind);
      expect(reply).toMatchObject({ kind: 'error', code });
      expect(reply.message).toMatch(message);
      expect(HostFunctions.runs).toBe(runsBefore);
      expect(await t.host.call('rogue', 'echo', { value: 'alive' })).toBe('alive');
      await stillServes();
    });

    it('answers to calls nobody made are dropped, and the session still works', async () => {
      expect(await probe('stray-answers')).toEqual({ kind: 'result', value: '42' });
    });

    it("a second session with the plugin's own secret is refused while the first is open", async () => {
      expect(await probe('replay')).toEqual({ code: 16, details: 'invalid or missing plugin credentials', frames: 0 });
      expect(await t.host.call('rogue', 'echo', { value: 'alive' })).toBe('alive');
    });

    it('an undecodable result is a ProtocolError for the caller', async () => {
      const err = await failure(t.host.call('rogue', 'badJson'));
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err.message).toMatch(/^Undecodable result from rogue: /);
      await stillServes();
    });

    it('an error frame with an unknown code and broken details keeps both visible', async () => {
      const err = (await failure(t.host.call('rogue', 'weirdError'))) as PluginFunctionError;
      expect(err).toBeInstanceOf(PluginFunctionError);
      expect(err.message).toBe('odd failure');
      expect(err.remoteCode).toBe('E_WEIRD');
      expect(err.remoteName).toBe('OddError');
      expect(err.details?.raw).toBe('not json');
    });

    it('an undecodable stream item fails the stream with a ProtocolError', async () => {
      const err = await failure(lastValueFrom(t.host.stream('rogue', 'badItem').pipe(toArray())));
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err.message).toMatch(/^Undecodable stream item from rogue: /);
      expect(await t.host.call('rogue', 'echo', { value: 'alive' })).toBe('alive');
      await stillServes();
    });

    it('a frame over the transport limit ends that session only: its call fails with PluginCrashedError', async () => {
      const err = await failure(t.host.call('rogue', 'huge'));
      expect(err).toBeInstanceOf(PluginCrashedError);
      await until(() => !isAlive(roguePid), 10_000, 'the rogue plugin to exit');
      await stillServes();
    });
  });
});
