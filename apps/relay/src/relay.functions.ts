import { Injectable } from '@nestjs/common';
import { PluginContext, PluginFunction, ParameterType, type RemoteApi } from '@wwplugin/nestjs/plugin';
import type { EchoApi } from '../../echo/src/echo.functions.js';

/** The relay plugin's API, as callers see it (host.plugin<RelayApi>('relay')). */
export interface RelayApi {
  greet(args: { name: string }): string;
  sum(args: { values: number[] }): number;
  forward(args: { target: string; fn: string; args?: Record<string, unknown> }): unknown;
}

/**
 * Calls the echo plugin through the host (plugin-to-plugin) and decorates what it says.
 * The host routes the call and may refuse it (allowPluginCalls).
 */
@Injectable()
export class RelayFunctions {
  private readonly echo: RemoteApi<EchoApi>;

  constructor(private readonly ctx: PluginContext) {
    this.echo = ctx.plugin<EchoApi>('echo');
  }

  @PluginFunction({ description: "Echo's greeting, decorated", params: { name: ParameterType.STRING } })
  async greet({ name }: { name: string }): Promise<string> {
    const greeting = await this.echo.greet({ name });
    return `✨ ${greeting} ✨ (relayed by ${this.ctx.info.name})`;
  }

  /** Adds numbers pairwise on the echo plugin: one plugin-to-plugin call per value. */
  @PluginFunction()
  async sum({ values }: { values: number[] }): Promise<number> {
    let total = 0;
    for (const v of values) total = await this.ctx.callPlugin<number>('echo', 'add', { a: total, b: v });
    return total;
  }

  /** Forwards any call to any plugin: the host's allowPluginCalls decides whether it may. */
  @PluginFunction()
  forward({ target, fn, args }: { target: string; fn: string; args?: Record<string, unknown> }): Promise<unknown> {
    return this.ctx.callPlugin(target, fn, args);
  }
}
