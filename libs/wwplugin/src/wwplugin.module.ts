import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MethodExplorer } from './discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from './discovery/wwplugin-metadata.accessor.js';
import { CallRouter } from './host/call-router.js';
import { HostEvents } from './host/host-events.js';
import { HostFunctionRegistry } from './host/host-function.registry.js';
import { HostFunctionsExplorer } from './host/host-functions.explorer.js';
import { HostServer } from './host/host-server.js';
import { HostTls } from './host/host-tls.js';
import { PluginClientProxy } from './host/plugin-client.proxy.js';
import { PluginHostService } from './host/plugin-host.service.js';
import { PluginLauncher } from './host/plugin-launcher.js';
import { PluginRegistry } from './host/plugin.registry.js';
import { HeartbeatScheduler } from './host/supervision/heartbeat.scheduler.js';
import { PluginSupervisor } from './host/supervision/plugin-supervisor.js';
import type { WwPluginHostAsyncOptions, WwPluginHostOptions } from './interfaces/host-options.interface.js';
import type { WwPluginOptions } from './interfaces/plugin-options.interface.js';
import { PluginFunctionRegistry } from './plugin/plugin-function.registry.js';
import { PluginFunctionsExplorer } from './plugin/plugin-functions.explorer.js';
import { PluginSession } from './plugin/plugin-session.js';
import { PluginContext } from './plugin/plugin.context.js';
import { WWPLUGIN_CLIENT, WWPLUGIN_HOST_OPTIONS, WWPLUGIN_PLUGIN_OPTIONS } from './wwplugin.constants.js';

const HOST_PROVIDERS: Provider[] = [
  WwPluginMetadataAccessor,
  MethodExplorer,
  HostEvents,
  HostTls,
  PluginRegistry,
  HostFunctionRegistry,
  HostFunctionsExplorer,
  CallRouter,
  HostServer,
  PluginLauncher,
  PluginSupervisor,
  HeartbeatScheduler,
  PluginHostService,
  PluginClientProxy,
  { provide: WWPLUGIN_CLIENT, useExisting: PluginClientProxy },
];
const HOST_EXPORTS = [PluginHostService, PluginClientProxy, WWPLUGIN_CLIENT, HostEvents, PluginRegistry];

/**
 * WWPlugin for NestJS. In a host app: `forRoot` / `forRootAsync` give PluginHostService. In a plugin
 * app: `forPlugin` gives PluginContext and serves the app's @PluginFunction methods. @publicApi
 */
@Module({})
export class WwPluginModule {
  /** Makes this app a plugin host. */
  static forRoot(options: WwPluginHostOptions = {}): DynamicModule {
    return {
      module: WwPluginModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: WWPLUGIN_HOST_OPTIONS, useValue: options }, ...HOST_PROVIDERS],
      exports: HOST_EXPORTS,
    };
  }

  /** Makes this app a plugin host, with options from a factory (ConfigService and the like). */
  static forRootAsync(options: WwPluginHostAsyncOptions): DynamicModule {
    return {
      module: WwPluginModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [{ provide: WWPLUGIN_HOST_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, ...HOST_PROVIDERS],
      exports: HOST_EXPORTS,
    };
  }

  /** Makes this app a plugin; start it with bootstrapPlugin(AppModule). */
  static forPlugin(options: WwPluginOptions): DynamicModule {
    return {
      module: WwPluginModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [
        { provide: WWPLUGIN_PLUGIN_OPTIONS, useValue: options },
        WwPluginMetadataAccessor,
        MethodExplorer,
        PluginFunctionRegistry,
        PluginFunctionsExplorer,
        PluginSession,
        PluginContext,
      ],
      exports: [PluginContext, PluginSession, PluginFunctionRegistry],
    };
  }
}
