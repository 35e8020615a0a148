import { Injectable } from '@nestjs/common';
import { FunctionRegistry } from '../discovery/function.registry.js';
import { DUPLICATE_FUNCTION } from '../wwplugin.messages.js';

/** The functions this plugin serves, filled by PluginFunctionsExplorer at bootstrap. */
@Injectable()
export class PluginFunctionRegistry extends FunctionRegistry {
  /** @OnPush handlers by topic ('*' = every topic). */
  readonly pushHandlers: Array<{ topic: string; label: string; handler: (payload: unknown, ctx: unknown) => unknown }> = [];

  constructor() {
    super(DUPLICATE_FUNCTION);
  }
}
