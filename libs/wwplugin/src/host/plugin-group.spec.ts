import { describe, expect, it } from 'vitest';
import type { PluginState } from '../interfaces/host-options.interface.js';
import { ManagedPlugin } from './managed-plugin.js';
import { latest, PluginGroup } from './plugin-group.js';
import { PluginRegistry } from './plugin.registry.js';

const plugin = (id: string, name = 'work') => new ManagedPlugin(id, { path: 'x.js', name }, { pushBufferSize: 10, pushOverflow: 'drop-oldest' });

/** Walks an instance's lifecycle to `state` through legal moves. */
function put(p: ManagedPlugin, state: PluginState): ManagedPlugin {
  const path: Record<PluginState, PluginState[]> = {
    stopped: [],
    starting: ['starting'],
    running: ['starting', 'running'],
    restarting: ['starting', 'running', 'restarting'],
    unresponsive: ['starting', 'running', 'unresponsive'],
    stopping: ['starting', 'stopping'],
    failed: ['failed'],
    disconnected: ['disconnected'],
  };
  for (const s of path[state]) p.lifecycle.moveTo(s);
  return p;
}

describe('PluginGroup', () => {
  it('picks the running instance with the fewest calls in flight, the lowest index on a tie', () => {
    const group = new PluginGroup('work');
    const [a, b, c] = [put(plugin('w-a'), 'running'), put(plugin('w-b'), 'running'), put(plugin('w-c'), 'restarting')];
    for (const p of [a, b, c]) group.add(p);
    expect([a.instance, b.instance, c.instance]).toEqual([0, 1, 2]);
    const load = new Map([
      [a, 3],
      [b, 1],
      [c, 0],
    ]);
    // c has nothing in flight but is not running: never picked.
    expect(group.pick((p) => load.get(p)!)).toBe(b);
    load.set(b, 3);
    expect(group.pick((p) => load.get(p)!)).toBe(a);
    put(c, 'stopped');
    expect(group.state).toBe('running');
  });

  it('reports its best state, and a running representative', () => {
    const group = new PluginGroup('work');
    const a = put(plugin('w-a'), 'failed');
    const b = put(plugin('w-b'), 'restarting');
    group.add(a);
    group.add(b);
    expect(group.state).toBe('restarting');
    expect(group.representative()).toBe(a);
    expect(group.pick(() => 0)).toBeUndefined();
    b.lifecycle.moveTo('running');
    expect(group.representative()).toBe(b);
  });

  it('a removed instance leaves its index free for the next one; the others keep theirs', () => {
    const group = new PluginGroup('work');
    const [a, b, c] = [plugin('w-a'), plugin('w-b'), plugin('w-c')];
    for (const p of [a, b, c]) group.add(p);
    group.remove(b);
    const d = plugin('w-d');
    group.add(d);
    expect(group.instances.map((p) => [p.id, p.instance])).toEqual([
      ['w-a', 0],
      ['w-d', 1],
      ['w-c', 2],
    ]);
  });

  it('waits until any instance runs; rejects once none is coming back', async () => {
    const group = new PluginGroup('work');
    const [a, b] = [put(plugin('w-a'), 'restarting'), put(plugin('w-b'), 'restarting')];
    group.add(a);
    group.add(b);
    const running = group.whenRunning(0, 'test');
    b.lifecycle.moveTo('running');
    await expect(running).resolves.toBeUndefined();
    const [c, d] = [put(plugin('w-c'), 'restarting'), put(plugin('w-d'), 'restarting')];
    const other = new PluginGroup('other');
    other.add(c);
    other.add(d);
    const never = other.whenRunning(0, 'test');
    c.lifecycle.moveTo('failed');
    d.lifecycle.moveTo('stopped');
    await expect(never).rejects.toThrow('is not running (state: failed)');
  });
});

describe('PluginRegistry with instance sets', () => {
  it('join adds instances to the set serving a name; ids name one instance, the name the set', () => {
    const registry = new PluginRegistry();
    const a = registry.add(plugin('w-a')).instances[0];
    const remote = plugin('remote-1');
    const group = registry.join('work', remote);
    expect(group).toBe(a.group);
    expect(remote.instance).toBe(1);
    expect(registry.target('work')).toBe(group);
    expect(registry.target('remote-1')).toBe(remote);
    expect(registry.all()).toEqual([a, remote]);
    expect(registry.names()).toEqual(['work']);
    expect(remote.info()).toMatchObject({ instance: 1, instances: 2, name: 'work' });
    // The name is free once the last instance leaves.
    registry.remove(a);
    expect(registry.names()).toEqual(['work']);
    registry.remove(remote);
    expect(registry.names()).toEqual([]);
    expect(() => registry.target('work')).toThrow('No plugin "work" is loaded');
  });

  it('an upgrade: the new set is known by id only, may share the name, and takes it over at once', () => {
    const registry = new PluginRegistry();
    const old = registry.add(plugin('w-old'));
    const next = new PluginGroup('work', old.operations);
    next.add(plugin('w-new'));
    next.replaces = old;
    registry.addPending(next);
    expect(registry.target('work')).toBe(old);
    expect(registry.byId('w-new')).toBe(next.instances[0]);
    // Its Hello under the same name is no clash.
    expect(registry.holder('work', next.instances[0])).toBeUndefined();
    expect(registry.holder('work', plugin('w-stranger'))).toBe(old.instances[0]);
    registry.replace(old, next);
    expect(registry.target('work')).toBe(next);
    expect(latest(old)).toBe(next);
    // The old instance stays addressable by id until it has drained.
    expect(registry.target('w-old')).toBe(old.instances[0]);
    registry.remove(old.instances[0]);
    expect(registry.all().map((p) => p.id)).toEqual(['w-new']);
  });
});
