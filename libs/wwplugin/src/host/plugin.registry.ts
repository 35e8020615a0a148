import { Injectable } from '@nestjs/common';
import { DuplicatePluginError, UnknownPluginError } from '../errors/wwplugin.errors.js';
import { NAME_TAKEN, UNKNOWN_PLUGIN } from '../wwplugin.messages.js';
import type { ManagedPlugin } from './managed-plugin.js';

/**
 * The plugins this host manages, by id. A name is held by exactly one entry, whatever its state
 * (stopped and failed ones too, until unloaded): every operation by name is unambiguous.
 */
@Injectable()
export class PluginRegistry {
  private readonly plugins = new Map<string, ManagedPlugin>();

  /** Adds a plugin; DuplicatePluginError when its name is held by another entry. */
  add(plugin: ManagedPlugin): void {
    this.assertNameFree(plugin.name, plugin);
    this.plugins.set(plugin.id, plugin);
  }

  remove(plugin: ManagedPlugin): void {
    if (this.plugins.get(plugin.id) === plugin) this.plugins.delete(plugin.id);
  }

  /** True while `plugin` is this registry's entry (not unloaded). */
  has(plugin: ManagedPlugin): boolean {
    return this.plugins.get(plugin.id) === plugin;
  }

  byId(id: string): ManagedPlugin | undefined {
    return this.plugins.get(id);
  }

  /** The entry other than `except` that holds `name`, if any. */
  holder(name: string, except?: ManagedPlugin): ManagedPlugin | undefined {
    for (const p of this.plugins.values()) if (p !== except && p.name === name) return p;
    return undefined;
  }

  /** DuplicatePluginError when an entry other than `except` holds `name`. */
  assertNameFree(name: string, except?: ManagedPlugin): void {
    const other = this.holder(name, except);
    if (other) throw new DuplicatePluginError(NAME_TAKEN(name, other.id, other.state), { plugin: name, id: other.id, state: other.state });
  }

  /** Finds by id, then by name; undefined when neither matches. */
  find(idOrName: string): ManagedPlugin | undefined {
    return this.plugins.get(idOrName) ?? this.holder(idOrName);
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
