import type { PluginLimits } from '../interfaces/host-options.interface.js';

/** Why a plugin was out of memory: its V8 heap, or its resident memory as the host sampled it. */
export interface OutOfMemory {
  limit: 'heap' | 'rss';
  limitMiB?: number;
  rssMiB?: number;
}

// What V8 writes before it aborts a process whose heap is full (every supported Node line).
const HEAP_OUT_OF_MEMORY = /JavaScript heap out of memory|Reached heap limit/;

/** True for V8's fatal out-of-memory line (a native stack trace of any length may follow it). */
export function isHeapOutOfMemoryLine(line: string): boolean {
  return HEAP_OUT_OF_MEMORY.test(line);
}

/** An exit that V8's heap limit caused: an abort after V8's fatal out-of-memory line was seen on stderr. */
export function heapOutOfMemory(
  code: number | null,
  signal: NodeJS.Signals | null,
  sawOutOfMemoryLine: boolean,
  limits: PluginLimits,
): OutOfMemory | undefined {
  if (!mayBeOutOfMemory(code, signal) || !sawOutOfMemoryLine) return undefined;
  return { limit: 'heap', limitMiB: limits.maxHeapMiB };
}

/** True for an exit worth reading the whole stderr for before deciding what it was. */
export function mayBeOutOfMemory(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGABRT' || signal === 'SIGTRAP' || code === 134;
}
