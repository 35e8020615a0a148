import { Controller, Get, Header, NotFoundException, Res } from '@nestjs/common';
import { METRICS_OFF } from '../../wwplugin.messages.js';
import { PluginMetrics } from './plugin-metrics.js';

/**
 * GET /metrics in Prometheus' text format. Add it to a module's `controllers` (behind your own
 * guard if the app is public); it answers 404 while forRoot's `metrics` is off.
 * @publicApi
 */
@Controller('metrics')
export class WwPluginMetricsController {
  constructor(private readonly metrics: PluginMetrics) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(
    @Res({ passthrough: true }) res: { setHeader?: (name: string, value: string) => void; header?: (name: string, value: string) => void },
  ): Promise<string> {
    if (!this.metrics.enabled) throw new NotFoundException(METRICS_OFF);
    const text = await this.metrics.metrics();
    // Express and Fastify name the method differently.
    if (res.setHeader) res.setHeader('Content-Type', this.metrics.contentType);
    else res.header?.('Content-Type', this.metrics.contentType);
    return text;
  }
}
