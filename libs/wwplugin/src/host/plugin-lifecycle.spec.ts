import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, IllegalTransitionError, PluginNotRunningError } from '../errors/wwplugin.errors.js';
import type { PluginState } from '../interfaces/host-options.interface.js';
import { PluginLifecycle, TRANSITIONS } from './plugin-lifecycle.js';

const STATES: PluginState[] = ['starting', 'running', 'unresponsive', 'restarting', 'stopping', 'stopped', 'failed', 'disconnected'];

/** A lifecycle walked to `state` along legal moves, and the bugs it reported. */
function at(state: PluginState): { lc: PluginLifecycle; bugs: IllegalTransitionError[] } {
  const bugs: IllegalTransitionError[] = [];
  const lc = new PluginLifecycle(
    () => 'p',
    (e) => bugs.push(e),
  );
  const path: Record<PluginState, PluginState[]> = {
    stopped: [],
    starting: ['starting'],
    running: ['starting', 'running'],
    unresponsive: ['starting', 'running', 'unresponsive'],
    restarting: ['starting', 'running', 'restarting'],
    stopping: ['starting', 'running', 'stopping'],
    failed: ['starting', 'running', 'failed'],
    disconnected: ['disconnected'],
  };
  for (const s of path[state]) expect(lc.moveTo(s)).toBe(true);
  expect(lc.state).toBe(state);
  expect(bugs).toEqual([]);
  return { lc, bugs };
}

describe('PluginLifecycle', () => {
  it('starts stopped', () => {
    expect(
      new PluginLifecycle(
        () => 'p',
        () => undefined,
      ).state,
    ).toBe('stopped');
  });

  it('the transition table, exactly', () => {
    expect(TRANSITIONS).toEqual({
      stopped: ['starting', 'failed', 'disconnected'],
      failed: ['starting', 'stopped'],
      starting: ['running', 'stopping', 'stopped'],
      running: ['stopping', 'unresponsive', 'restarting', 'stopped', 'failed', 'disconnected'],
      unresponsive: ['stopping', 'restarting', 'stopped', 'failed', 'disconnected'],
      disconnected: ['running', 'stopped'],
      restarting: ['restarting', 'running', 'stopping', 'stopped', 'failed'],
      stopping: ['stopped'],
    });
  });

  // Every pair of states: a legal move happens; an illegal one is refused, keeps the state and is reported.
  for (const from of STATES) {
    for (const to of STATES) {
      const legal = TRANSITIONS[from].includes(to);
      it(`${from} -> ${to} is ${legal ? 'legal' : 'illegal'}`, () => {
        const { lc, bugs } = at(from);
        const seen: PluginState[] = [];
        const sub = lc.changes.subscribe((s) => seen.push(s));
        expect(lc.can(to)).toBe(legal);
        expect(lc.moveTo(to)).toBe(legal);
        sub.unsubscribe();
        if (legal) {
          expect(lc.state).toBe(to);
          expect(bugs).toEqual([]);
          // A self-move (restarting -> restarting) announces nothing new.
          expect(seen).toEqual(from === to ? [from] : [from, to]);
        } else {
          expect(lc.state).toBe(from);
          expect(seen).toEqual([from]);
          expect(bugs).toHaveLength(1);
          expect(bugs[0]).toBeInstanceOf(IllegalTransitionError);
          expect(bugs[0]!.details).toEqual({ plugin: 'p', from, to });
          expect(bugs[0]!.message).toContain(`Illegal lifecycle transition of plugin "p": ${from} -> ${to}`);
        }
      });
    }
  }

  it('whenRunning resolves on running and rejects with the state it settled in', async () => {
    const { lc } = at('starting');
    const running = lc.whenRunning(0, 'test');
    lc.moveTo('running');
    await expect(running).resolves.toBeUndefined();

    const { lc: lc2 } = at('restarting');
    const failed = lc2.whenRunning(0, 'test');
    lc2.moveTo('failed');
    const err = await failed.catch((e) => e);
    expect(err).toBeInstanceOf(PluginNotRunningError);
    expect(err.details).toEqual({ state: 'failed' });
  });

  it('whenRunning gives up after its timeout with DeadlineExceededError', async () => {
    const { lc } = at('restarting');
    await expect(lc.whenRunning(20, 'Call')).rejects.toBeInstanceOf(DeadlineExceededError);
  });

  it('until resolves at the first matching state, at once when the current one matches', async () => {
    const { lc } = at('unresponsive');
    await expect(lc.until((s) => s === 'unresponsive')).resolves.toBe('unresponsive');
    const next = lc.until((s) => s !== 'unresponsive');
    lc.moveTo('restarting');
    await expect(next).resolves.toBe('restarting');
  });
});
