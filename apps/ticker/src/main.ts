import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs';
import { TickerModule } from './ticker.module.js';

await bootstrapPlugin(TickerModule);
