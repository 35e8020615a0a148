import { Injectable } from '@nestjs/common';
import { UnknownPluginError } from '../errors/wwplugin.errors.js';
import { UNKNOWN_PLUGIN } from '../wwplugin.messages.js';
import type { ManagedPlugin } from './managed-plugin.js';

/** The plugins this host manages, by id; names resolve to the plugin that holds them. */
@Injectable()
export class PluginRegistry {
  private readonly plugins = new Map<string, ManagedPlugin>();

  add(plugin: ManagedPlugin): void {
    this.plugins.set(plugin.id, plugin);
  }

  remove(plugin: ManagedPlugin): void {
    this.plugins.delete(plugin.id);
  }

  byId(id: string): ManagedPlugin | undefined {
    return this.plugins.get(id);
  }

  /** Finds by id, then by name; undefined when neither matches. */
  find(idOrName: string): ManagedPlugin | undefined {
    const byId = this.plugins.get(idOrName);
    if (byId) return byId;
    for (const p of this.plugins.values()) if (p.name === idOrName) return p;
    return undefined;
  }

  /** Like find, but an unknown plugin is an UnknownPluginError. */
  resolve(idOrName: string): ManagedPlugin {
    const plugin = this.find(idOrName);
    if (!plugin) throw new UnknownPluginError(UNKNOWN_PLUGIN(idOrName, this.names()), { plugin: idOrName });
    return plugin;
  }

  all(): ManagedPlugin[] {
    return [...this.plugins.values()];
  }

  names(): string[] {
    return this.all().map((p) => p.name);
  }
}
