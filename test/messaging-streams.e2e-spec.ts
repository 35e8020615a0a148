import { Inject, Injectable } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  PluginClientProxy,
  PluginFunctionError,
  UnknownFunctionError,
  UnknownPluginError,
  WWPLUGIN_CLIENT,
  type PluginEvent,
} from '@wwplugin/nestjs';
import type { Tick } from '../apps/ticker/src/ticker.functions.js';
import { APP, collect, fixture, isAlive, startHost, until, waitFor, type TestHost } from './support/host-harness.js';

/** A host provider that gets the client the @nestjs/microservices way: by token, as a ClientProxy. */
@Injectable()
class Dispatcher {
  constructor(@Inject(WWPLUGIN_CLIENT) readonly client: ClientProxy) {}
}

describe('messaging: streaming results, the ClientProxy and lifecycle events', () => {
  let t: TestHost;
  const streamState = (tag: string) => t.host.call<{ produced: number; tornDown: boolean } | null>('a', 'streamState', { tag });

  beforeAll(async () => {
    t = await startHost({ heartbeat: false }, { providers: [Dispatcher] });
    await Promise.all([t.host.load(fixture('a', 'messaging')), t.host.load(APP('ticker'))]);
  }, 60_000);

  afterAll(() => t?.close());

  describe('streaming functions', () => {
    it('delivers N values, then completes; the plugin finished its stream', async () => {
      const values = await lastValueFrom(t.host.stream<number>('a', 'ticks', { count: 20, intervalMs: 1, tag: 'full' }).pipe(toArray()));
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(await streamState('full')).toEqual({ produced: 20, tornDown: true });
    });

    it('an early unsubscribe cancels the stream in the plugin: its teardown runs', async () => {
      const seen: number[] = [];
      const sub = t.host.stream<number>('a', 'ticks', { count: 1_000_000, intervalMs: 5, tag: 'early' }).subscribe((v) => seen.push(v));
      await until(() => seen.length >= 3, 10_000, 'three values');
      sub.unsubscribe();
      await until(async () => (await streamState('early'))?.tornDown === true, 10_000, 'the plugin to tear the stream down');
      expect((await streamState('early'))!.produced).toBeLessThan(1_000_000);
    });

    it('take(n) on the host is an early unsubscribe too', async () => {
      expect(await lastValueFrom(t.host.stream('a', 'ticks', { count: 1_000_000, intervalMs: 5, tag: 'take' }).pipe(take(2), toArray()))).toEqual([0, 1]);
      await until(async () => (await streamState('take'))?.tornDown === true, 10_000, 'teardown after take(2)');
    });

    it('errors with the typed error when the plugin stream fails, after the values before it', async () => {
      const seen: number[] = [];
      const failure = await new Promise<Error>((resolve, reject) =>
        t.host
          .stream<number>('a', 'brokenStream', { before: 3 })
          .subscribe({ next: (v) => seen.push(v), error: resolve, complete: () => reject(new Error('completed')) }),
      );
      expect(seen).toEqual([0, 1, 2]);
      expect(failure).toBeInstanceOf(PluginFunctionError);
      expect(failure.message).toBe('stream broke after 3 values');
      expect((failure as PluginFunctionError).remoteCode).toBe('E_STREAM');
    });

    it('unknown plugin or function: a typed error, at subscription', async () => {
      await expect(lastValueFrom(t.host.stream('a', 'nope'))).rejects.toBeInstanceOf(UnknownFunctionError);
      await expect(lastValueFrom(t.host.stream('nobody', 'ticks'))).rejects.toBeInstanceOf(UnknownPluginError);
    });

    it('a plain function streamed gives its one result', async () => {
      expect(await lastValueFrom(t.host.stream('a', 'add', { a: 2, b: 3 }).pipe(toArray()))).toEqual([5]);
    });

    it('the ticker example streams ticks and completes', async () => {
      const ticks = await lastValueFrom(t.host.stream<Tick>('ticker', 'ticks', { count: 3, everyMs: 5 }).pipe(toArray()));
      expect(ticks.map((x) => x.n)).toEqual([1, 2, 3]);
      expect(new Date(ticks[0].at).getTime()).not.toBeNaN();
    });
  });

  describe('ClientProxy', () => {
    it('is the same client by class and by WWPLUGIN_CLIENT, and a real ClientProxy', () => {
      const client = t.app.get(Dispatcher).client;
      expect(client).toBeInstanceOf(ClientProxy);
      expect(client).toBe(t.app.get(PluginClientProxy));
    });

    it('client.send({ plugin, fn }, args) returns an Observable of the result', async () => {
      const client = t.app.get(Dispatcher).client;
      expect(await firstValueFrom(client.send({ plugin: 'a', fn: 'add' }, { a: 40, b: 2 }))).toBe(42);
      expect(await firstValueFrom(client.send({ plugin: 'ticker', fn: 'startTicking' }, { everyMs: 60_000, topic: 'quiet' }))).toBe('quiet');
      expect(await firstValueFrom(client.send({ plugin: 'ticker', fn: 'stopTicking' }, {}))).toBe(true);
    });

    it('client.send to a streaming function gives every value', async () => {
      const client = t.app.get(Dispatcher).client;
      expect(await lastValueFrom(client.send({ plugin: 'a', fn: 'ticks' }, { count: 4, intervalMs: 1, tag: 'client' }).pipe(toArray()))).toEqual([0, 1, 2, 3]);
    });

    it('client.send errors are the typed errors', async () => {
      const client = t.app.get(Dispatcher).client;
      await expect(firstValueFrom(client.send({ plugin: 'a', fn: 'missing' }, {}))).rejects.toBeInstanceOf(UnknownFunctionError);
      await expect(firstValueFrom(client.send({ plugin: 'a', fn: 'fail' }, { message: 'nope' }))).rejects.toMatchObject({
        name: 'PluginFunctionError',
        message: 'nope',
      });
      await expect(firstValueFrom(client.send({ plugin: 'a' }, {}))).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('client.emit({ plugin, topic }, payload) pushes to the plugin', async () => {
      const client = t.app.get(Dispatcher).client;
      for (let i = 0; i < 10; i++) client.emit({ plugin: 'a', topic: 'from-client' }, { i });
      expect(await firstValueFrom(client.emit({ plugin: '*', topic: 'from-client' }, { i: 10 }))).toBe(2);
      await until(async () => (await t.host.call<number>('a', 'pushCount', { topic: 'from-client' })) === 11, 10_000, 'eleven pushes');
      const log = await t.host.call<{ payloads: unknown[] }>('a', 'pushLog', { topic: 'from-client' });
      expect(log.payloads).toEqual(Array.from({ length: 11 }, (_, i) => ({ i })));
    });
  });

  describe('lifecycle events', () => {
    it('events() reports loaded, ready, stopped, exited (code and signal), unloaded', async () => {
      const seen: PluginEvent[] = [];
      const sub = t.host.events().subscribe((e) => e.plugin === 'ev' && seen.push(e));
      const info = await t.host.load(fixture('ev'));
      await t.host.stop('ev');
      await t.host.start('ev');
      await t.host.unload('ev');
      sub.unsubscribe();
      const types = seen.map((e) => e.type);
      // load; stop: the process exits, then the plugin is stopped; start; unload (a stop, then forget).
      expect(types).toEqual(['loaded', 'ready', 'exited', 'stopped', 'ready', 'exited', 'stopped', 'unloaded']);
      expect(seen[0]).toEqual({ type: 'loaded', plugin: 'ev', id: info.id });
      expect(seen[1]).toMatchObject({ type: 'ready', plugin: 'ev', id: info.id, pid: info.pid });
      // stop: the process exits cleanly and the plugin is stopped; start: ready again.
      expect(seen.filter((e) => e.type === 'exited')).toEqual([
        { type: 'exited', plugin: 'ev', id: info.id, code: 0, signal: null },
        { type: 'exited', plugin: 'ev', id: info.id, code: 0, signal: null },
      ]);
      expect(seen.at(-1)).toEqual({ type: 'unloaded', plugin: 'ev', id: info.id });
      expect(t.host.get('ev')).toBeUndefined();
    }, 30_000);

    it('a killed plugin: exited carries the signal', async () => {
      const info = await t.host.load(fixture('victim', '', { restart: { mode: 'never' } }));
      const exited = waitFor(t.host.events(), (e) => e.type === 'exited' && e.plugin === 'victim');
      process.kill(info.pid!, 'SIGKILL');
      expect(await exited).toEqual({ type: 'exited', plugin: 'victim', id: info.id, code: null, signal: 'SIGKILL' });
      await until(() => !isAlive(info.pid), 10_000, 'the process to be gone');
      await t.host.unload('victim');
    }, 30_000);

    it('events() is an Observable each subscriber gets from its subscription on', async () => {
      const two = collect(t.host.events(), 2, 20_000);
      await t.host.load(fixture('late'));
      expect((await two).map((e) => [e.type, e.plugin])).toEqual([
        ['loaded', 'late'],
        ['ready', 'late'],
      ]);
      await t.host.unload('late');
    }, 30_000);
  });
});
