import { Module } from '@nestjs/common';
import { WwPluginModule } from '@wwplugin/nestjs/plugin';
import { TickerFunctions } from './ticker.functions.js';

@Module({
  imports: [WwPluginModule.forPlugin({ name: 'ticker', version: '1.0.0', description: 'Streams and emits ticks' })],
  providers: [TickerFunctions],
})
export class TickerModule {}
