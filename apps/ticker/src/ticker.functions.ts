import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { interval, map, Observable, Subscription, take } from 'rxjs';
import { OnPush, PluginContext, PluginFunction } from '@wwplugin/nestjs/plugin';

/** One tick, as streamed and as emitted. */
export interface Tick {
  n: number;
  at: string;
}

/** The ticker plugin's API, as callers see it (host.plugin<TickerApi>('ticker')). */
export interface TickerApi {
  ticks(args: { count?: number; everyMs?: number }): Observable<Tick>;
  startTicking(args?: { everyMs?: number; topic?: string }): string;
  stopTicking(): boolean;
}

/**
 * Ticks two ways: a streaming function (the host subscribes with PluginHostService.stream) and
 * messages emitted on a topic (the host watches them with PluginHostService.messages).
 */
@Injectable()
export class TickerFunctions implements OnModuleDestroy {
  private emitting?: Subscription;
  private n = 0;

  constructor(private readonly ctx: PluginContext) {}

  /** `count` ticks, one every `everyMs`, then completes. Unsubscribing stops the timer here. */
  @PluginFunction({ description: 'Streams ticks, then completes' })
  ticks({ count = 10, everyMs = 100 }: { count?: number; everyMs?: number } = {}): Observable<Tick> {
    return interval(everyMs).pipe(
      take(count),
      map((i) => ({ n: i + 1, at: new Date().toISOString() })),
    );
  }

  /** Emits a tick on `topic` every `everyMs` until stopTicking(); returns the topic. */
  @PluginFunction({ description: 'Emits ticks on a topic' })
  startTicking({ everyMs = 1000, topic = 'ticks' }: { everyMs?: number; topic?: string } = {}): string {
    this.emitting?.unsubscribe();
    this.emitting = interval(everyMs).subscribe(() => this.ctx.emit(topic, { n: ++this.n, at: new Date().toISOString() }));
    return topic;
  }

  @PluginFunction()
  stopTicking(): boolean {
    const was = !!this.emitting && !this.emitting.closed;
    this.emitting?.unsubscribe();
    return was;
  }

  /** The host pushes 'ticker.reset' to start counting from zero again. */
  @OnPush('ticker.reset')
  reset(payload: { to?: number } | null): void {
    this.n = payload?.to ?? 0;
  }

  onModuleDestroy(): void {
    this.emitting?.unsubscribe();
  }
}
