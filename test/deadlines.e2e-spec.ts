import { Inject, Injectable } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallCancelledError, DeadlineExceededError, PluginBusyError, WWPLUGIN_CLIENT, type RemoteApi } from '@wwplugin/nestjs';
import { fixture, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

/** A host provider that gets the client the @nestjs/microservices way: by token, as a ClientProxy. */
@Injectable()
class Dispatcher {
  constructor(@Inject(WWPLUGIN_CLIENT) readonly client: ClientProxy) {}
}

interface DeadlineLog {
  started: string[];
  maxRunning: number;
  running: number;
  aborted: string[];
  tornDown: string[];
}

interface DeadlinesApi {
  dlHang(args: { tag?: string }): Promise<never>;
}

const failure = (p: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> =>
  p.then(
    (v) => {
      throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
    },
    (err) => err,
  );

const DEFAULT_TIMEOUT_MS = 400;

describe('deadlines: every API that expects one value gets the default deadline', () => {
  let t: TestHost;
  const log = () => t.host.call<DeadlineLog>('dl', 'dlLog');

  beforeAll(async () => {
    t = await startHost({ defaultTimeoutMs: DEFAULT_TIMEOUT_MS }, { providers: [Dispatcher] });
    await Promise.all([t.host.load(fixture('dl', 'deadlines')), t.host.load(fixture('caller', 'deadlines'))]);
  }, 60_000);

  afterAll(() => t?.close());

  it('ClientProxy.send to a handler that never answers rejects at the default deadline; the plugin is told', async () => {
    const client = t.app.get(Dispatcher).client;
    const err = await failure(firstValueFrom(client.send({ plugin: 'dl', fn: 'dlHang' }, { tag: 'send' })));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe(`Call to dl.dlHang exceeded its deadline of ${DEFAULT_TIMEOUT_MS} ms.`);
    await until(async () => (await log()).aborted.includes('send'), 10_000, 'the plugin to abort the handler');
  });

  it('ClientProxy.send to a @MessagePattern declared { stream: false } rejects at the default deadline', async () => {
    const client = t.app.get(Dispatcher).client;
    const err = await failure(firstValueFrom(client.send({ plugin: 'dl', fn: 'dl.hang' }, {})));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe(`Call to dl.dl.hang exceeded its deadline of ${DEFAULT_TIMEOUT_MS} ms.`);
  });

  it('host.stream of a function that returns one value and never answers rejects at the default deadline', async () => {
    const err = await failure(lastValueFrom(t.host.stream('dl', 'dlHang', { tag: 'stream' })));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.details).toEqual({ timeoutMs: DEFAULT_TIMEOUT_MS });
    await until(async () => (await log()).aborted.includes('stream'), 10_000, 'the plugin to abort the handler');
  });

  it('host.call and the typed proxy reject at the default deadline', async () => {
    expect(await failure(t.host.call('dl', 'dlHang', { tag: 'call' }))).toBeInstanceOf(DeadlineExceededError);
    const dl: RemoteApi<DeadlinesApi> = t.host.plugin<DeadlinesApi>('dl');
    expect(await failure(dl.dlHang({ tag: 'proxy' }))).toBeInstanceOf(DeadlineExceededError);
  });

  it('ctx.streamPlugin of a function that returns one value gets the default deadline from the host', async () => {
    const result = await t.host.call<{ error?: { name: string; code: string } }>(
      'caller',
      'dlStreamPlugin',
      { target: 'dl', fn: 'dlHang', args: { tag: 'relay' } },
      { timeoutMs: 10_000 },
    );
    expect(result.error).toMatchObject({ name: 'DeadlineExceededError', code: 'DEADLINE_EXCEEDED' });
    await until(async () => (await log()).aborted.includes('relay'), 10_000, 'the target plugin to abort the handler');
  });

  it('host.call of a streaming function resolves with its last value (null for none), within the default deadline', async () => {
    expect(await t.host.call('dl', 'dlCount', { n: 3 })).toBe(3);
    expect(await t.host.call('dl', 'dlCount', { n: 0 })).toBeNull();
    const err = await failure(t.host.call('dl', 'dlQuiet', { first: 2, tag: 'call-quiet' }));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe(`Call to dl.dlQuiet exceeded its deadline of ${DEFAULT_TIMEOUT_MS} ms.`);
  });

  it('host.stream of a function that returns one value gives that value, then completes', async () => {
    expect(await lastValueFrom(t.host.stream('dl', 'dlWork', { tag: 'one' }).pipe(toArray()))).toEqual(['one']);
  });

  it('a streaming function has no whole-call deadline: it outlives defaultTimeoutMs and completes', async () => {
    const seen: string[] = [];
    const done = lastValueFrom(t.host.stream<string>('dl', 'dlLongStream', { tag: 'long' }).pipe(toArray()));
    const watch = t.host.stream<string>('dl', 'dlLongStream', { tag: 'long-watch' }).subscribe((v) => seen.push(v));
    await until(() => seen.length === 1, 10_000, 'the first item');
    // A call with the default deadline, started after the streams, has failed by the time we go on.
    expect(await failure(t.host.call('dl', 'dlHang', { tag: 'clock' }))).toBeInstanceOf(DeadlineExceededError);
    expect(await t.host.call('dl', 'dlRelease', { tag: 'long' })).toBe(true);
    expect(await done).toEqual(['started', 'released']);
    watch.unsubscribe();
  });

  it('a @MessagePattern without extras is streaming: its stream has no whole-call deadline', async () => {
    const client = t.app.get(Dispatcher).client;
    const seen: unknown[] = [];
    let ended: 'complete' | Error | undefined;
    const sub = client.send({ plugin: 'dl', fn: 'dl.quiet' }, {}).subscribe({
      next: (v) => seen.push(v),
      error: (e) => (ended = e),
      complete: () => (ended = 'complete'),
    });
    await until(() => seen.length === 1, 10_000, 'the first item');
    // Outlive the default deadline (a call with it fails first), then check the stream is still open.
    expect(await failure(t.host.call('dl', 'dlHang', { tag: 'clock2' }))).toBeInstanceOf(DeadlineExceededError);
    expect(ended).toBeUndefined();
    sub.unsubscribe();
    await until(async () => (await log()).tornDown.includes('dl.quiet'), 10_000, 'the plugin to tear the stream down');
  });

  it('idleTimeoutMs on host.stream: no item for that long errors with DeadlineExceededError and cancels it in the plugin', async () => {
    const seen: number[] = [];
    const stream = t.host.stream<number>('dl', 'dlQuiet', { first: 2, tag: 'idle' }, { idleTimeoutMs: 200 });
    const err = await failure(new Promise((resolve, reject) => stream.subscribe({ next: (v) => seen.push(v), error: reject, complete: () => resolve(seen) })));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe('Stream dl.dlQuiet sent no item for 200 ms (its idle deadline).');
    expect(err.details).toEqual({ idleTimeoutMs: 200 });
    expect(seen).toEqual([0, 1]);
    await until(async () => (await log()).tornDown.includes('idle'), 10_000, 'the plugin to tear the stream down');
  });

  it('idleTimeoutMs on ctx.streamPlugin errors the same way in the calling plugin', async () => {
    const result = await t.host.call<{ error?: { name: string; message: string } }>(
      'caller',
      'dlStreamPlugin',
      { target: 'dl', fn: 'dlQuiet', args: { first: 1, tag: 'plugin-idle' }, idleTimeoutMs: 200 },
      { timeoutMs: 10_000 },
    );
    expect(result.error).toEqual({
      name: 'DeadlineExceededError',
      code: 'DEADLINE_EXCEEDED',
      message: 'Stream dl.dlQuiet sent no item for 200 ms (its idle deadline).',
    });
    await until(async () => (await log()).tornDown.includes('plugin-idle'), 10_000, 'the target plugin to tear the stream down');
  });
});

describe('deadlines: the host default streamIdleTimeoutMs', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost({ streamIdleTimeoutMs: 250 });
    await Promise.all([t.host.load(fixture('dl', 'deadlines')), t.host.load(fixture('caller', 'deadlines'))]);
  }, 60_000);

  afterAll(() => t?.close());

  it('applies to host.stream of a streaming function that sets none, after the items that came', async () => {
    const seen: number[] = [];
    const err = await failure(
      new Promise((resolve, reject) =>
        t.host
          .stream<number>('dl', 'dlQuiet', { first: 3, tag: 'default-idle' })
          .subscribe({ next: (v) => seen.push(v), error: reject, complete: () => resolve(seen) }),
      ),
    );
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe('Stream dl.dlQuiet sent no item for 250 ms (its idle deadline).');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('reaches plugins in Welcome: ctx.streamPlugin gets it too', async () => {
    const result = await t.host.call<{ error?: { name: string; message: string } }>('caller', 'dlStreamPlugin', {
      target: 'dl',
      fn: 'dlQuiet',
      args: { first: 1 },
    });
    expect(result.error).toMatchObject({ name: 'DeadlineExceededError', message: 'Stream dl.dlQuiet sent no item for 250 ms (its idle deadline).' });
  });

  it('idleTimeoutMs: 0 switches it off for one stream', async () => {
    const values = await firstValueFrom(t.host.stream<string>('dl', 'dlLongStream', { tag: 'no-idle' }, { idleTimeoutMs: 0 }));
    expect(values).toBe('started');
  });
});

