import { Injectable } from '@nestjs/common';
import { FunctionRegistry } from '../discovery/function.registry.js';
import { DUPLICATE_HOST_FUNCTION } from '../wwplugin.messages.js';

/** The host's own functions that plugins may call, filled by HostFunctionsExplorer. */
@Injectable()
export class HostFunctionRegistry extends FunctionRegistry {
  constructor() {
    super(DUPLICATE_HOST_FUNCTION);
  }
}
