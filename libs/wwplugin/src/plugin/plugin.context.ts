import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { CallOptions } from '../protocol/session-channel.js';
import type { PushMessage } from '../interfaces/plugin-options.interface.js';
import { remoteProxy, type RemoteApi, type RemoteCallOptions as PluginCallOptions, type StreamCallOptions } from '../protocol/remote-proxy.js';
import { PluginSession } from './plugin-session.js';

/**
 * What a plugin's providers inject to reach the outside world: call the host and other plugins,
 * receive the host's pushes, and emit messages to the host. @publicApi
 */
@Injectable()
export class PluginContext {
  constructor(private readonly session: PluginSession) {}

  /** This plugin's name and the id its host gave it. */
  get info(): { id: string; name: string; version: string } {
    return { id: this.session.id, name: this.session.name, version: this.session.options.version };
  }

  /** Calls a @HostFunction of the host. */
  callHost<T = unknown>(fn: string, args?: unknown, opts: PluginCallOptions = {}): Promise<T> {
    return this.session.call(fn, args, opts) as Promise<T>;
  }

  /** Calls a function of another plugin (by name or id); the host routes it and may refuse it. */
  callPlugin<T = unknown>(target: string, fn: string, args?: unknown, opts: PluginCallOptions = {}): Promise<T> {
    return this.session.call(fn, args, { ...opts, target } satisfies CallOptions) as Promise<T>;
  }

  /** Subscribes to a streaming function of another plugin, through the host (`idleTimeoutMs`: see StreamCallOptions). */
  streamPlugin<T = unknown>(target: string, fn: string, args?: unknown, opts: StreamCallOptions = {}): Observable<T> {
    return this.session.stream(fn, args, { ...opts, target }) as Observable<T>;
  }

  /** Pulls the values of another plugin's streaming function: it sends only what the loop takes. */
  iteratePlugin<T = unknown>(target: string, fn: string, args?: unknown, opts: PluginCallOptions = {}): AsyncIterable<T> {
    return this.session.iterate(fn, args, { ...opts, target }) as AsyncIterable<T>;
  }

  /** The host's pushes, all topics or one. */
  messages<T = unknown>(topic?: string): Observable<PushMessage<T>> {
    return this.session.messages(topic) as Observable<PushMessage<T>>;
  }

  /** Sends a message to the host; it reaches PluginHostService.messages(). */
  emit(topic: string, payload: unknown): void {
    this.session.emit(topic, payload);
  }

  /** Emits dropped so far because the emit buffer was full (see `emitOverflow` in forPlugin). */
  get emitsDropped(): number {
    return this.session.emitsDropped;
  }

  /** Emits waiting in the buffer for the host to read them. */
  get emitsQueued(): number {
    return this.session.emitsQueued;
  }

  /** A typed proxy of another plugin's functions. */
  plugin<T>(target: string): RemoteApi<T> {
    return remoteProxy<T>((fn, args, opts) => this.callPlugin(target, fn, args, opts));
  }

  /** A typed proxy of the host's functions. */
  host<T>(): RemoteApi<T> {
    return remoteProxy<T>((fn, args, opts) => this.callHost(fn, args, opts));
  }
}
