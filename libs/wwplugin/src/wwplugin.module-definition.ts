import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WwPluginHostOptions } from './interfaces/host-options.interface.js';
import type { WwPluginOptions } from './interfaces/plugin-options.interface.js';
import { WWPLUGIN_HOST_OPTIONS, WWPLUGIN_PLUGIN_OPTIONS } from './wwplugin.constants.js';

// Nest's own builders make the options providers of forRoot/forRootAsync and forPlugin/forPluginAsync
// (useFactory, useClass, useExisting, imports, inject); WwPluginModule adds the library's providers.

/** The host side: forRoot / forRootAsync; a useClass/useExisting factory implements createWwPluginOptions(). */
export const { ConfigurableModuleClass: HostOptionsModule } = new ConfigurableModuleBuilder<WwPluginHostOptions>({
  optionsInjectionToken: WWPLUGIN_HOST_OPTIONS,
  moduleName: 'WwPluginHost',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWwPluginOptions')
  .build();

/** The plugin side: forPlugin / forPluginAsync. */
export const { ConfigurableModuleClass: PluginOptionsModule } = new ConfigurableModuleBuilder<WwPluginOptions>({
  optionsInjectionToken: WWPLUGIN_PLUGIN_OPTIONS,
  moduleName: 'WwPlugin',
})
  .setClassMethodName('forPlugin')
  .setFactoryMethodName('createWwPluginOptions')
  .build();
