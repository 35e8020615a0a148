import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
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

  /** True when the method's declared return type (emitted as design:returntype) is an Observable. */
  returnsObservable(instance: object, methodName: string): boolean {
    const type: unknown = Reflect.getMetadata('design:returntype', instance, methodName);
    if (typeof type !== 'function') return false;
    // By name too: the plugin may load its own copy of rxjs.
    return type === Observable || type.prototype instanceof Observable || type.name === 'Observable';
  }
}
