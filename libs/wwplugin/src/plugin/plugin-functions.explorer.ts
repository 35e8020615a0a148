import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { PATTERN_EXTRAS_METADATA, PATTERN_HANDLER_METADATA, PATTERN_METADATA, TRANSPORT_METADATA } from '@nestjs/microservices/constants.js';
import { transformPatternToRoute } from '@nestjs/microservices/utils/transform-pattern.utils.js';
import { MethodExplorer } from '../discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from '../discovery/wwplugin-metadata.accessor.js';
import { FunctionRegistry } from '../discovery/function.registry.js';
import type { WwPluginOptions } from '../interfaces/plugin-options.interface.js';
import { WWPLUGIN_PLUGIN_OPTIONS } from '../wwplugin.constants.js';
import { PluginFunctionRegistry } from './plugin-function.registry.js';
import { WWPLUGIN_TRANSPORT } from './wwplugin-transport.js';

/** Nest's PatternHandler.EVENT: the handler of an @EventPattern. */
const EVENT_HANDLER = 2;

interface PatternMeta {
  routes: string[];
  event: boolean;
  /** A Nest handler may return an Observable of many values: streaming unless its extras say `stream: false`. */
  stream: boolean;
}

/**
 * Finds @PluginFunction and @OnPush methods on every provider and controller, and controllers'
 * @MessagePattern/@EventPattern handlers of this transport, at bootstrap. Each is wrapped by the
 * same context creator, so enhancers given by class, instance or globally apply to all of them.
 */
@Injectable()
export class PluginFunctionsExplorer implements OnModuleInit {
  constructor(
    private readonly explorer: MethodExplorer,
    private readonly accessor: WwPluginMetadataAccessor,
    private readonly registry: PluginFunctionRegistry,
    @Inject(WWPLUGIN_PLUGIN_OPTIONS) private readonly options: WwPluginOptions,
  ) {}

  onModuleInit(): void {
    this.explorer.setErrorLogLevel(this.options.handlerErrorLogLevel);
    for (const found of this.explorer.find((m) => this.accessor.getPluginFunction(m))) {
      // Streaming unless said otherwise when the method is declared to return an Observable.
      const options = { ...found.meta, stream: found.meta.stream ?? this.accessor.returnsObservable(found.instance, found.methodName) };
      this.registry.add(FunctionRegistry.entry(found.methodName, found.label, options, this.explorer.createHandler(found)));
    }
    for (const found of this.explorer.find((m) => this.accessor.getOnPush(m))) {
      this.registry.pushHandlers.push({ topic: found.meta.topic, label: found.label, handler: this.explorer.createHandler(found) });
    }
    for (const found of this.explorer.find((m) => this.readPattern(m), 'controllers')) {
      const handler = this.explorer.createHandler(found);
      for (const route of found.meta.routes) {
        if (found.meta.event) {
          this.registry.eventHandlers.push({ topic: route, label: `@EventPattern(${route})`, handler });
        } else if (!this.registry.get(route)) {
          this.registry.add({ name: route, description: '', params: [], label: `@MessagePattern(${route})`, handler, stream: found.meta.stream });
        }
      }
    }
  }

  /** A @MessagePattern/@EventPattern meant for this transport (or for any). */
  private readPattern(method: Function): PatternMeta | undefined {
    const patterns = Reflect.getMetadata(PATTERN_METADATA, method) as unknown[] | undefined;
    if (!patterns) return undefined;
    const transport = Reflect.getMetadata(TRANSPORT_METADATA, method) as unknown;
    if (transport !== undefined && transport !== WWPLUGIN_TRANSPORT) return undefined;
    const event = Reflect.getMetadata(PATTERN_HANDLER_METADATA, method) === EVENT_HANDLER;
    const extras = Reflect.getMetadata(PATTERN_EXTRAS_METADATA, method) as { stream?: boolean } | undefined;
    const routes = patterns.map((p) => transformPatternToRoute(p as Parameters<typeof transformPatternToRoute>[0]));
    return { routes, event, stream: extras?.stream !== false };
  }
}
