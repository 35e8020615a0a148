import { Injectable } from '@nestjs/common';
import { HostFunction, ParameterType, type WwPluginCallContext } from '@wwplugin/nestjs';

/** Functions the demo host offers its plugins (PluginContext.callHost). */
@Injectable()
export class DemoHostFunctions {
  @HostFunction({ description: 'Adds numbers up', params: { ids: ParameterType.JSON } })
  sum({ ids }: { ids: number[] }): number {
    return ids.reduce((a, b) => a + b, 0);
  }

  @HostFunction()
  time(_args: unknown, call: WwPluginCallContext): { now: string; askedBy: string } {
    return { now: new Date().toISOString(), askedBy: call.caller };
  }
}