describe("deadlines: whenBusy 'wait' (maxInFlight 1, maxQueued 20)", () => {
  let t: TestHost;
  const log = () => t.host.call<DeadlineLog>('busy', 'dlLog');
  /** Holds the only slot with a call that never answers, until `release()` aborts it. */
  const holdSlot = (tag: string) => {
    const controller = new AbortController();
    const held = failure(t.host.call('busy', 'dlHang', { tag }, { timeoutMs: 0, signal: controller.signal }));
    return { held, release: () => controller.abort() };
  };

  beforeAll(async () => {
    t = await startHost({ maxInFlight: 1, whenBusy: 'wait', maxQueued: 20, defaultTimeoutMs: 20_000 });
    await Promise.all([t.host.load(fixture('busy', 'deadlines')), t.host.load(fixture('relayer', 'deadlines'))]);
  }, 60_000);

  afterAll(() => t?.close());

  it('20 calls fired at once: the plugin never runs two at a time, and they start in the order they were made', async () => {
    await t.host.call('busy', 'dlReset');
    const tags = Array.from({ length: 20 }, (_, i) => `w${i}`);
    const results = await Promise.all(tags.map((tag) => t.host.call('busy', 'dlWork', { tag })));
    expect(results).toEqual(tags);
    const seen = await log();
    expect(seen.maxRunning).toBe(1);
    expect(seen.started).toEqual(tags);
  });

  it('a waiting call whose signal aborts rejects with CallCancelledError and never reaches the plugin; the line moves on', async () => {
    await t.host.call('busy', 'dlReset');
    const slot = holdSlot('holder');
    const controller = new AbortController();
    const waiting = failure(t.host.call('busy', 'dlWork', { tag: 'aborted' }, { timeoutMs: 300, signal: controller.signal }));
    const behind = t.host.call('busy', 'dlWork', { tag: 'behind' });
    controller.abort();
    const err = await waiting;
    expect(err).toBeInstanceOf(CallCancelledError);
    expect(err.message).toBe('Call to busy.dlWork was aborted while it waited for a free slot.');
    slot.release();
    expect(await slot.held).toBeInstanceOf(CallCancelledError);
    expect(await behind).toBe('behind');
    expect((await log()).started).toEqual(['holder', 'behind']);
    expect(t.host.get('busy')?.inFlight).toBe(0);
  });

  it('a waiting call rejects at its deadline with DeadlineExceededError; the slot and the line are free after', async () => {
    await t.host.call('busy', 'dlReset');
    const slot = holdSlot('holder');
    const err = await failure(t.host.call('busy', 'dlWork', { tag: 'late' }, { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.message).toBe('Call to busy.dlWork exceeded its deadline of 300 ms.');
    slot.release();
    await slot.held;
    expect(await t.host.call('busy', 'dlWork', { tag: 'after' })).toBe('after');
    expect((await log()).started).toEqual(['holder', 'after']);
  });

  it('past maxQueued waiting calls, the next one fails at once with PluginBusyError; the queued ones run', async () => {
    await t.host.call('busy', 'dlReset');
    const slot = holdSlot('holder');
    const tags = Array.from({ length: 20 }, (_, i) => `q${i}`);
    const queued = tags.map((tag) => t.host.call('busy', 'dlWork', { tag }));
    const err = await failure(t.host.call('busy', 'dlWork', { tag: 'overflow' }));
    expect(err).toBeInstanceOf(PluginBusyError);
    expect(err.message).toBe('Plugin "busy" already has 1 calls in flight (maxInFlight) and 20 waiting (maxQueued).');
    slot.release();
    expect(await Promise.all(queued)).toEqual(tags);
    const seen = await log();
    expect(seen.started).toEqual(['holder', ...tags]);
    expect(seen.maxRunning).toBe(1);
  });

  it('a relayed plugin-to-plugin call holds a slot too, and never waits for one: PluginBusyError', async () => {
    await t.host.call('busy', 'dlReset');
    const slot = holdSlot('holder');
    const refused = await t.host.call<{ error?: { name: string; code: string; message: string } }>('relayer', 'dlCallPlugin', {
      target: 'busy',
      fn: 'dlWork',
      args: { tag: 'relayed' },
    });
    expect(refused.error).toEqual({ name: 'PluginBusyError', code: 'BUSY', message: 'Plugin "busy" already has 1 calls in flight (maxInFlight).' });
    slot.release();
    await slot.held;
    expect(await t.host.call('relayer', 'dlCallPlugin', { target: 'busy', fn: 'dlWork', args: { tag: 'relayed' } })).toEqual({ value: 'relayed' });
    expect((await log()).started).toEqual(['holder', 'relayed']);
  });

  it('a stream waits in the same line and holds its slot until it ends', async () => {
    const slot = holdSlot('holder');
    const streamed = firstValueFrom(t.host.stream<string>('busy', 'dlLongStream', { tag: 's0' }));
    slot.release();
    await slot.held;
    expect(await streamed).toBe('started');
    await t.host.call('busy', 'dlReset');
    const first = firstValueFrom(t.host.stream<string>('busy', 'dlLongStream', { tag: 's1' }));
    expect(await first).toBe('started');
    // firstValueFrom unsubscribed: the slot is free again for a call.
    expect(await t.host.call('busy', 'dlWork', { tag: 'after-stream' })).toBe('after-stream');
    const seen: string[] = [];
    const sub = t.host.stream<string>('busy', 'dlLongStream', { tag: 's2' }).subscribe((v) => seen.push(v));
    await until(() => seen.length === 1, 10_000, 'the first item');
    const waiting = failure(t.host.call('busy', 'dlWork', { tag: 'behind-stream' }, { timeoutMs: 300 }));
    expect(await waiting).toBeInstanceOf(DeadlineExceededError);
    sub.unsubscribe();
    expect(await t.host.call('busy', 'dlWork', { tag: 'free' })).toBe('free');
  });
});

describe("deadlines: whileRestarting 'wait' honours the AbortSignal", () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost({ heartbeat: false, restart: { mode: 'always', initialBackoffMs: 60_000, maxBackoffMs: 60_000, jitter: 0 } });
    await t.host.load(fixture('phoenix', 'deadlines'));
  }, 60_000);

  afterAll(() => t?.close());

  it('a call waiting for a restarting plugin rejects with CallCancelledError when aborted', async () => {
    const restarting = waitFor(t.host.events(), (e) => e.type === 'restarting' && e.plugin === 'phoenix');
    process.kill(t.host.get('phoenix')!.pid!, 'SIGKILL');
    await restarting;
    expect(t.host.get('phoenix')?.state).toBe('restarting');
    const controller = new AbortController();
    const waiting = failure(t.host.call('phoenix', 'dlWork', { tag: 'x' }, { timeoutMs: 30_000, signal: controller.signal }));
    controller.abort();
    const err = await waiting;
    expect(err).toBeInstanceOf(CallCancelledError);
    expect(err.message).toBe('Call to phoenix.dlWork was aborted while it waited for the plugin to run.');
  });
});
