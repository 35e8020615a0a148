// The benchmark's plugin entry: a plugin as users write one.
import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs/plugin';
import { BenchPluginModule } from './bench-plugin.module.js';

await bootstrapPlugin(BenchPluginModule);
