import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Subscription } from 'rxjs';
import { HostEvents } from '../host-events.js';
import type { ManagedPlugin } from '../managed-plugin.js';
import { PluginLauncher, type PluginAccessDenial, type PluginExit } from '../plugin-launcher.js';
import { ACCESS_DENIED, OUT_OF_MEMORY } from '../../wwplugin.messages.js';

/**
 * Decides what follows a plugin's exit: nothing (it was asked to stop), a restart after a backoff
 * (per its restart policy), or `failed` once it crash-loops.
 */
@Injectable()
export class PluginSupervisor implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('WwPluginSupervisor');
  private subscription?: Subscription;
  private denials?: Subscription;
  private readonly pending = new Map<ManagedPlugin, NodeJS.Timeout>();
  private closing = false;

  constructor(
    private readonly launcher: PluginLauncher,
    private readonly events: HostEvents,
  ) {}

  onModuleInit(): void {
    this.subscription = this.launcher.exits$.subscribe((exit) => this.onExit(exit));
    this.denials = this.launcher.denials$.subscribe((d) => this.onDenial(d));
  }

  private onDenial({ plugin, denial }: PluginAccessDenial): void {
    this.logger.warn(ACCESS_DENIED(plugin.name, denial.permission, denial.resource, denial.during));
    this.events.emit({ type: 'access-denied', ...plugin.ref, ...denial });
  }

  /** Stops any restart waiting for its backoff (the plugin is being stopped or the host closes). */
  cancelRestart(plugin: ManagedPlugin): void {
    const timer = this.pending.get(plugin);
    if (timer) clearTimeout(timer);
    this.pending.delete(plugin);
  }

  /** The host is shutting down: no more restarts; calls waiting for one give up. */
  shutdown(): void {
    this.closing = true;
    for (const plugin of [...this.pending.keys()]) {
      this.cancelRestart(plugin);
      plugin.lifecycle.moveTo('stopped');
    }
  }

  // Exits must still be observed while the host stops its plugins (beforeApplicationShutdown).
  onApplicationShutdown(): void {
    this.shutdown();
    this.subscription?.unsubscribe();
    this.denials?.unsubscribe();
  }

  private onExit({ plugin, code, signal, expected, outOfMemory }: PluginExit): void {
    const base = plugin.ref;
    const how = outOfMemory ? 'out of memory' : (signal ?? (code === null ? 'no process could be started' : `code ${code}`));
    const crashed = { type: 'crashed' as const, ...base, code, signal, ...(outOfMemory ? { reason: 'out-of-memory' as const } : {}) };
    if (outOfMemory && !expected) {
      this.logger.error(OUT_OF_MEMORY(plugin.name, outOfMemory.limit, outOfMemory.limitMiB, outOfMemory.rssMiB));
      this.events.emit({ type: 'out-of-memory', ...base, ...outOfMemory });
    }
    const clean = code === 0 && !signal;
    // The state changes before any event goes out: a listener that calls the plugin sees where it stands.
    if (expected || this.closing) {
      plugin.lifecycle.moveTo('stopped');
      return this.events.emit({ type: 'exited', ...base, code, signal });
    }
    // A first start (load or start) that fails is reported to its caller and not retried. Restarts
    // keep the state 'restarting' until the new process is running, so they never land here.
    if (plugin.state === 'starting') {
      plugin.lifecycle.moveTo('stopped');
      this.events.emit({ type: 'exited', ...base, code, signal });
      return this.events.emit(crashed);
    }
    if (!plugin.restart.wantsRestart(code, signal)) {
      plugin.lifecycle.moveTo(clean ? 'stopped' : 'failed');
      plugin.passOnPushes();
      this.events.emit({ type: 'exited', ...base, code, signal });
      if (clean) return;
      this.events.emit(crashed);
      return this.events.emit({ type: 'failed', ...base, reason: `exited (${how}) and its restart policy says never` });
    }
    if (plugin.restart.isCrashLooping()) {
      const { maxRestarts, windowMs } = plugin.restart.limits;
      const reason = `crash loop: exited (${how}) after ${maxRestarts} restarts within ${windowMs} ms`;
      this.logger.error(`Plugin "${plugin.name}" failed: ${reason}; it stays down until started again.`);
      plugin.lifecycle.moveTo('failed');
      // It is not coming back: what was pushed to any one instance goes to one that is.
      plugin.passOnPushes();
      this.events.emit({ type: 'exited', ...base, code, signal });
      if (!clean) this.events.emit(crashed);
      return this.events.emit({ type: 'failed', ...base, reason });
    }
    const { attempt, delayMs } = plugin.restart.next();
    plugin.lifecycle.moveTo('restarting');
    this.events.emit({ type: 'exited', ...base, code, signal });
    if (!clean) this.events.emit(crashed);
    this.events.emit({ type: 'restarting', ...base, attempt, delayMs });
    this.logger.warn(`Plugin "${plugin.name}" exited (${how}); restart #${attempt} in ${delayMs} ms.`);
    this.cancelRestart(plugin);
    this.pending.set(
      plugin,
      setTimeout(() => void this.relaunch(plugin, attempt), delayMs),
    );
  }

  private async relaunch(plugin: ManagedPlugin, attempt: number): Promise<void> {
    this.pending.delete(plugin);
    if (plugin.state !== 'restarting' || this.closing) return;
    try {
      await this.launcher.start(plugin);
    } catch (err) {
      // The launcher has already reported this attempt's exit, and onExit scheduled what follows
      // (another restart, or failed): here it is only logged.
      this.logger.warn(`Restart #${attempt} of "${plugin.name}" failed: ${(err as Error)?.message ?? String(err)}`);
      return;
    }
    this.events.emit({ type: 'restarted', ...plugin.ref, pid: plugin.pid ?? 0, attempt });
    this.logger.log(`Plugin "${plugin.name}" is back (pid ${plugin.pid}) after restart #${attempt}.`);
  }
}
