import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner } from '@nestjs/core';
import { PARAM_ARGS_METADATA } from '@nestjs/microservices/constants.js';
import { RpcParamsFactory } from '@nestjs/microservices/factories/rpc-params-factory.js';

/** A decorated method found on a provider or controller. */
export interface FoundMethod<M> {
  meta: M;
  instance: object;
  methodName: string;
  /** "ClassName.method", for messages. */
  label: string;
}

/** How a discovered method is called: Nest's guards, interceptors, pipes and filters run around it. */
export type ContextualHandler = (data: unknown, ctx: unknown) => Promise<unknown>;

/**
 * Walks providers and controllers once at bootstrap for methods carrying some metadata, and wraps
 * each in Nest's execution context ('rpc'), so @UseGuards/@UsePipes/@UseInterceptors/@UseFilters and
 * @Payload()/@Ctx() work on plugin and host functions as on any microservice handler.
 * Shared by the host's and the plugin's explorers.
 */
@Injectable()
export class MethodExplorer {
  private readonly logger = new Logger('WwPlugin');
  private readonly contextCreator: ExternalContextCreator;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    externalContextCreator: ExternalContextCreator,
  ) {
    // ExternalContextCreator resolves Observables to their last value; streaming functions need
    // the Observable itself, so this view of the creator hands results back untouched (and at
    // once: the handler is async already, another async step would only cost a microtask).
    this.contextCreator = Object.create(externalContextCreator, {
      transformToResult: { value: (result: unknown) => result },
    });
  }

  find<M>(read: (method: Function) => M | undefined): FoundMethod<M>[] {
    const found: FoundMethod<M>[] = [];
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const seen = new Set<object>();
    for (const wrapper of wrappers) {
      const { instance } = wrapper;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance);
      if (!prototype) continue;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = (instance as Record<string, unknown>)[methodName];
        if (typeof method !== 'function') continue;
        const meta = read(method);
        if (meta === undefined) continue;
        const label = `${instance.constructor?.name ?? 'anonymous'}.${methodName}`;
        if (!wrapper.isDependencyTreeStatic()) {
          // A request-scoped provider has no instance to call outside a request.
          this.logger.warn(`${label} is in a request-scoped provider and cannot serve calls; make the provider static.`);
          continue;
        }
        found.push({ meta, instance, methodName, label });
      }
    }
    return found;
  }

  /** Wraps a found method so that calling it runs the Nest enhancers; args are (data, ctx). */
  createHandler(found: FoundMethod<unknown>): ContextualHandler {
    const { instance, methodName } = found;
    const callback = (instance as Record<string, Function>)[methodName];
    return this.contextCreator.create(
      instance,
      callback as (...args: unknown[]) => unknown,
      methodName,
      PARAM_ARGS_METADATA,
      new RpcParamsFactory() as ConstructorParameters<typeof Object>[0],
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: true },
      'rpc',
    ) as ContextualHandler;
  }
}
