import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { FunctionRegistry } from '../discovery/function.registry.js';
import { MethodExplorer } from '../discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from '../discovery/wwplugin-metadata.accessor.js';
import type { WwPluginHostOptions } from '../interfaces/host-options.interface.js';
import { WWPLUGIN_HOST_OPTIONS } from '../wwplugin.constants.js';
import { HostFunctionRegistry } from './host-function.registry.js';

/** Finds @HostFunction methods on every provider and controller of the host app at bootstrap. */
@Injectable()
export class HostFunctionsExplorer implements OnModuleInit {
  constructor(
    private readonly explorer: MethodExplorer,
    private readonly accessor: WwPluginMetadataAccessor,
    private readonly registry: HostFunctionRegistry,
    @Inject(WWPLUGIN_HOST_OPTIONS) private readonly options: WwPluginHostOptions,
  ) {}

  onModuleInit(): void {
    this.explorer.setErrorLogLevel(this.options.handlerErrorLogLevel);
    for (const found of this.explorer.find((m) => this.accessor.getHostFunction(m))) {
      this.registry.add(FunctionRegistry.entry(found.methodName, found.label, found.meta, this.explorer.createHandler(found)));
    }
  }
}
