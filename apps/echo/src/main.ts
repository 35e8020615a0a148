import 'reflect-metadata';
import { bootstrapPlugin } from '@wwplugin/nestjs';
import { EchoModule } from './echo.module.js';

await bootstrapPlugin(EchoModule);
