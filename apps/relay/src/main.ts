import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs/plugin';
import { RelayModule } from './relay.module.js';

await bootstrapPlugin(RelayModule);
