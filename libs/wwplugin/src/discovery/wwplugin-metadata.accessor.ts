import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { HOST_FUNCTION_METADATA, ON_PUSH_METADATA, PLUGIN_FUNCTION_METADATA } from '../wwplugin.constants.js';
import type { FunctionOptions } from '../interfaces/function-options.interface.js';

/** The one place that reads this library's decorator metadata. */
@Injectable()
export class WwPluginMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getPluginFunction(target: Function): FunctionOptions | undefined {
    return this.reflector.get(PLUGIN_FUNCTION_METADATA, target);
  }

  getHostFunction(target: Function): FunctionOptions | undefined {
    return this.reflector.get(HOST_FUNCTION_METADATA, target);
  }

  getOnPush(target: Function): { topic: string } | undefined {
    return this.reflector.get(ON_PUSH_METADATA, target);
  }
}
