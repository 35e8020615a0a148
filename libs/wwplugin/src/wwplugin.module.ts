import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MethodExplorer } from './discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from './discovery/wwplugin-metadata.accessor.js';
import type { WwPluginHostAsyncOptions, WwPluginHostOptions } from './interfaces/host-options.interface.js';
import type { WwPluginAsyncOptions, WwPluginOptions } from './interfaces/plugin-options.interface.js';
import { PluginFunctionRegistry } from './plugin/plugin-function.registry.js';
import { PluginFunctionsExplorer } from './plugin/plugin-functions.explorer.js';
import { PluginSession } from './plugin/plugin-session.js';
import { PluginContext } from './plugin/plugin.context.js';
import { WWPLUGIN_HOST_OPTIONS, WWPLUGIN_PLUGIN_OPTIONS } from './wwplugin.constants.js';
import { HostOptionsModule, PluginOptionsModule } from './wwplugin.module-definition.js';
import { validateHostOptions, validatePluginOptions } from './wwplugin.options-validator.js';

/** The options as given, before validation (the validated ones are under the public tokens). */
const RAW_HOST_OPTIONS = Symbol('WWPLUGIN_RAW_HOST_OPTIONS');
const RAW_PLUGIN_OPTIONS = Symbol('WWPLUGIN_RAW_PLUGIN_OPTIONS');

/** Puts a validation step between the options Nest's builder provides and everything that injects them. */
function validated(providers: Provider[] = [], token: symbol, raw: symbol, validate: (o: never) => unknown): Provider[] {
  const renamed = providers.map((p) => (typeof p === 'object' && 'provide' in p && p.provide === token ? { ...p, provide: raw } : p));
  return [...renamed, { provide: token, useFactory: validate, inject: [raw] }];
}

/**
 * WWPlugin for NestJS. In a host app: `forRoot` / `forRootAsync` give PluginHostService. In a plugin
 * app: `forPlugin` / `forPluginAsync` give PluginContext and serve the app's @PluginFunction methods.
 * The async forms take useFactory (with imports/inject), useClass or useExisting, as official Nest
 * modules do; options are checked at bootstrap. @publicApi
 */
@Module({})
export class WwPluginModule {
  /** Makes this app a plugin host. */
  static forRoot(options: WwPluginHostOptions = {}): DynamicModule {
    return WwPluginModule.host(HostOptionsModule.forRoot(options));
  }

  /** Makes this app a plugin host, with options from a factory or a class (ConfigService and the like). */
  static forRootAsync(options: WwPluginHostAsyncOptions): DynamicModule {
    return WwPluginModule.host(HostOptionsModule.forRootAsync(options));
  }

  /** Makes this app a plugin; start it with bootstrapPlugin(AppModule). */
  static forPlugin(options: WwPluginOptions): DynamicModule {
    return WwPluginModule.plugin(PluginOptionsModule.forPlugin(options));
  }

  /** Makes this app a plugin, with options from a factory or a class. */
  static forPluginAsync(options: WwPluginAsyncOptions): DynamicModule {
    return WwPluginModule.plugin(PluginOptionsModule.forPluginAsync(options));
  }

  // The host's providers are imported when a host module is made: a plugin process, which loads
  // this module too, never evaluates the host's code (and what it imports).
  private static host(options: DynamicModule): DynamicModule {
    const providers = validated(options.providers, WWPLUGIN_HOST_OPTIONS, RAW_HOST_OPTIONS, validateHostOptions);
    return {
      module: WwPluginModule,
      global: true,
      imports: [import('./host/wwplugin-host.module.js').then((m) => m.WwPluginHostModule.of(options.imports ?? [], providers))],
    };
  }

  private static plugin(options: DynamicModule): DynamicModule {
    return {
      module: WwPluginModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [
        ...validated(options.providers, WWPLUGIN_PLUGIN_OPTIONS, RAW_PLUGIN_OPTIONS, validatePluginOptions),
        WwPluginMetadataAccessor,
        MethodExplorer,
        PluginFunctionRegistry,
        PluginFunctionsExplorer,
        PluginSession,
        PluginContext,
      ],
      exports: [PluginContext, PluginSession],
    };
  }
}
