import { Injectable } from '@nestjs/common';
import { PluginContext, PluginFunction, ParameterType, type WwPluginCallContext } from '@wwplugin/nestjs/plugin';

/** The echo plugin's API, as callers see it (used with host.plugin<EchoApi>('echo')). */
export interface EchoApi {
  greet(args: { name: string }): string;
  echo<T>(args: { value: T }): T;
  echoAll(args: Record<string, unknown>): Record<string, unknown>;
  add(args: { a: number; b: number }): number;
  fail(args: { message: string; code?: string }): never;
  total(args: { ids: number[] }): number;
}

@Injectable()
export class EchoFunctions {
  constructor(private readonly ctx: PluginContext) {}

  @PluginFunction({ description: 'Says hello', params: { name: ParameterType.STRING } })
  greet({ name }: { name: string }): string {
    return `Hello, ${name}`;
  }

  /** Returns its `value` argument as it arrived: any parameter type survives the round trip. */
  @PluginFunction()
  echo({ value }: { value: unknown }): unknown {
    return value;
  }

  /** Returns all its arguments as one JSON object. */
  @PluginFunction()
  echoAll(args: Record<string, unknown>): Record<string, unknown> {
    return args;
  }

  /** The seed's style: read the raw Parameter list from the call context. */
  @PluginFunction()
  describe(_args: unknown, call: WwPluginCallContext): string[] {
    return call.parameters.map((p) => `${p.name}:${ParameterType[p.type]}`);
  }

  @PluginFunction({ params: { a: ParameterType.FLOAT, b: ParameterType.FLOAT } })
  add({ a, b }: { a: number; b: number }): number {
    return a + b;
  }

  @PluginFunction()
  fail({ message, code }: { message: string; code?: string }): never {
    const err = new Error(message) as Error & { code?: string };
    if (code) err.code = code;
    throw err;
  }

  /** Asks the host to add the numbers up: a plugin calling a @HostFunction. */
  @PluginFunction()
  async total(args: { ids: number[] }): Promise<number> {
    return this.ctx.callHost<number>('sum', args);
  }

  @PluginFunction()
  whoami(): { id: string; name: string } {
    return { id: this.ctx.info.id, name: this.ctx.info.name };
  }
}
