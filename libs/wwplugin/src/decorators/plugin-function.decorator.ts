import { SetMetadata } from '@nestjs/common';
import { PLUGIN_FUNCTION_METADATA } from '../wwplugin.constants.js';
import type { FunctionOptions } from '../interfaces/function-options.interface.js';

/**
 * Marks a provider or controller method as a function the plugin offers to the host.
 * The name defaults to the method's name. @publicApi
 */
export function PluginFunction(nameOrOptions?: string | FunctionOptions): MethodDecorator {
  const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : (nameOrOptions ?? {});
  return SetMetadata(PLUGIN_FUNCTION_METADATA, options);
}
