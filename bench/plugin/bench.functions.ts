import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PluginContext, PluginFunction } from '@wwplugin/nestjs/plugin';
import { sequential } from '../support/stats.js';

/** Spins for `us` microseconds: a deliberately slow reader that keeps its event loop busy. */
function spin(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** What the benchmark calls in a plugin, and what the plugin measures from its side. */
@Injectable()
export class BenchFunctions implements OnApplicationBootstrap {
  private pushes = 0;
  private firstPushAt = 0;
  private lastPushAt = 0;
  private readonly slowUs = Number(process.env.BENCH_SLOW_US ?? 0);

  constructor(private readonly ctx: PluginContext) {}

  onApplicationBootstrap(): void {
    this.ctx.messages('bench').subscribe(() => {
      const now = performance.now();
      if (this.pushes++ === 0) this.firstPushAt = now;
      this.lastPushAt = now;
      if (this.slowUs) spin(this.slowUs);
    });
  }

  @PluginFunction()
  echo({ payload }: { payload: string }): string {
    return payload;
  }

  /** CPU this plugin process has used so far (µs), to work out its cost per call. */
  @PluginFunction()
  cpu(): number {
    const { user, system } = process.cpuUsage();
    return user + system;
  }

  @PluginFunction()
  rss(): number {
    return process.memoryUsage().rss;
  }

  /** plugin → host: sequential callHost latency, measured here. */
  @PluginFunction()
  measureCallHost({ n, warmupMs, payload }: { n: number; warmupMs: number; payload: string }) {
    return sequential(n, warmupMs, () => this.ctx.callHost('hostEcho', { payload }));
  }

  /** plugin → plugin through the host: sequential callPlugin latency, measured here. */
  @PluginFunction()
  measureCallPlugin({ target, n, warmupMs, payload }: { target: string; n: number; warmupMs: number; payload: string }) {
    return sequential(n, warmupMs, () => this.ctx.callPlugin(target, 'echo', { payload }));
  }

  @PluginFunction()
  pushReset(): void {
    this.pushes = 0;
    this.firstPushAt = this.lastPushAt = 0;
  }

  /** Pushes delivered to this plugin's Observable since the last reset, and the time from first to last. */
  @PluginFunction()
  pushStats(): { count: number; spanMs: number } {
    return { count: this.pushes, spanMs: this.lastPushAt - this.firstPushAt };
  }
}
