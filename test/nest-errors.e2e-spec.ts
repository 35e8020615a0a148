import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateFunctionError, PluginConfigurationError, PluginFunctionError, PluginStartError, type WwPluginError } from '@wwplugin/nestjs';
import { fixture, startHost, type TestHost } from './support/host-harness.js';

async function rejection(p: Promise<unknown>): Promise<WwPluginError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as WwPluginError;
}

// What a handler throws arrives at the caller with its meaning: the same from a provider's
// @PluginFunction, a controller's @PluginFunction and a @MessagePattern handler.
describe('nest: errors keep their meaning from every kind of handler', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost();
    await t.host.load(fixture('errs', 'nest-errors'));
  });
  afterAll(() => t?.close());

  const kinds = ['errors.provider', 'errors.controller', 'errors.pattern'];

  it.each(kinds)('%s: RpcException with an object: its message, code and object', async (fn) => {
    const err = (await rejection(t.host.call('errs', fn, { kind: 'rpc-object' }))) as PluginFunctionError;
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.message).toBe('rpc object');
    expect(err.remoteCode).toBe('E_RPC');
    expect(err.remoteName).toBe('RpcException');
    expect(err.details?.error).toEqual({ message: 'rpc object', code: 'E_RPC' });
  });

  it.each(kinds)('%s: RpcException with a string: the string is the message', async (fn) => {
    const err = (await rejection(t.host.call('errs', fn, { kind: 'rpc-string' }))) as PluginFunctionError;
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.message).toBe('rpc string');
    expect(err.remoteCode).toBeUndefined();
    expect(err.remoteName).toBe('RpcException');
  });

  it.each(kinds)('%s: HttpException: its status, response and code', async (fn) => {
    const err = (await rejection(t.host.call('errs', fn, { kind: 'http' }))) as PluginFunctionError;
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.message).toBe('teapot');
    expect(err.status).toBe(418);
    expect(err.remoteCode).toBe('E_TEA');
    expect(err.remoteName).toBe('HttpException');
    expect(err.details?.response).toEqual({ message: 'teapot', code: 'E_TEA' });
  });

  it.each(kinds)('%s: an Error with a code: the code', async (fn) => {
    const err = (await rejection(t.host.call('errs', fn, { kind: 'coded' }))) as PluginFunctionError;
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.message).toBe('coded');
    expect(err.remoteCode).toBe('E_CODED');
    expect(err.remoteName).toBe('Error');
  });

  it.each(kinds)('%s: a library error raised in the plugin keeps its class', async (fn) => {
    const err = await rejection(t.host.call('errs', fn, { kind: 'library' }));
    expect(err).toBeInstanceOf(PluginConfigurationError);
    expect(err.message).toBe('misconfigured');
    expect(err.details).toEqual({ option: 'x' });
  });

  it.each(kinds)('%s: a guard refusing with an RpcException: its code', async (fn) => {
    const err = (await rejection(t.host.call('errs', fn, { kind: 'coded', guard: 'rpc' }))) as PluginFunctionError;
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.message).toBe('bad token');
    expect(err.remoteCode).toBe('E_TOKEN');
  });

  it.each(kinds)('%s: a guard answering false: ForbiddenException, status 403', async (fn) => {
    const err = (await rejection(t.host.call('errs', fn, { kind: 'coded', guard: 'false' }))) as PluginFunctionError;
    expect(err).toBeInstanceOf(PluginFunctionError);
    expect(err.remoteName).toBe('ForbiddenException');
    expect(err.status).toBe(403);
    expect(err.remoteCode).toBe('403');
  });
});

// A library error that stops a plugin from starting keeps its class: it is the cause of the PluginStartError.
describe('nest: start failures keep their class', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startHost();
  });
  afterAll(() => t?.close());

  it('a duplicate function at bootstrap: PluginStartError caused by DuplicateFunctionError', async () => {
    const err = await t.host.load(fixture('twice', 'duplicate-function')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginStartError);
    const start = err as PluginStartError;
    expect(start.cause).toBeInstanceOf(DuplicateFunctionError);
    expect((start.cause as Error).message).toBe(
      'Plugin function "greet" is declared twice: by FirstGreeter.hello and by SecondGreeter.greet. Give one of them another name.',
    );
    // The marker line is not part of the tail shown to people.
    expect(start.stderrTail).not.toContain('wwplugin:start-error');
    expect(start.stderrTail).toContain('is declared twice');
  });
});
