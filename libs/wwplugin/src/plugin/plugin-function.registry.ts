import { Injectable } from '@nestjs/common';
import { FunctionRegistry } from '../discovery/function.registry.js';
import { DUPLICATE_FUNCTION } from '../wwplugin.messages.js';

/** A handler of the host's pushes: an @OnPush method or an @EventPattern handler. */
export interface PushHandler {
  topic: string;
  label: string;
  handler: (payload: unknown, ctx: unknown) => unknown;
}

/** The functions this plugin serves, filled by PluginFunctionsExplorer at bootstrap. */
@Injectable()
export class PluginFunctionRegistry extends FunctionRegistry {
  /** @OnPush handlers by topic ('*' = every topic). */
  readonly pushHandlers: PushHandler[] = [];
  /** @EventPattern handlers: the push of their topic, with the controller's enhancers around them. */
  readonly eventHandlers: PushHandler[] = [];

  constructor() {
    super(DUPLICATE_FUNCTION);
  }
}
