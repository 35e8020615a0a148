import { Injectable, Logger, type LogLevel } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { catchError, isObservable, of } from 'rxjs';
import { PARAM_ARGS_METADATA } from '@nestjs/microservices/constants.js';
import { RpcParamsFactory } from '@nestjs/microservices/factories/rpc-params-factory.js';
import { HANDLER_THREW } from '../wwplugin.messages.js';

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

/** Where a handler's error goes when no exception filter of the app handles it. */
interface ExceptionsHandlerLike {
  next(exception: unknown, host: unknown): unknown;
  invokeCustomFilters(exception: unknown, host: unknown): unknown;
}

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
  /** Level at which a handler's error, returned to its caller, is logged (false: not at all). */
  private errorLogLevel: LogLevel | false = 'debug';

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    externalContextCreator: ExternalContextCreator,
    modules: ModulesContainer,
  ) {
    const filters = (externalContextCreator as unknown as { filtersContextCreator: { create(...args: unknown[]): ExceptionsHandlerLike } })
      .filtersContextCreator;
    this.contextCreator = Object.create(externalContextCreator, {
      // ExternalContextCreator resolves Observables to their last value; streaming functions need
      // the Observable itself, so this view of the creator hands results back untouched (and at
      // once: the handler is async already, another async step would only cost a microtask).
      transformToResult: { value: (result: unknown) => result },
      // Nest looks up the module of a handler among providers only: a controller's enhancers given
      // by class would then resolve to nothing and be dropped silently.
      getContextModuleKey: {
        value: (classRef: Function | undefined): string => {
          if (!classRef) return '';
          for (const [key, moduleRef] of modules.entries()) {
            if (moduleRef.hasProvider(classRef) || moduleRef.controllers.has(classRef as never)) return key;
          }
          return '';
        },
      },
      // Interceptors hand back an Observable, which fails only when the call subscribes to it:
      // its error must reach the exception filters too, not only an error thrown at once.
      externalErrorProxy: {
        value: {
          createProxy: (target: (...args: unknown[]) => Promise<unknown>, handler: ExceptionsHandlerLike, type: string) => {
            const filtered = (err: unknown, args: unknown[]) => {
              const host = new ExecutionContextHost(args);
              host.setType(type);
              return handler.next(err, host);
            };
            return async (...args: unknown[]) => {
              try {
                const result = await target(...args);
                if (!isObservable(result)) return result;
                return result.pipe(
                  catchError((err: unknown) => {
                    const out = filtered(err, args);
                    return isObservable(out) ? out : of(out);
                  }),
                );
              } catch (err) {
                return filtered(err, args);
              }
            };
          },
        },
      },
      // The caller receives a handler's error: log it once, at the chosen level, not as Nest's
      // unhandled-exception ERROR with a stack for each call.
      filtersContextCreator: {
        value: Object.create(filters, {
          create: {
            value: (...args: unknown[]) => {
              const handler = filters.create(...args);
              handler.next = (exception: unknown, host: unknown) => {
                const result = handler.invokeCustomFilters(exception, host);
                if (result !== undefined) return result;
                this.logHandlerError(exception);
                throw exception;
              };
              return handler;
            },
          },
        }),
      },
    });
  }

  /** Sets the level at which handler errors are logged; `false` logs none. */
  setErrorLogLevel(level: LogLevel | false | undefined): void {
    if (level !== undefined) this.errorLogLevel = level;
  }

  private logHandlerError(err: unknown): void {
    if (!this.errorLogLevel) return;
    const name = err instanceof Error && err.name === 'Error' ? err.constructor.name : (err as Error)?.name;
    const text = err instanceof Error ? `${name}: ${err.message}` : String(err);
    const stack = err instanceof Error ? err.stack : undefined;
    if (this.errorLogLevel === 'error' || this.errorLogLevel === 'fatal') this.logger[this.errorLogLevel](HANDLER_THREW(text), stack);
    else this.logger[this.errorLogLevel](HANDLER_THREW(text));
  }

  find<M>(read: (method: Function) => M | undefined, where: 'all' | 'controllers' = 'all'): FoundMethod<M>[] {
    const found: FoundMethod<M>[] = [];
    const controllers = this.discovery.getControllers();
    const wrappers = where === 'controllers' ? controllers : [...this.discovery.getProviders(), ...controllers];
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
