import type { PluginState } from '../interfaces/host-options.interface.js';
import type { ManagedPlugin } from './managed-plugin.js';
import { PluginOperations } from './plugin-operations.js';

/** How close a state is to serving: the set reports its best instance's. */
const RANK: Record<PluginState, number> = { running: 7, unresponsive: 6, restarting: 5, disconnected: 4, starting: 3, stopping: 2, failed: 1, stopped: 0 };

/**
 * The instances of one plugin name: processes the host spawned from one spec, or sessions that
 * joined from elsewhere, sharing the name's calls. Each instance keeps its own process, session,
 * supervision and push outbox; the set only chooses among them.
 */
export class PluginGroup {
  readonly instances: ManagedPlugin[] = [];
  /** The set that took this one's place in an upgrade: calls waiting on this set follow it. */
  successor?: PluginGroup;
  /** The set this one is to replace once it is ready (an upgrade in progress). */
  replaces?: PluginGroup;

  constructor(
    private readonly fallbackName: string,
    /** Its start, stop, restart, unload and upgrade, one at a time; an upgrade's new set shares the old one's. */
    readonly operations = new PluginOperations(),
  ) {}

  /** The name of its first instance (known once it said Hello, or from the spec). */
  get name(): string {
    return this.instances[0]?.name ?? this.fallbackName;
  }

  get size(): number {
    return this.instances.length;
  }

  /** Adds an instance under the lowest free index. */
  add(plugin: ManagedPlugin): void {
    let index = 0;
    while (this.instances.some((p) => p.instance === index)) index++;
    plugin.instance = index;
    plugin.group = this;
    this.instances.push(plugin);
    this.instances.sort((a, b) => a.instance - b.instance);
  }

  /** Removes an instance; the others keep their indexes. */
  remove(plugin: ManagedPlugin): boolean {
    const at = this.instances.indexOf(plugin);
    if (at < 0) return false;
    this.instances.splice(at, 1);
    return true;
  }

  /** The running instance with the fewest calls in flight (`load`), the lowest index on a tie. */
  pick(load: (plugin: ManagedPlugin) => number): ManagedPlugin | undefined {
    const instances = this.instances;
    // One instance, the common case: no comparison.
    if (instances.length === 1) return instances[0].state === 'running' ? instances[0] : undefined;
    let best: ManagedPlugin | undefined;
    let bestLoad = Infinity;
    for (const p of instances) {
      // A session that already ended (its exit not yet seen) would only fail the call: a sibling serves it.
      if (p.state !== 'running' || p.channel?.isClosed === true) continue;
      const l = load(p);
      if (l < bestLoad) {
        best = p;
        bestLoad = l;
      }
    }
    return best;
  }

  /** The state of its instance closest to serving: running while any instance runs. */
  get state(): PluginState {
    let best: PluginState = 'stopped';
    for (const p of this.instances) if (RANK[p.state] > RANK[best]) best = p.state;
    return best;
  }

  /** The instance to report for the name: a running one if any, else the first. */
  representative(): ManagedPlugin | undefined {
    return this.instances.find((p) => p.state === 'running') ?? this.instances[0];
  }

  /**
   * Resolves once any instance runs; rejects when none is coming back any more (with the first
   * instance's reason) or after `timeoutMs` (0: no limit).
   */
  async whenRunning(timeoutMs: number, what: string): Promise<void> {
    if (this.instances.length === 1) return this.instances[0].whenRunning(timeoutMs, what);
    try {
      await Promise.any(this.instances.map((p) => p.whenRunning(timeoutMs, what)));
    } catch (err) {
      throw (err as AggregateError).errors?.[0] ?? err;
    }
  }
}

/** States of an instance that is gone until started by hand (or being stopped): pushes for any one instance go elsewhere. */
const GONE = new Set<PluginState>(['stopped', 'failed', 'stopping']);

/**
 * The instance a push for any one instance goes to: the running one with the fewest pushes pending
 * (lowest index on a tie), else one coming back (restarting, starting), else, unless `liveOnly`, any
 * (the push then waits for its next start).
 */
export function pushPick(instances: readonly ManagedPlugin[], liveOnly = false): ManagedPlugin | undefined {
  let best: ManagedPlugin | undefined;
  let bestRank = -1;
  for (const p of instances) {
    const rank = p.state === 'running' ? 2 : GONE.has(p.state) ? 0 : 1;
    if (liveOnly && rank === 0) continue;
    if (rank > bestRank || (rank === bestRank && pending(p) < pending(best!))) {
      best = p;
      bestRank = rank;
    }
  }
  return best;
}

const pending = (p: ManagedPlugin) => p.outbox.size + p.outbox.unacked;

/** The set now serving in `group`'s place: itself, or the set an upgrade replaced it with. */
export function latest(group: PluginGroup): PluginGroup {
  while (group.successor) group = group.successor;
  return group;
}
