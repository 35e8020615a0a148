import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HeartbeatOptions, PluginEvent } from '../../interfaces/host-options.interface.js';
import type { HostEvents } from '../host-events.js';
import type { ManagedPlugin } from '../managed-plugin.js';
import type { PluginLauncher } from '../plugin-launcher.js';
import type { PluginRegistry } from '../plugin.registry.js';
import { HeartbeatScheduler } from './heartbeat.scheduler.js';

interface FakePlugin {
  name: string;
  state: string;
  pid: number;
  ref: { plugin: string };
  heartbeat: { seq: number; outstandingSeq: number; sentAt: number; missed: number };
  channel: { send: (frame: { ping: { seq: number } }) => void };
  lifecycle: { moveTo: (state: string) => void };
  /** When each ping was sent (fake clock). */
  pings: number[];
  /** Answers its pings at once (as the router does with a pong). */
  answers: boolean;
}

// The scheduler on a fake clock: which ping goes out when, and when a silent plugin is given up.
describe('HeartbeatScheduler', () => {
  let plugins: FakePlugin[];
  let events: PluginEvent[];
  let killed: string[];
  let scheduler: HeartbeatScheduler | undefined;

  const plugin = (name: string, answers = true): FakePlugin => {
    const p: FakePlugin = {
      name,
      state: 'running',
      pid: 1,
      ref: { plugin: name },
      heartbeat: { seq: 0, outstandingSeq: 0, sentAt: 0, missed: 0 },
      pings: [],
      answers,
      channel: {
        send: ({ ping }) => {
          p.pings.push(Date.now());
          // The pong arrives later in the same turn of the clock, like a quick answer.
          if (p.answers) queueMicrotask(() => p.heartbeat.outstandingSeq === ping.seq && ((p.heartbeat.outstandingSeq = 0), (p.heartbeat.missed = 0)));
        },
      },
      lifecycle: { moveTo: (state) => (p.state = state) },
    };
    plugins.push(p);
    return p;
  };

  const start = (heartbeat?: HeartbeatOptions) => {
    const registry = { all: () => plugins } as unknown as PluginRegistry;
    const launcher = { kill: (p: ManagedPlugin) => killed.push(p.name) } as unknown as PluginLauncher;
    const hostEvents = { emit: (e: PluginEvent) => events.push(e) } as unknown as HostEvents;
    scheduler = new HeartbeatScheduler({ heartbeat }, registry, launcher, hostEvents);
    scheduler.onApplicationBootstrap();
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    plugins = [];
    events = [];
    killed = [];
  });

  afterEach(() => {
    scheduler?.beforeApplicationShutdown();
    scheduler = undefined;
    vi.useRealTimers();
  });

  it('pings each running plugin once per interval from its first ping, with one timer for all', async () => {
    start({ intervalMs: 1_000, timeoutMs: 1_000, misses: 3 });
    const a = plugin('a');
    await vi.advanceTimersByTimeAsync(1_300);
    // Started between two ticks (every 500 ms with the defaults): pinged at the next tick.
    const b = plugin('b');
    const c = plugin('c');
    c.state = 'starting';
    await vi.advanceTimersByTimeAsync(700);
    c.state = 'running';
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.pings).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(b.pings).toEqual([1_500, 2_500, 3_500]);
    // Running only after the tick at 2 s: first pinged at the next one.
    expect(c.pings).toEqual([2_500, 3_500]);
    expect(vi.getTimerCount()).toBe(1);
    expect(events).toEqual([]);
  });

  it('with the defaults, a healthy plugin is pinged every 2 s; one that stops answering is probed once a second, misses 3 beats and is killed 3 s after its first unanswered ping', async () => {
    start();
    const quiet = plugin('quiet');
    const fine = plugin('fine');
    await vi.advanceTimersByTimeAsync(2_500);
    quiet.answers = false;
    await vi.advanceTimersByTimeAsync(5_000);
    const missed = events.filter((e) => e.plugin === 'quiet').map((e) => [e.type, (e as { missed?: number }).missed]);
    expect(missed).toEqual([
      ['heartbeat-missed', 1],
      ['heartbeat-missed', 2],
      ['heartbeat-missed', 3],
      ['unresponsive', 3],
    ]);
    // Its first unanswered ping went out at 4 s; misses at 5, 6 and 7 s, each followed by a ping at once.
    expect(quiet.pings).toEqual([2_000, 4_000, 5_000, 6_000]);
    expect(killed).toEqual(['quiet']);
    expect(quiet.state).toBe('unresponsive');
    expect(fine.pings).toEqual([2_000, 4_000, 6_000]);
    expect(events.some((e) => e.plugin === 'fine')).toBe(false);
  });

  it('with the defaults, a plugin blocked for just under 3 s from a ping survives, and is paced every 2 s again once it answers', async () => {
    start();
    const p = plugin('p');
    await vi.advanceTimersByTimeAsync(1_500);
    // Blocked from just before its ping at 2 s: it misses at 3 and 4 s, answers the ping of 4 s at 4.9 s.
    p.answers = false;
    await vi.advanceTimersByTimeAsync(3_400);
    expect(p.pings).toEqual([2_000, 3_000, 4_000]);
    p.answers = true;
    p.heartbeat.outstandingSeq = 0;
    p.heartbeat.missed = 0;
    await vi.advanceTimersByTimeAsync(4_100);
    expect(events.map((e) => [e.type, (e as { missed?: number }).missed])).toEqual([
      ['heartbeat-missed', 1],
      ['heartbeat-missed', 2],
    ]);
    expect(killed).toEqual([]);
    expect(p.pings).toEqual([2_000, 3_000, 4_000, 6_000, 8_000]);
  });

  it('counts a timeout shorter than the interval at the first tick past it, and probes again at once', async () => {
    start({ intervalMs: 1_000, timeoutMs: 300, misses: 2 });
    const p = plugin('p', false);
    const missedAt: number[] = [];
    const emit = events.push.bind(events);
    events.push = (...e: PluginEvent[]) => {
      missedAt.push(Date.now());
      return emit(...e);
    };
    // Ticks every 150 ms (half the timeout): the first ping at the first tick past the interval.
    await vi.advanceTimersByTimeAsync(2_500);
    expect(p.pings).toEqual([1_050, 1_350]);
    expect(missedAt).toEqual([1_350, 1_650, 1_650]);
    expect(events.map((e) => e.type)).toEqual(['heartbeat-missed', 'heartbeat-missed', 'unresponsive']);
  });

  it('does not ping again while a ping is outstanding (a timeout longer than the interval)', async () => {
    start({ intervalMs: 1_000, timeoutMs: 2_500, misses: 3 });
    const p = plugin('p', false);
    await vi.advanceTimersByTimeAsync(3_600);
    // Pinged at 1 s, missed at 3.5 s and pinged again at once (its interval has long passed).
    expect(p.pings).toEqual([1_000, 3_500]);
    expect(events.map((e) => [e.type, (e as { missed?: number }).missed])).toEqual([['heartbeat-missed', 1]]);
  });

  it('stops its timer on shutdown, and runs none when heartbeats are off', async () => {
    start();
    plugin('a');
    scheduler!.beforeApplicationShutdown();
    expect(vi.getTimerCount()).toBe(0);
    start(false as unknown as HeartbeatOptions);
    expect(vi.getTimerCount()).toBe(0);
  });
});
