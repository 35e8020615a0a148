import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { PluginInfo, PluginState } from '../interfaces/host-options.interface.js';
import { PluginHostService } from '../host/plugin-host.service.js';
import { HEALTH_INSTANCES_DOWN, HEALTH_NOT_RUNNING } from '../wwplugin.messages.js';

/** Options of PluginHealthIndicator.isHealthy. @publicApi */
export interface PluginHealthOptions {
  /**
   * Plugins (names or ids) that must be running for the check to be up. Default: every loaded
   * plugin. A required plugin that is not loaded at all counts as not running. Plugins outside this
   * list that are not running make the check `degraded` (still HTTP 200) instead of down.
   */
  required?: string[];
}

/** What the indicator reports about one plugin. @publicApi */
export interface PluginHealthDetail {
  state: PluginState | 'not-loaded';
  pid?: number;
  restarts?: number;
  /** Round trip of the last answered heartbeat (ms). */
  lastHeartbeatMs?: number;
  required: boolean;
  /** For a plugin with several instances: how many run, and each one's state. */
  running?: number;
  instances?: Array<{ instance: number; id: string; state: PluginState; pid?: number; restarts: number }>;
}

/**
 * A @nestjs/terminus health indicator for the plugins of this host: up when every required plugin
 * is running. Provide it next to TerminusModule and use it in a @HealthCheck() endpoint:
 * `health.check([() => plugins.isHealthy('plugins')])`. @publicApi
 */
@Injectable()
export class PluginHealthIndicator {
  constructor(
    private readonly host: PluginHostService,
    private readonly health: HealthIndicatorService,
  ) {}

  /**
   * Reports every plugin's state under `key`; down when a required plugin is not running. A plugin
   * with several instances counts as running while one of them runs; with some of them down, the
   * check is `degraded`.
   */
  isHealthy<const Key extends string = 'plugins'>(key: Key = 'plugins' as Key, options: PluginHealthOptions = {}): HealthIndicatorResult<Key> {
    const loaded = this.host.list();
    const names = byName(loaded);
    const required = new Set(options.required ?? names.keys());
    const plugins: Record<string, PluginHealthDetail> = {};
    for (const [name, instances] of names)
      plugins[name] = detail(
        instances,
        instances.some((p) => required.has(p.name) || required.has(p.id)),
      );
    // Names asked for but not loaded (by name or id) are down, not silently ignored.
    for (const name of required) if (!loaded.some((p) => p.name === name || p.id === name)) plugins[name] = { state: 'not-loaded', required: true };

    const notRunning = Object.entries(plugins).filter(([, d]) => d.state !== 'running');
    const down = notRunning.filter(([, d]) => d.required).map(([name]) => name);
    const degraded = notRunning.filter(([, d]) => !d.required).map(([name]) => name);
    // An instance down while another serves the name is degraded, not down.
    const partial = Object.entries(plugins).filter(([, d]) => d.state === 'running' && d.instances && d.running! < d.instances.length);
    const running = Object.values(plugins).filter((d) => d.state === 'running').length;
    // Plugin names are user data: nest them so a plugin called "status" cannot clash with terminus's key.
    const data = { running, total: names.size, plugins };
    const check = this.health.check(key);
    if (down.length) return check.down({ ...data, message: HEALTH_NOT_RUNNING(down, plugins) });
    if (degraded.length || partial.length) {
      const message = [
        degraded.length ? HEALTH_NOT_RUNNING(degraded, plugins) : '',
        ...partial.map(([n, d]) => HEALTH_INSTANCES_DOWN(n, d.running!, d.instances!.length)),
      ];
      return check.degraded({ ...data, message: message.filter(Boolean).join(' ') });
    }
    return check.up(data);
  }

  /** Reports one plugin under `key`: up only while it is running. */
  isRunning<const Key extends string>(key: Key, idOrName: string): HealthIndicatorResult<Key> {
    const info = this.host.get(idOrName);
    const check = this.health.check(key);
    if (!info) return check.down({ plugin: idOrName, state: 'not-loaded', message: HEALTH_NOT_RUNNING([idOrName], { [idOrName]: { state: 'not-loaded' } }) });
    // By name, the whole set of instances; by id, that instance.
    const instances = info.id === idOrName ? [info] : this.host.list().filter((p) => p.name === info.name);
    const data = { plugin: info.name, ...detail(instances, true) };
    return data.state === 'running' ? check.up(data) : check.down({ ...data, message: HEALTH_NOT_RUNNING([info.name], { [info.name]: data }) });
  }
}

/** A plugin's instances by its name, in list order. */
function byName(loaded: PluginInfo[]): Map<string, PluginInfo[]> {
  const names = new Map<string, PluginInfo[]>();
  for (const p of loaded) names.set(p.name, [...(names.get(p.name) ?? []), p]);
  return names;
}

/** One instance as before; several: the running one (or the first) with every instance listed. */
function detail(instances: PluginInfo[], required: boolean): PluginHealthDetail {
  const p = instances.find((i) => i.state === 'running') ?? instances[0];
  const one: PluginHealthDetail = { state: p.state, pid: p.pid, restarts: p.restarts, lastHeartbeatMs: p.lastHeartbeatMs, required };
  if (instances.length === 1) return one;
  return {
    ...one,
    running: instances.filter((i) => i.state === 'running').length,
    instances: instances.map((i) => ({ instance: i.instance, id: i.id, state: i.state, pid: i.pid, restarts: i.restarts })),
  };
}
