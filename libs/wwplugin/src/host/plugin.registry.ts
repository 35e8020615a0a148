import { Injectable } from '@nestjs/common';
import { DuplicatePluginError, UnknownPluginError } from '../errors/wwplugin.errors.js';
import { NAME_TAKEN, UNKNOWN_PLUGIN } from '../wwplugin.messages.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { PluginGroup } from './plugin-group.js';

/**
 * The plugins this host manages: every instance by id, and the instance set serving each name. A
 * name is held by exactly one set, whatever its state (stopped and failed ones too, until
 * unloaded): every operation by name is unambiguous. An id names one instance, a name the whole set.
 * During an upgrade the new set's instances are known by id (they shake hands) but hold no name
 * until it takes over; the old set's instances stay known by id until they have drained.
 */
@Injectable()
export class PluginRegistry {
  private readonly plugins = new Map<string, ManagedPlugin>();
  private readonly groups = new Set<PluginGroup>();
  // Every call by name looks its set up: the last set found for a name, checked before it is used.
  private readonly byName = new Map<string, PluginGroup>();

  /** Adds a plugin as the only instance of a new set; DuplicatePluginError when its name is held by another set. */
  add(plugin: ManagedPlugin): PluginGroup {
    const group = new PluginGroup(plugin.name);
    group.add(plugin);
    this.addGroup(group);
    return group;
  }

  /** Adds a set under its name; DuplicatePluginError when the name is held by another set. */
  addGroup(group: PluginGroup): void {
    this.assertNameFree(group.name, group);
    this.groups.add(group);
    for (const p of group.instances) this.plugins.set(p.id, p);
  }

  /**
   * Adds `plugin` as one more instance of the set serving `name` (a new set when none does): from
   * now on it takes its share of the name's calls once running. For sessions the host did not
   * spawn (remote replicas) as well as for spawned ones.
   */
  join(name: string, plugin: ManagedPlugin): PluginGroup {
    let group = this.group(name);
    if (!group) {
      group = new PluginGroup(name);
      this.groups.add(group);
    }
    group.add(plugin);
    this.plugins.set(plugin.id, plugin);
    return group;
  }

  /** Removes one instance; the name is free once its set has no instance left. */
  remove(plugin: ManagedPlugin): void {
    if (this.plugins.get(plugin.id) !== plugin) return;
    this.plugins.delete(plugin.id);
    const group = plugin.group;
    if (group?.remove(plugin) && group.size === 0) this.groups.delete(group);
  }

  /** Forgets a set and its instances. */
  removeGroup(group: PluginGroup): void {
    for (const p of [...group.instances]) this.remove(p);
    this.groups.delete(group);
  }

  /** Makes the instances of a set that holds no name yet (an upgrade's new set) known by id. */
  addPending(group: PluginGroup): void {
    for (const p of group.instances) this.plugins.set(p.id, p);
  }

  /** Forgets a pending set's instances (an upgrade that failed). */
  removePending(group: PluginGroup): void {
    for (const p of group.instances) if (this.plugins.get(p.id) === p) this.plugins.delete(p.id);
  }

  /**
   * `next` takes the name of `current` at once: calls by name go to it from now on. The instances
   * of `current` stay known by id (their calls in flight finish) until each is removed.
   */
  replace(current: PluginGroup, next: PluginGroup): void {
    this.groups.delete(current);
    this.groups.add(next);
    next.replaces = undefined;
    current.successor = next;
  }

  /** True while `plugin` is a known instance (not unloaded). */
  has(plugin: ManagedPlugin): boolean {
    return this.plugins.get(plugin.id) === plugin;
  }

  /** True while `group` holds its name. */
  holds(group: PluginGroup): boolean {
    return this.groups.has(group);
  }

  byId(id: string): ManagedPlugin | undefined {
    return this.plugins.get(id);
  }

  /** The set serving `name`, if any. */
  group(name: string): PluginGroup | undefined {
    const known = this.byName.get(name);
    // Still holding the name: the scan below would find it (a name is held by one set at most).
    if (known && known.name === name && this.groups.has(known)) return known;
    for (const g of this.groups) {
      if (g.name !== name) continue;
      this.byName.set(name, g);
      return g;
    }
    if (known) this.byName.delete(name);
    return undefined;
  }

  /**
   * The first instance of the set holding `name`, unless that set is `except`'s own (or the set
   * `except`'s set is to replace in an upgrade).
   */
  holder(name: string, except?: ManagedPlugin | PluginGroup): ManagedPlugin | undefined {
    const own = except instanceof PluginGroup ? except : except?.group;
    for (const g of this.groups) {
      if (g === own || (own && g === own.replaces) || g.name !== name) continue;
      return g.instances[0];
    }
    return undefined;
  }

  /** DuplicatePluginError when a set other than `except`'s holds `name`. */
  assertNameFree(name: string, except?: ManagedPlugin | PluginGroup): void {
    const other = this.holder(name, except);
    if (other) throw new DuplicatePluginError(NAME_TAKEN(name, other.id, other.state), { plugin: name, id: other.id, state: other.state });
  }

  /** Finds by id, then by name (the set's running instance, if any, else its first); undefined when neither matches. */
  find(idOrName: string): ManagedPlugin | undefined {
    return this.plugins.get(idOrName) ?? this.group(idOrName)?.representative();
  }

  /** Like find, but an unknown plugin is an UnknownPluginError. */
  resolve(idOrName: string): ManagedPlugin {
    const plugin = this.find(idOrName);
    if (!plugin) throw this.unknown(idOrName);
    return plugin;
  }

  /** What calls address: one instance by its id, or the set serving a name; UnknownPluginError when neither. */
  target(idOrName: string): ManagedPlugin | PluginGroup {
    const target = this.plugins.get(idOrName) ?? this.group(idOrName);
    if (!target) throw this.unknown(idOrName);
    return target;
  }

  /** Every instance known by id, in the order they were added (a set's instances together). */
  all(): ManagedPlugin[] {
    return [...this.plugins.values()];
  }

  /** The sets holding a name. */
  allGroups(): PluginGroup[] {
    return [...this.groups];
  }

  names(): string[] {
    return this.allGroups().map((g) => g.name);
  }

  private unknown(idOrName: string): UnknownPluginError {
    return new UnknownPluginError(UNKNOWN_PLUGIN(idOrName, this.names()), { plugin: idOrName });
  }
}
