import { describe, expect, it } from 'vitest';
import { PluginOperations } from './plugin-operations.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('PluginOperations', () => {
  it('runs operations one at a time, in the order asked, whatever each takes', async () => {
    const ops = new PluginOperations();
    const log: string[] = [];
    const op = (name: string, ticks: number) => async () => {
      log.push(`${name}:start`);
      for (let i = 0; i < ticks; i++) await tick();
      log.push(`${name}:end`);
      return name;
    };
    const results = await Promise.all([ops.run(op('a', 5)), ops.run(op('b', 0)), ops.run(op('c', 2))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(ops.size).toBe(0);
  });

  it('a failed operation rejects its own caller only; the next one still runs', async () => {
    const ops = new PluginOperations();
    const first = ops.run(async () => {
      throw new Error('boom');
    });
    const second = ops.run(async () => 'ran');
    expect(ops.size).toBe(2);
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('ran');
    expect(ops.size).toBe(0);
  });
});
