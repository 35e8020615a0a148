// The instances benchmark's plugin: one CPU-bound function, nothing else.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { bootstrapPlugin, PluginFunction, WwPluginModule } from '@wwplugin/nestjs';

@Injectable()
class BurnFunctions {
  /** `rounds` rounds of integer arithmetic on the plugin's one thread: the call costs CPU, not waiting. */
  @PluginFunction()
  burn({ rounds }: { rounds: number }): number {
    let x = 0;
    for (let i = 0; i < rounds; i++) x = (x * 31 + i) % 1_000_003;
    return x;
  }
}

@Module({ imports: [WwPluginModule.forPlugin({ name: 'burn', version: '1.0.0', description: 'CPU-bound benchmark plugin' })], providers: [BurnFunctions] })
class BurnPluginModule {}

await bootstrapPlugin(BurnPluginModule);
