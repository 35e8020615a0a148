import { DuplicateFunctionError, UnknownFunctionError } from '../errors/wwplugin.errors.js';
import type { FunctionOptions } from '../interfaces/function-options.interface.js';
import { validateArgs } from '../protocol/argument-validator.js';
import { WwPluginCallContext, type CallInfo } from '../protocol/call-context.js';
import type { CallFrame, FunctionInfoFrame, ParameterSpecFrame } from '../protocol/frames.js';
import { decodeArgValues } from '../protocol/parameters.js';
import { IncomingCallInfo, type IncomingCall } from '../protocol/session-channel.js';

/** A function one side serves: its handler takes (named args, call context). */
export interface RegisteredFunction {
  name: string;
  description: string;
  params: ParameterSpecFrame[];
  /** "Class.method", for messages. */
  label: string;
  /** Returns many values: registered as streaming (FunctionInfo.stream). */
  stream?: boolean;
  handler: (data: unknown, ctx: unknown) => unknown;
}

/** Functions by name, for one side. Refuses a second function of the same name. */
export class FunctionRegistry {
  private readonly functions = new Map<string, RegisteredFunction>();

  constructor(private readonly duplicateMessage: (name: string, first: string, second: string) => string) {}

  add(fn: RegisteredFunction): void {
    const existing = this.functions.get(fn.name);
    if (existing) throw new DuplicateFunctionError(this.duplicateMessage(fn.name, existing.label, fn.label));
    this.functions.set(fn.name, fn);
  }

  get(name: string): RegisteredFunction | undefined {
    return this.functions.get(name);
  }

  /**
   * Runs the function a call names: the same steps on host and plugin side (find it, decode and
   * validate the arguments, build the call context, call the handler).
   */
  invoke(
    call: CallFrame,
    incoming: IncomingCall,
    who: { caller: string; plugin: CallInfo['plugin'] },
    unknown: (fn: string, available: string[]) => string,
  ): unknown {
    const fn = this.functions.get(call.function);
    if (!fn) {
      const available = this.names();
      throw new UnknownFunctionError(unknown(call.function, available), { available });
    }
    const wire = call.args ?? [];
    const { named, values } = decodeArgValues(wire);
    // The Parameter list is made once, and only when declared parameters or the handler read it.
    const info = new IncomingCallInfo(call.function, who.caller, wire, values, who.plugin, incoming);
    if (fn.params.length) validateArgs(call.function, fn.params, info.parameters);
    return fn.handler(named, new WwPluginCallContext(info));
  }

  names(): string[] {
    return [...this.functions.keys()];
  }

  infos(): FunctionInfoFrame[] {
    return [...this.functions.values()].map(({ name, description, params, stream }) => ({ name, description, params, stream: !!stream }));
  }

  /** Builds a registry entry from decorator options. */
  static entry(methodName: string, label: string, options: FunctionOptions, handler: RegisteredFunction['handler']): RegisteredFunction {
    const params: ParameterSpecFrame[] = Object.entries(options.params ?? {}).map(([name, decl]) =>
      typeof decl === 'number' ? { name, type: decl, optional: false } : { name, type: decl.type, optional: !!decl.optional },
    );
    return { name: options.name ?? methodName, description: options.description ?? '', params, label, handler, stream: !!options.stream };
  }
}
