import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs';
import { RelayModule } from './relay.module.js';

await bootstrapPlugin(RelayModule);
