import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MethodExplorer } from './discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from './discovery/wwplugin-metadata.accessor.js';
import { CallObservers } from './host/call-observers.js';
import { CallRouter } from './host/call-router.js';
import { CallTracer } from './host/call-tracer.js';
import { PluginMetrics } from './host/metrics/plugin-metrics.js';
import { HostEvents } from './host/host-events.js';
import { HostFunctionRegistry } from './host/host-function.registry.js';
import { HostFunctionsExplorer } from './host/host-functions.explorer.js';
import { HostServer } from './host/host-server.js';
import { HostTls } from './host/host-tls.js';
import { PluginClientProxy } from './host/plugin-client.proxy.js';
import { PluginHostService } from './host/plugin-host.service.js';
import { PluginLauncher } from './host/plugin-launcher.js';
import { SparePool } from './host/spare-pool.js';
import { PluginLogRelay } from './host/plugin-log.relay.js';
import { PluginRegistry } from './host/plugin.registry.js';
import { RemoteListener } from './host/remote-listener.js';
import { HeartbeatScheduler } from './host/supervision/heartbeat.scheduler.js';
import { PluginSupervisor } from './host/supervision/plugin-supervisor.js';
import type { WwPluginHostAsyncOptions, WwPluginHostOptions } from './interfaces/host-options.interface.js';
import type { WwPluginAsyncOptions, WwPluginOptions } from './interfaces/plugin-options.interface.js';
import { PluginFunctionRegistry } from './plugin/plugin-function.registry.js';
import { PluginFunctionsExplorer } from './plugin/plugin-functions.explorer.js';
import { PluginSession } from './plugin/plugin-session.js';
import { PluginContext } from './plugin/plugin.context.js';
import { WWPLUGIN_CLIENT, WWPLUGIN_HOST_OPTIONS, WWPLUGIN_PLUGIN_OPTIONS } from './wwplugin.constants.js';
import { HostOptionsModule, PluginOptionsModule } from './wwplugin.module-definition.js';
import { validateHostOptions, validatePluginOptions } from './wwplugin.options-validator.js';

const HOST_PROVIDERS: Provider[] = [
  WwPluginMetadataAccessor,
  MethodExplorer,
  HostEvents,
  HostTls,
  PluginRegistry,
  HostFunctionRegistry,
  HostFunctionsExplorer,
  CallObservers,
  CallTracer,
  PluginMetrics,
  CallRouter,
  PluginLogRelay,
  HostServer,
  SparePool,
  PluginLauncher,
  PluginSupervisor,
  HeartbeatScheduler,
  RemoteListener,
  PluginHostService,
  PluginClientProxy,
  { provide: WWPLUGIN_CLIENT, useExisting: PluginClientProxy },
];
// What a host app injects; each is exported by the package too (the rest is internal).
const HOST_EXPORTS = [PluginHostService, PluginClientProxy, WWPLUGIN_CLIENT, CallObservers, PluginMetrics];
// What the library's own optional modules (WwPluginAdminModule) inject; not in the package's exports.
const LIBRARY_EXPORTS = [PluginLogRelay];

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

  private static host(options: DynamicModule): DynamicModule {
    return {
      module: WwPluginModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [...validated(options.providers, WWPLUGIN_HOST_OPTIONS, RAW_HOST_OPTIONS, validateHostOptions), ...HOST_PROVIDERS],
      exports: [...HOST_EXPORTS, ...LIBRARY_EXPORTS],
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
