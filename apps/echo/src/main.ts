import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs/plugin';
import { EchoModule } from './echo.module.js';

await bootstrapPlugin(EchoModule);
