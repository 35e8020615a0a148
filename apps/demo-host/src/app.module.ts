import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { WwPluginAdminModule, WwPluginMetricsController, WwPluginModule } from '@wwplugin/nestjs';
import { PluginHealthIndicator } from '@wwplugin/nestjs/health';
import { HealthController } from './health.controller.js';
import { EventsController } from './events.controller.js';
import { DemoHostFunctions } from './host-functions.js';

@Module({
  imports: [
    WwPluginModule.forRoot({
      defaultTimeoutMs: 5_000,
      restart: { mode: 'on-failure', maxRestarts: 5, windowMs: 60_000 },
      heartbeat: { intervalMs: 1_000, timeoutMs: 1_000, misses: 3 },
      // Plugins may call each other, except that nobody may call echo's "fail" for someone else.
      allowPluginCalls: (_caller, target, fn) => !(target === 'echo' && fn === 'fail'),
      // Prometheus text at GET /metrics (WwPluginMetricsController).
      metrics: true,
    }),
    // The live plugins page at /wwplugin. No guard: the demo listens on 127.0.0.1 only (the module refuses otherwise).
    WwPluginAdminModule.forRoot(),
    TerminusModule,
  ],
  controllers: [EventsController, HealthController, WwPluginMetricsController],
  providers: [DemoHostFunctions, PluginHealthIndicator],
})
export class AppModule {}
