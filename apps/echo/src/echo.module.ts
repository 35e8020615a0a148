import { Module } from '@nestjs/common';
import { WwPluginModule } from '@wwplugin/nestjs/plugin';
import { EchoFunctions } from './echo.functions.js';

@Module({
  imports: [WwPluginModule.forPlugin({ name: 'echo', version: '1.0.0', description: 'Echoes and greets' })],
  providers: [EchoFunctions],
})
export class EchoModule {}
