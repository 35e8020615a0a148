import { Inject, Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { interval, Subscription } from 'rxjs';
import type { HeartbeatOptions, WwPluginHostOptions } from '../../interfaces/host-options.interface.js';
import { WWPLUGIN_HOST_OPTIONS } from '../../wwplugin.constants.js';
import { HostEvents } from '../host-events.js';
import { PluginLauncher } from '../plugin-launcher.js';
import { PluginRegistry } from '../plugin.registry.js';

/**
 * A healthy plugin is pinged every 2 s, half the wake-ups of an idle host against 1 s; a missed
 * ping is followed at once by the next, so a block shorter than 3 s is still survived and a hung
 * plugin is given up 3 to 5 s after it blocks.
 */
export const DEFAULT_HEARTBEAT: Required<HeartbeatOptions> = { intervalMs: 2_000, timeoutMs: 1_000, misses: 3 };

/**
 * Pings every running plugin on its session. A plugin whose event loop is blocked, or whose process
 * is stopped, stops answering: after `misses` missed beats it is unresponsive, killed, and its
 * restart policy decides what follows.
 */
@Injectable()
export class HeartbeatScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WwPluginHeartbeat');
  private readonly settings?: Required<HeartbeatOptions>;
  private subscription?: Subscription;

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
    // Tick often enough to notice a timeout shorter than the interval.
    const tick = Math.max(25, Math.min(this.settings.intervalMs, this.settings.timeoutMs) / 2);
    this.subscription = interval(tick).subscribe(() => this.beat(Date.now()));
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private beat(now: number): void {
    const { intervalMs, timeoutMs, misses } = this.settings!;
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
      }
      // A plugin that missed its last ping is probed again at once: the interval paces healthy ones.
      if (!hb.outstandingSeq && (hb.missed > 0 || now - hb.sentAt >= intervalMs)) {
        hb.seq = hb.seq >= 0xffffffff ? 1 : hb.seq + 1;
        hb.outstandingSeq = hb.seq;
        hb.sentAt = now;
        plugin.channel.send({ ping: { seq: hb.seq } });
      }
    }
  }
}
