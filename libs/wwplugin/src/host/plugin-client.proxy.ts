import { Injectable } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { InvalidArgumentError } from '../errors/wwplugin.errors.js';
import { PluginHostService } from './plugin-host.service.js';

/** The pattern of a ClientProxy message: which plugin and function; `plugin: '*'` for emit to all. @publicApi */
export interface PluginPattern {
  plugin: string;
  fn?: string;
  topic?: string;
  /** For emit to a plugin with several instances: every instance or one (see PushOptions). */
  to?: 'all' | 'one';
}

/**
 * The host as a Nest microservice client: `client.send({ plugin, fn }, args)` calls a plugin
 * function (an Observable of its result, or of every value of a streaming function; with the
 * deadlines of `PluginHostService.stream`), and
 * `client.emit({ plugin, topic }, payload)` pushes. Inject it by class or as WWPLUGIN_CLIENT.
 * @publicApi
 */
@Injectable()
export class PluginClientProxy extends ClientProxy {
  constructor(private readonly host: PluginHostService) {
    super();
  }

  async connect(): Promise<void> {
    // The host service is connected once the module has started.
  }

  close(): void {
    // Plugins are owned by PluginHostService; closing the client stops nothing.
  }

  unwrap<T>(): T {
    return this.host as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    let pattern: PluginPattern;
    try {
      pattern = this.parse(packet.pattern);
    } catch (err) {
      callback({ err, isDisposed: true });
      return () => undefined;
    }
    const subscription = this.host.stream(pattern.plugin, pattern.fn!, packet.data).subscribe({
      next: (response) => callback({ response }),
      error: (err) => callback({ err, isDisposed: true }),
      complete: () => callback({ isDisposed: true }),
    });
    return () => subscription.unsubscribe();
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const pattern = this.parse(packet.pattern, true);
    return this.host.push(pattern.plugin, pattern.topic ?? pattern.fn!, packet.data, pattern.to ? { to: pattern.to } : undefined) as T;
  }

  private parse(raw: unknown, event = false): PluginPattern {
    const pattern = (typeof raw === 'string' ? JSON.parse(raw) : raw) as PluginPattern;
    const name = event ? (pattern?.topic ?? pattern?.fn) : pattern?.fn;
    if (!pattern || typeof pattern.plugin !== 'string' || typeof name !== 'string') {
      throw new InvalidArgumentError(
        event ? 'PluginClientProxy.emit needs a pattern { plugin, topic }.' : 'PluginClientProxy.send needs a pattern { plugin, fn }.',
      );
    }
    return pattern;
  }
}
