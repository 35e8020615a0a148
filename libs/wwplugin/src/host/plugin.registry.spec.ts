import { describe, expect, it } from 'vitest';
import { DuplicatePluginError, UnknownPluginError } from '../errors/wwplugin.errors.js';
import { ManagedPlugin } from './managed-plugin.js';
import { PluginRegistry } from './plugin.registry.js';

const plugin = (id: string, name?: string) => new ManagedPlugin(id, { path: 'x.js', name }, { pushBufferSize: 10, pushOverflow: 'drop-oldest' });

describe('PluginRegistry', () => {
  it('a name is held by one entry, whatever its state: a second add is a DuplicatePluginError naming the holder', () => {
    const registry = new PluginRegistry();
    const first = plugin('echo-1', 'echo');
    registry.add(first);
    expect(first.state).toBe('stopped');
    const err = (() => {
      try {
        registry.add(plugin('echo-2', 'echo'));
      } catch (e) {
        return e as DuplicatePluginError;
      }
    })();
    expect(err).toBeInstanceOf(DuplicatePluginError);
    expect(err!.message).toBe(
      'A plugin named "echo" is already loaded (id echo-1, state: stopped). Use start("echo") or restart("echo") to run it again, or unload("echo") first.',
    );
    expect(err!.details).toEqual({ plugin: 'echo', id: 'echo-1', state: 'stopped' });
    expect(registry.all()).toEqual([first]);
  });

  it('find and resolve by id, then by the one name; holder excludes the asking entry', () => {
    const registry = new PluginRegistry();
    const echo = plugin('echo-1', 'echo');
    const anon = plugin('plugin-2'); // no spec name: holds its id until Hello
    registry.add(echo);
    registry.add(anon);
    expect(registry.find('echo')).toBe(echo);
    expect(registry.find('echo-1')).toBe(echo);
    expect(registry.find('plugin-2')).toBe(anon);
    expect(registry.holder('echo', echo)).toBeUndefined();
    expect(registry.holder('echo', anon)).toBe(echo);
    expect(() => registry.assertNameFree('echo', anon)).toThrow(DuplicatePluginError);
    expect(() => registry.resolve('nope')).toThrow(UnknownPluginError);
  });

  it('remove frees the name, and only removes the entry it is given', () => {
    const registry = new PluginRegistry();
    const first = plugin('a-1', 'a');
    registry.add(first);
    registry.remove(first);
    expect(registry.has(first)).toBe(false);
    const second = plugin('a-2', 'a');
    registry.add(second);
    registry.remove(first); // a stale handle removes nothing
    expect(registry.has(second)).toBe(true);
    expect(registry.names()).toEqual(['a']);
  });
});
