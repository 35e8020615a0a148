import type { InjectionToken, LogLevel, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';

/** Options of WwPluginModule.forPlugin: who this plugin is. @publicApi */
export interface WwPluginOptions {
  /** Unique name the host and other plugins address it by. */
  name: string;
  version: string;
  description?: string;
  /**
   * What a streaming function's Observable may have waiting to be sent (default 65,536 items or
   * 32 MiB); past it the stream fails with StreamOverflowError. Async iterables are paused instead.
   */
  streamBuffer?: { items: number; bytes: number };
  /** Emits buffered while the host reads slowly or before it welcomed the plugin. Default 10 000. */
  emitBufferSize?: number;
  /** Bytes of emits buffered. Default 16 MiB. */
  emitBufferBytes?: number;
  /**
   * What `emit` does when the buffer is full: evict the oldest buffered emit ('drop-oldest', the
   * default), drop the new one ('drop-newest'), or throw EmitBufferFullError ('error'). All count
   * in `PluginContext.emitsDropped`.
   */
  emitOverflow?: 'drop-oldest' | 'drop-newest' | 'error';
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
