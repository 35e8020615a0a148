import { Injectable, Logger, type LogLevel } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { catchError, isObservable, of, type Observable } from 'rxjs';
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

/**
 * How a discovered method is called: Nest's guards, interceptors, pipes and filters run around it.
 * Returns the method's value, or a Promise of it (an Observable comes back as it is).
 */
export type ContextualHandler = (data: unknown, ctx: unknown) => unknown;

/** Where a handler's error goes when no exception filter of the app handles it. */
interface ExceptionsHandlerLike {
  next(exception: unknown, host: unknown): unknown;
  invokeCustomFilters(exception: unknown, host: unknown): unknown;
}

/** What Nest found around the method being wrapped: enough to tell whether a call needs Nest's pipeline. */
interface Wrapping {
  guards: number;
  interceptors: number;
  /** Parameters read by decorators (@Payload(), @Ctx()...): only they go through pipes. */
  params: number;
  /** The method's exception filters, and the error path that applies them. */
  filtered?: (err: unknown, args: unknown[]) => unknown;
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
  /** Filled while Nest wraps one method (createHandler). */
  private wrapping?: Wrapping;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    externalContextCreator: ExternalContextCreator,
    modules: ModulesContainer,
  ) {
    const creator = externalContextCreator as unknown as {
      filtersContextCreator: { create(...args: unknown[]): ExceptionsHandlerLike };
      interceptorsContextCreator: { create(...args: unknown[]): unknown[] };
      createGuardsFn(guards: unknown[], ...rest: unknown[]): unknown;
      createPipesFn(pipes: unknown[], params: unknown[]): unknown;
    };
    const filters = creator.filtersContextCreator;
    const interceptors = creator.interceptorsContextCreator;
    // Counted while Nest wraps a method: a method with no guard, interceptor or decorated
    // parameter is called directly (see createHandler), without Nest's promise chain around it.
    const wrapping = () => this.wrapping ?? { guards: 0, interceptors: 0, params: 0 };
    this.contextCreator = Object.create(externalContextCreator, {
      createGuardsFn: {
        value(this: typeof creator, guards: unknown[], ...rest: unknown[]) {
          wrapping().guards = guards.length;
          return creator.createGuardsFn.call(this, guards, ...rest);
        },
      },
      createPipesFn: {
        value(this: typeof creator, pipes: unknown[], params: unknown[]) {
          wrapping().params = params.length;
          return creator.createPipesFn.call(this, pipes, params);
        },
      },
      interceptorsContextCreator: {
        value: Object.create(interceptors, {
          create: {
            value(this: typeof interceptors, ...args: unknown[]) {
              const found = interceptors.create.call(this, ...args);
              wrapping().interceptors = found.length;
              return found;
            },
          },
        }),
      },
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
            wrapping().filtered = filtered;
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
    const callback = (instance as Record<string, Function>)[methodName] as (...args: unknown[]) => unknown;
    const wrapping: Wrapping = (this.wrapping = { guards: 0, interceptors: 0, params: 0 });
    let handler: ContextualHandler;
    try {
      handler = this.contextCreator.create(
        instance,
        callback,
        methodName,
        PARAM_ARGS_METADATA,
        new RpcParamsFactory() as ConstructorParameters<typeof Object>[0],
        undefined,
        undefined,
        { guards: true, interceptors: true, filters: true },
        'rpc',
      ) as ContextualHandler;
    } finally {
      this.wrapping = undefined;
    }
    const { filtered } = wrapping;
    if (wrapping.guards || wrapping.interceptors || wrapping.params || !filtered) return handler;
    return direct(instance, callback, filtered);
  }
}

/**
 * A method with nothing of Nest's to run before it: called at once, its value handed back as it
 * is (Nest's pipeline would add three async steps for the same result). Its errors, thrown, as a
 * rejected Promise or through its Observable, still go through its exception filters.
 */
function direct(instance: object, callback: (...args: unknown[]) => unknown, filtered: (err: unknown, args: unknown[]) => unknown): ContextualHandler {
  const filterObservable = (result: Observable<unknown>, args: unknown[]) =>
    result.pipe(
      catchError((err: unknown) => {
        const out = filtered(err, args);
        return isObservable(out) ? out : of(out);
      }),
    );
  const settled = (value: unknown, args: unknown[]) => (isObservable(value) ? filterObservable(value, args) : value);
  return (data: unknown, ctx: unknown) => {
    const args = [data, ctx];
    let result: unknown;
    try {
      result = callback.call(instance, data, ctx);
    } catch (err) {
      // As Nest's pipeline would: the filters' answer, or their error, as a settled Promise.
      return new Promise((resolve) => resolve(filtered(err, args)));
    }
    if (isObservable(result)) return filterObservable(result, args);
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
      return Promise.resolve(result).then(
        (value) => settled(value, args),
        (err: unknown) => filtered(err, args),
      );
    }
    return result;
  };
}
