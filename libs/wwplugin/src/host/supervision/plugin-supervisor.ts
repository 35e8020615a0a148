import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { HostEvents } from '../host-events.js';
import type { ManagedPlugin } from '../managed-plugin.js';
import { PluginLauncher, type PluginExit } from '../plugin-launcher.js';

/**
 * Decides what follows a plugin's exit: nothing (it was asked to stop), a restart after a backoff
 * (per its restart policy), or `failed` once it crash-loops.
 */
@Injectable()
export class PluginSupervisor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('WwPluginSupervisor');
  private subscription?: Subscription;
  private readonly pending = new Map<ManagedPlugin, NodeJS.Timeout>();
  private closing = false;

  constructor(
    private readonly launcher: PluginLauncher,
    private readonly events: HostEvents,
  ) {}

  onModuleInit(): void {
    this.subscription = this.launcher.exits$.subscribe((exit) => this.onExit(exit));
  }

  /** Stops any restart waiting for its backoff (the plugin is being stopped or the host closes). */
  cancelRestart(plugin: ManagedPlugin): void {
    const timer = this.pending.get(plugin);
    if (timer) clearTimeout(timer);
    this.pending.delete(plugin);
  }

  /** The host is shutting down: no more restarts. */
  shutdown(): void {
    this.closing = true;
    for (const plugin of [...this.pending.keys()]) this.cancelRestart(plugin);
  }

  // Exits must still be observed while the host stops its plugins (beforeApplicationShutdown).
  onApplicationShutdown(): void {
    this.shutdown();
    this.subscription?.unsubscribe();
  }

  private onExit({ plugin, code, signal, expected }: PluginExit): void {
    const base = { plugin: plugin.name, id: plugin.id };
    this.events.emit({ type: 'exited', ...base, code, signal });
    if (expected || this.closing) {
      plugin.state = 'stopped';
      return;
    }
    const wasStarting = plugin.state === 'starting';
    this.events.emit({ type: 'crashed', ...base, code, signal });
    // A first start that fails is reported to load() and not retried.
    if (wasStarting) {
      plugin.state = 'stopped';
      return;
    }
    if (!plugin.restart.wantsRestart(code, signal)) {
      plugin.state = code === 0 && !signal ? 'stopped' : 'failed';
      if (plugin.state === 'failed') this.events.emit({ type: 'failed', ...base, reason: `exited (${signal ?? `code ${code}`}) and its restart policy says never` });
      return;
    }
    if (plugin.restart.isCrashLooping()) {
      const { maxRestarts, windowMs } = plugin.restart.limits;
      const reason = `crash loop: more than ${maxRestarts} restarts within ${windowMs} ms`;
      this.logger.error(`Plugin "${plugin.name}" failed: ${reason}.`);
      plugin.state = 'failed';
      this.events.emit({ type: 'failed', ...base, reason });
      return;
    }
    const { attempt, delayMs } = plugin.restart.next();
    plugin.state = 'restarting';
    this.events.emit({ type: 'restarting', ...base, attempt, delayMs });
    this.logger.warn(`Plugin "${plugin.name}" exited (${signal ?? `code ${code}`}); restart #${attempt} in ${delayMs} ms.`);
    this.pending.set(
      plugin,
      setTimeout(() => {
        this.pending.delete(plugin);
        if (plugin.state !== 'restarting' || this.closing) return;
        this.launcher.start(plugin).then(
          () => this.events.emit({ type: 'restarted', ...base, pid: plugin.pid ?? 0, attempt }),
          (err: Error) => this.logger.warn(`Restart #${attempt} of "${plugin.name}" failed: ${err.message}`),
        );
      }, delayMs),
    );
  }
}
