import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs/plugin';
import { TickerModule } from './ticker.module.js';

await bootstrapPlugin(TickerModule);
