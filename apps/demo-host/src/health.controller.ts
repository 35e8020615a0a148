import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { PluginHealthIndicator } from '@wwplugin/nestjs/health';

/** GET /health: up while every loaded plugin runs (terminus format, 503 when one is down). */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly plugins: PluginHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.plugins.isHealthy('plugins')]);
  }
}
