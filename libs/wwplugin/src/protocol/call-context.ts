// The class itself, not the package's index: a plugin process then never loads every transport.
import { BaseRpcContext } from '@nestjs/microservices/ctx-host/base-rpc.context.js';
import type { Parameter } from './parameters.js';

/** Who is on each end of a call. */
export interface CallInfo {
  /** The function called. */
  fn: string;
  /** Name of the plugin that made the call, or 'host'. */
  caller: string;
  /** The arguments as the seed's Parameter list (name, type, value). */
  parameters: Parameter[];
  /** Fires when the caller cancels, the deadline passes or the session ends. */
  signal: AbortSignal;
  /** The plugin serving the call (plugin side) or calling it (host side). */
  plugin: { id: string; name: string; version?: string };
}

/**
 * The second argument of every plugin and host function (and what @Ctx() gives), in the
 * shape of Nest's RPC contexts. @publicApi
 */
export class WwPluginCallContext extends BaseRpcContext<[CallInfo]> implements CallInfo {
  constructor(info: CallInfo) {
    super([info]);
  }
  get fn(): string {
    return this.args[0].fn;
  }
  get caller(): string {
    return this.args[0].caller;
  }
  get parameters(): Parameter[] {
    return this.args[0].parameters;
  }
  get signal(): AbortSignal {
    return this.args[0].signal;
  }
  get plugin(): CallInfo['plugin'] {
    return this.args[0].plugin;
  }
}
