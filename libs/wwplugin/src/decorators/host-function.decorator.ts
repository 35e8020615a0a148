import { SetMetadata } from '@nestjs/common';
import { HOST_FUNCTION_METADATA } from '../wwplugin.constants.js';
import type { FunctionOptions } from '../interfaces/function-options.interface.js';

/**
 * Marks a method of a host provider as a function plugins may call with `PluginContext.callHost`.
 * The name defaults to the method's name. @publicApi
 */
export function HostFunction(nameOrOptions?: string | FunctionOptions): MethodDecorator {
  const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : (nameOrOptions ?? {});
  return SetMetadata(HOST_FUNCTION_METADATA, options);
}
