// For bench/observability-ab.ts --time: how long a plugin spends on a served call before its answer
// leaves, timed in place: from the call frame's dispatch (IncomingCalls.handle) to the answer
// (IncomingCalls.reply), and the reply itself. What tracing adds there is on every call's path;
// what a plugin does after its reply is not. The wrappers' own cost falls on every plugin alike.
import { pathToFileURL } from 'node:url';
import { ROOT } from '../support/paths.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Per-call times (ms) of the calls served since the last reset. */
export interface ServedTimes {
  toReply: number[];
  reply: number[];
}

/** Wraps the library's IncomingCalls (the module the plugin itself loads) so that each served call's times are kept. */
export async function timeServedCalls(): Promise<ServedTimes> {
  const url = pathToFileURL(`${ROOT}libs/wwplugin/dist/protocol/incoming-calls.js`).href;
  const { IncomingCalls } = (await import(url)) as { IncomingCalls: { prototype: Record<'handle' | 'reply', Method> } };
  const times: ServedTimes = { toReply: [], reply: [] };
  const started = new Map<unknown, number>();
  const { handle, reply } = IncomingCalls.prototype;
  IncomingCalls.prototype.handle = function (this: unknown, ...args: unknown[]) {
    // Calls answered otherwise (streams, errors) never reach reply(): their starts must not pile up.
    if (started.size > 1024) started.clear();
    started.set((args[0] as { id: number }).id, performance.now());
    return handle.apply(this, args);
  };
  IncomingCalls.prototype.reply = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    const out = reply.apply(this, args);
    const since = started.get(args[0]);
    if (since !== undefined) {
      started.delete(args[0]);
      times.toReply.push(t0 - since);
      times.reply.push(performance.now() - t0);
    }
    return out;
  };
  return times;
}
