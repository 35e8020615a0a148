import { firstValueFrom, of, Subject, throwError, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../errors/wwplugin.errors.js';
import { CallObservers, type ObservedCall } from './call-observers.js';

const call = (): ObservedCall => ({ plugin: 'echo', pluginId: 'echo', fn: 'f', kind: 'call' });

function recording(): { observers: CallObservers; seen: string[] } {
  const observers = new CallObservers();
  const seen: string[] = [];
  observers.add({ start: (c) => (seen.push(`start ${c.plugin}.${c.fn}`), (outcome) => seen.push(`end ${outcome}`)) });
  return { observers, seen };
}

describe('CallObservers', () => {
  it('is inactive until an observer is added, and again once every one is removed', () => {
    const observers = new CallObservers();
    expect(observers.active).toBe(false);
    const remove = observers.add({ start: () => undefined });
    expect(observers.active).toBe(true);
    remove();
    expect(observers.active).toBe(false);
  });

  it('ends a promise with ok, or with the code of its error', async () => {
    const { observers, seen } = recording();
    await observers.observe(call(), () => Promise.resolve(1));
    await expect(observers.observe(call(), () => Promise.reject(new DeadlineExceededError('late')))).rejects.toThrow('late');
    expect(seen).toEqual(['start echo.f', 'end ok', 'start echo.f', 'end DEADLINE_EXCEEDED']);
  });

  it('ends a call that throws at once with its code, and rethrows', () => {
    const { observers, seen } = recording();
    expect(() =>
      observers.observe(call(), () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(seen).toEqual(['start echo.f', 'end HANDLER_ERROR']);
  });

  it('ends an Observable when it completes, fails or is unsubscribed early', async () => {
    const { observers, seen } = recording();
    expect(await firstValueFrom(observers.observe(call(), () => of(1, 2)).pipe(toArray()))).toEqual([1, 2]);
    await expect(firstValueFrom(observers.observe(call(), () => throwError(() => new DeadlineExceededError('x'))))).rejects.toThrow('x');
    const never = new Subject<number>();
    observers
      .observe(call(), () => never)
      .subscribe()
      .unsubscribe();
    expect(seen.filter((s) => s.startsWith('end'))).toEqual(['end ok', 'end DEADLINE_EXCEEDED', 'end CANCELLED']);
  });

  it('ends an async iterable when the loop finishes or is left early, once', async () => {
    const { observers, seen } = recording();
    async function* three() {
      yield* [1, 2, 3];
    }
    const all: number[] = [];
    for await (const v of observers.observe(call(), three)) all.push(v);
    for await (const v of observers.observe(call(), three)) if (v === 1) break;
    expect(all).toEqual([1, 2, 3]);
    expect(seen.filter((s) => s.startsWith('end'))).toEqual(['end ok', 'end CANCELLED']);
  });

  it('tells every observer, and each one once', async () => {
    const { observers, seen } = recording();
    const other: string[] = [];
    observers.add({ start: () => (outcome) => other.push(outcome) });
    await observers.observe(call(), () => 'value');
    expect(seen).toEqual(['start echo.f', 'end ok']);
    expect(other).toEqual(['ok']);
  });
});
