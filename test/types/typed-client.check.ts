// Compiled (never run) by test/typed-client.e2e-spec.ts: every `@ts-expect-error` below must meet a
// real type error, and every unmarked line must compile, or tsc fails and so does the test.
import { Injectable } from '@nestjs/common';
import { PluginContext, PluginHostService, type RemoteApi } from '@wwplugin/nestjs';
import type { Observable } from 'rxjs';
import type { EchoApi } from '../../apps/echo/src/echo.functions.js';

/** Exact type equality, so a widened `any` result fails the check instead of passing it. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

interface MathApi {
  add(args: { a: number; b: number }): number;
  ping(): Promise<'pong'>;
  maybe(args?: { verbose?: boolean }): string[];
  ticks(args: { count: number }): Observable<number>;
}

interface HostApi {
  sum(args: { ids: number[] }): Promise<number>;
}

export async function fromTheHost(host: PluginHostService): Promise<void> {
  const echo = host.plugin<EchoApi>('echo');

  const greeting = await echo.greet({ name: 'Ada' });
  assertType<Equals<typeof greeting, string>>();
  const sum = await echo.add({ a: 1, b: 2 }, { timeoutMs: 1_000 });
  assertType<Equals<typeof sum, number>>();
  assertType<Equals<ReturnType<typeof echo.greet>, Promise<string>>>();

  // @ts-expect-error -- wrong argument type
  await echo.greet({ name: 42 });
  // @ts-expect-error -- missing required argument property
  await echo.greet({});
  // @ts-expect-error -- arguments are required
  await echo.greet();
  // @ts-expect-error -- unknown argument property (excess property check)
  await echo.add({ a: 1, b: 2, c: 3 });
  // @ts-expect-error -- no such function
  await echo.greeet({ name: 'Ada' });
  // @ts-expect-error -- wrong result type
  const wrong: number = await echo.greet({ name: 'Ada' });
  // @ts-expect-error -- call options are typed too
  await echo.add({ a: 1, b: 2 }, { timeoutMs: '1s' });
  // @ts-expect-error -- the proxy returns a Promise, not the bare value
  const notAwaited: string = echo.greet({ name: 'Ada' });

  const math = host.plugin<MathApi>('math');
  const pong = await math.ping();
  assertType<Equals<typeof pong, 'pong'>>();
  // @ts-expect-error -- a function without arguments takes none
  await math.ping({ x: 1 });
  const lines = await math.maybe();
  assertType<Equals<typeof lines, string[]>>();
  await math.maybe({ verbose: true });
  // @ts-expect-error -- optional arguments are still typed
  await math.maybe({ verbose: 'yes' });
  // A streaming function called as a call resolves with its values' type.
  const last = await math.ticks({ count: 3 });
  assertType<Equals<typeof last, number>>();
  void wrong;
  void notAwaited;
}

@Injectable()
export class FromAPlugin {
  constructor(private readonly ctx: PluginContext) {}

  async run(): Promise<void> {
    const echo = this.ctx.plugin<EchoApi>('echo');
    const greeting = await echo.greet({ name: 'Ada' });
    assertType<Equals<typeof greeting, string>>();
    // @ts-expect-error -- wrong argument type
    await echo.add({ a: '1', b: 2 });
    // @ts-expect-error -- wrong result type
    const n: number = await echo.greet({ name: 'Ada' });

    const host = this.ctx.host<HostApi>();
    const total = await host.sum({ ids: [1, 2] });
    assertType<Equals<typeof total, number>>();
    // @ts-expect-error -- wrong argument type
    await host.sum({ ids: ['1'] });
    // @ts-expect-error -- no such host function
    await host.product({ ids: [1] });
    void n;
  }
}

// RemoteApi is usable on its own, e.g. to type a field.
export type EchoClient = RemoteApi<EchoApi>;
export const greetType: Equals<Awaited<ReturnType<EchoClient['greet']>>, string> = true;
