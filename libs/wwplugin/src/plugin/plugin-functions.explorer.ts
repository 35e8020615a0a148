import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MethodExplorer } from '../discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from '../discovery/wwplugin-metadata.accessor.js';
import { FunctionRegistry } from '../discovery/function.registry.js';
import { PluginFunctionRegistry } from './plugin-function.registry.js';

/** Finds @PluginFunction and @OnPush methods on every provider and controller at bootstrap. */
@Injectable()
export class PluginFunctionsExplorer implements OnModuleInit {
  constructor(
    private readonly explorer: MethodExplorer,
    private readonly accessor: WwPluginMetadataAccessor,
    private readonly registry: PluginFunctionRegistry,
  ) {}

  onModuleInit(): void {
    for (const found of this.explorer.find((m) => this.accessor.getPluginFunction(m))) {
      // Streaming unless said otherwise when the method is declared to return an Observable.
      const options = { ...found.meta, stream: found.meta.stream ?? this.accessor.returnsObservable(found.instance, found.methodName) };
      this.registry.add(FunctionRegistry.entry(found.methodName, found.label, options, this.explorer.createHandler(found)));
    }
    for (const found of this.explorer.find((m) => this.accessor.getOnPush(m))) {
      this.registry.pushHandlers.push({ topic: found.meta.topic, label: found.label, handler: this.explorer.createHandler(found) });
    }
  }
}
