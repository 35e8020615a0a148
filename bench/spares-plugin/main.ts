// The spares benchmark's plugin: it notes when each phase of its start ran (wall clock, comparable
// with the host's), and hands the notes back in a call.
import 'reflect-metadata';
import { Injectable, Module, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { PluginFunction, PluginSession, WwPluginModule, bootstrapPlugin } from '@wwplugin/nestjs';

const now = () => performance.timeOrigin + performance.now();
/** Wall-clock times (ms since the epoch) of this process's start phases. */
const marks: Record<string, number> = { processStart: performance.timeOrigin, imported: now() };

@Injectable()
class TraceFunctions implements OnModuleInit, OnApplicationBootstrap {
  constructor(private readonly moduleRef: ModuleRef) {
    marks.constructed = now();
  }

  onModuleInit(): void {
    marks.moduleInit = now();
  }

  onApplicationBootstrap(): void {
    marks.appBootstrap = now();
    this.moduleRef.get(PluginSession, { strict: false }).welcomed.subscribe(() => (marks.welcomed ??= now()));
  }

  @PluginFunction()
  echo({ payload }: { payload: string }): string {
    marks.firstCall ??= now();
    return payload;
  }

  @PluginFunction()
  marks(): Record<string, number> {
    return marks;
  }
}

@Module({
  imports: [WwPluginModule.forPlugin({ name: process.env.BENCH_PLUGIN_NAME ?? 'trace', version: '1.0.0' })],
  providers: [TraceFunctions],
})
class TracePluginModule {}

await bootstrapPlugin(TracePluginModule);
