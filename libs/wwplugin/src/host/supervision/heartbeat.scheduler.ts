import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { HeartbeatOptions, WwPluginHostOptions } from '../../interfaces/host-options.interface.js';
import { WWPLUGIN_HOST_OPTIONS } from '../../wwplugin.constants.js';
import { HostEvents } from '../host-events.js';
import type { ManagedPlugin } from '../managed-plugin.js';
import { PluginLauncher } from '../plugin-launcher.js';
import { PluginRegistry } from '../plugin.registry.js';

/** Defaults detect a hung plugin within about 3 s. */
export const DEFAULT_HEARTBEAT: Required<HeartbeatOptions> = { intervalMs: 1_000, timeoutMs: 1_000, misses: 3 };

/**
 * Pings every running plugin on its session. A plugin whose event loop is blocked, or whose process
 * is stopped, stops answering: after `misses` missed beats it is unresponsive, killed, and its
 * restart policy decides what follows.
 *
 * Every plugin is pinged in the same round, once per interval, by one timer: the host's idle cost
 * is its wake-ups more than its frames, and the pongs of one round come back together, so the host
 * wakes about once per round instead of once per plugin. Between rounds the timer wakes only when
 * an outstanding ping reaches its timeout (with the defaults, that is the next round).
 */
@Injectable()
export class HeartbeatScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WwPluginHeartbeat');
  private readonly settings?: Required<HeartbeatOptions>;
  private timer?: NodeJS.Timeout;
  /** When the next round of pings is due. */
  private nextRoundAt = 0;
  /** What the timer was set for: it never fires before, however Date.now() rounds. */
  private plannedAt = 0;

  constructor(
    @Inject(WWPLUGIN_HOST_OPTIONS) options: WwPluginHostOptions,
    private readonly registry: PluginRegistry,
    private readonly launcher: PluginLauncher,
    private readonly events: HostEvents,
  ) {
    if (options.heartbeat === false) return;
    // Unset (undefined) values keep their defaults.
    const given = Object.entries(options.heartbeat ?? {}).filter(([, v]) => v !== undefined);
    this.settings = { ...DEFAULT_HEARTBEAT, ...Object.fromEntries(given) };
  }

  onApplicationBootstrap(): void {
    if (!this.settings) return;
    this.nextRoundAt = Date.now() + this.settings.intervalMs;
    this.arm(this.nextRoundAt);
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.nextRoundAt = 0;
  }

  private arm(at: number): void {
    this.plannedAt = at;
    // Node fires a timer over 2^31-1 ms at once: a huge timeout must not make it spin.
    this.timer = setTimeout(() => this.wake(), Math.min(0x7fffffff, Math.max(1, at - Date.now())));
  }

  private wake(): void {
    this.timer = undefined;
    if (!this.nextRoundAt) return;
    const { intervalMs } = this.settings!;
    const now = Math.max(Date.now(), this.plannedAt);
    const round = now >= this.nextRoundAt;
    if (round) {
      // Rounds keep their rhythm; a host that was blocked past a round starts again from now.
      this.nextRoundAt += intervalMs;
      if (this.nextRoundAt <= now) this.nextRoundAt = now + intervalMs;
    }
    const deadline = this.beat(now, round);
    this.arm(Math.min(this.nextRoundAt, deadline));
  }

  /** Counts timeouts and pings the plugins due; returns when the first outstanding ping times out. */
  private beat(now: number, round: boolean): number {
    const { intervalMs, timeoutMs, misses } = this.settings!;
    let deadline = Infinity;
    for (const plugin of this.registry.all()) {
      // Only running plugins are pinged; an unresponsive one has been killed and its exit decides.
      if (plugin.state !== 'running' || !plugin.channel) continue;
      const hb = plugin.heartbeat;
      if (hb.outstandingSeq && now - hb.sentAt >= timeoutMs) {
        hb.missed += 1;
        hb.outstandingSeq = 0;
        const base = { ...plugin.ref, missed: hb.missed };
        this.events.emit({ type: 'heartbeat-missed', ...base });
        if (hb.missed >= misses) {
          this.logger.warn(`Plugin "${plugin.name}" missed ${hb.missed} heartbeats in a row: killing it (pid ${plugin.pid}).`);
          plugin.lifecycle.moveTo('unresponsive');
          this.events.emit({ type: 'unresponsive', ...base });
          this.launcher.kill(plugin);
          continue;
        }
        // After a miss the next ping does not wait for the round when its interval has passed:
        // counting misses keeps the pace of the interval, as the documented detection time needs.
        if (now - hb.sentAt >= intervalMs) this.ping(plugin, now);
      }
      if (round && !hb.outstandingSeq) this.ping(plugin, now);
      if (hb.outstandingSeq) deadline = Math.min(deadline, hb.sentAt + timeoutMs);
    }
    return deadline;
  }

  private ping(plugin: ManagedPlugin, now: number): void {
    const hb = plugin.heartbeat;
    hb.seq = hb.seq >= 0xffffffff ? 1 : hb.seq + 1;
    hb.outstandingSeq = hb.seq;
    hb.sentAt = now;
    plugin.channel!.send({ ping: { seq: hb.seq } });
  }
}
