import { ConfigurableModuleBuilder } from '@nestjs/common';
import { RouterModule } from '@nestjs/core';
import type { WwPluginAdminExtras, WwPluginAdminOptions } from '../interfaces/admin-options.interface.js';
import { validateAdminPath } from '../wwplugin.options-validator.js';

/** Injection token of the admin page's options, once validated. */
export const WWPLUGIN_ADMIN_OPTIONS = Symbol('WWPLUGIN_ADMIN_OPTIONS');
/** The options as given: Nest's builder provides them here, the module validates them into WWPLUGIN_ADMIN_OPTIONS. */
export const RAW_ADMIN_OPTIONS = Symbol('WWPLUGIN_RAW_ADMIN_OPTIONS');
/** The page's mount point unless `path` says otherwise. */
export const DEFAULT_ADMIN_PATH = 'wwplugin';

// Nest's builder makes forRoot/forRootAsync; `path` is an extra: routes are fixed before any factory runs,
// and RouterModule mounts the module's controller below it.
export const {
  ConfigurableModuleClass: AdminOptionsModule,
  OPTIONS_TYPE: ADMIN_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ADMIN_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WwPluginAdminOptions>({ optionsInjectionToken: RAW_ADMIN_OPTIONS, moduleName: 'WwPluginAdmin' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWwPluginAdminOptions')
  .setExtras<WwPluginAdminExtras>({ path: DEFAULT_ADMIN_PATH }, (definition, extras) => ({
    ...definition,
    imports: [
      ...(definition.imports ?? []),
      RouterModule.register([{ path: validateAdminPath(extras.path ?? DEFAULT_ADMIN_PATH), module: definition.module }]),
    ],
  }))
  .build();
