import { Module } from '@nestjs/common';
import { WwPluginModule } from '@wwplugin/nestjs/plugin';
import { BenchFunctions } from './bench.functions.js';

@Module({
  imports: [WwPluginModule.forPlugin({ name: process.env.BENCH_PLUGIN_NAME ?? 'bench', version: '1.0.0', description: 'Benchmark plugin' })],
  providers: [BenchFunctions],
})
export class BenchPluginModule {}
