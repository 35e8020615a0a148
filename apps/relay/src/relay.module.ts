import { Module } from '@nestjs/common';
import { WwPluginModule } from '@wwplugin/nestjs/plugin';
import { RelayFunctions } from './relay.functions.js';

@Module({
  imports: [WwPluginModule.forPlugin({ name: 'relay', version: '1.0.0', description: 'Calls echo through the host' })],
  providers: [RelayFunctions],
})
export class RelayModule {}
