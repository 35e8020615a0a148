import type { PluginLimits } from '../interfaces/host-options.interface.js';

/** Why a plugin was out of memory: its V8 heap, or its resident memory as the host sampled it. */
export interface OutOfMemory {
  limit: 'heap' | 'rss';
  limitMiB?: number;
  rssMiB?: number;
}

// What V8 writes before it aborts a process whose heap is full (every supported Node line).
const HEAP_OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit/;

/** An exit that V8's heap limit caused: an abort right after V8's fatal out-of-memory line. */
export function heapOutOfMemory(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, limits: PluginLimits): OutOfMemory | undefined {
  const aborted = signal === 'SIGABRT' || signal === 'SIGTRAP' || code === 134;
  if (!aborted || !HEAP_OUT_OF_MEMORY.test(stderrTail)) return undefined;
  return { limit: 'heap', limitMiB: limits.maxHeapMiB };
}

/** True for an exit worth reading the whole stderr for before deciding what it was. */
export function mayBeOutOfMemory(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGABRT' || signal === 'SIGTRAP' || code === 134;
}
