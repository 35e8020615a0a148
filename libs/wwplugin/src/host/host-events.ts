import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { PluginEvent, PluginMessage } from '../interfaces/host-options.interface.js';

/** The host's two public streams: lifecycle events, and messages plugins emit. */
@Injectable()
export class HostEvents implements OnApplicationShutdown {
  readonly events$ = new Subject<PluginEvent>();
  readonly messages$ = new Subject<PluginMessage>();

  emit(event: PluginEvent): void {
    this.events$.next(event);
  }

  onApplicationShutdown(): void {
    this.events$.complete();
    this.messages$.complete();
  }
}
