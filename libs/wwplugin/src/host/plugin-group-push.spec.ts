import { describe, expect, it } from 'vitest';
import type { PluginState } from '../interfaces/host-options.interface.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { pushPick } from './plugin-group.js';

/** An instance as pushPick sees it: its state and how many pushes it has pending. */
const instance = (name: string, state: PluginState, pending = 0) =>
  ({ name, state, outbox: { size: pending, unacked: 0 } }) as unknown as ManagedPlugin & { name: string };

describe('pushPick (where a push for any one instance goes)', () => {
  it('a running instance first, the fewest pending, the first on a tie', () => {
    const set = [instance('a', 'running', 3), instance('b', 'restarting', 0), instance('c', 'running', 1), instance('d', 'running', 1)];
    expect(pushPick(set)?.name).toBe('c');
  });

  it('with none running, one coming back (restarting, starting, unresponsive, disconnected) before one stopped or failed', () => {
    expect(pushPick([instance('a', 'failed'), instance('b', 'starting', 5), instance('c', 'stopped')])?.name).toBe('b');
    expect(pushPick([instance('a', 'stopping'), instance('b', 'disconnected')])?.name).toBe('b');
  });

  it('with every instance down: any (the push waits for its start), or none when only live ones may take it', () => {
    const down = [instance('a', 'stopped', 2), instance('b', 'failed', 1), instance('c', 'stopping', 0)];
    expect(pushPick(down)?.name).toBe('c');
    expect(pushPick(down, true)).toBeUndefined();
    expect(pushPick([], true)).toBeUndefined();
  });
});
