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
}

/** A message the host pushed to this plugin. @publicApi */
export interface PushMessage<T = unknown> {
  topic: string;
  payload: T;
  /** Per-plugin sequence number given by the host (ordering check, gap detection). */
  seq: number;
}
