import type { InjectionToken, LogLevel, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';

/** Options of WwPluginModule.forPlugin: who this plugin is. @publicApi */
export interface WwPluginOptions {
  /** Unique name the host and other plugins address it by. */
  name: string;
  version: string;
  description?: string;
  /** Level at which an error a handler threw (and its caller received) is logged; false: never. Default 'debug'. */
  handlerErrorLogLevel?: LogLevel | false;
}

/** Builds the plugin options for forPluginAsync's useClass / useExisting. @publicApi */
export interface WwPluginOptionsFactory {
  createWwPluginOptions(): WwPluginOptions | Promise<WwPluginOptions>;
}

/** forPluginAsync options, in the shape of every official Nest module. @publicApi */
export interface WwPluginAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory?: (...args: any[]) => WwPluginOptions | Promise<WwPluginOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useClass?: Type<WwPluginOptionsFactory>;
  useExisting?: Type<WwPluginOptionsFactory>;
}

/** A message the host pushed to this plugin. @publicApi */
export interface PushMessage<T = unknown> {
  topic: string;
  payload: T;
  /** Per-plugin sequence number given by the host (ordering check, gap detection). */
  seq: number;
}
