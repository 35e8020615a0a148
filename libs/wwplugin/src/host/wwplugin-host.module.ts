import { Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MethodExplorer } from '../discovery/method-explorer.js';
import { WwPluginMetadataAccessor } from '../discovery/wwplugin-metadata.accessor.js';
import { WWPLUGIN_CLIENT } from '../wwplugin.constants.js';
import { CallObservers } from './call-observers.js';
import { CallRouter } from './call-router.js';
import { CallTracer } from './call-tracer.js';
import { PluginMetrics } from './metrics/plugin-metrics.js';
import { HostEvents } from './host-events.js';
import { HostFunctionRegistry } from './host-function.registry.js';
import { HostFunctionsExplorer } from './host-functions.explorer.js';
import { HostServer } from './host-server.js';
import { HostTls } from './host-tls.js';
import { PluginClientProxy } from './plugin-client.proxy.js';
import { PluginHostService } from './plugin-host.service.js';
import { PluginLauncher } from './plugin-launcher.js';
import { SparePool } from './spare-pool.js';
import { PluginLogRelay } from './plugin-log.relay.js';
import { PluginRegistry } from './plugin.registry.js';
import { RemoteListener } from './remote-listener.js';
import { HeartbeatScheduler } from './supervision/heartbeat.scheduler.js';
import { PluginSupervisor } from './supervision/plugin-supervisor.js';

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

/**
 * The host side of WwPluginModule.forRoot/forRootAsync: global, as WwPluginModule was, so a host
 * app injects PluginHostService anywhere. Made only in a host (see WwPluginModule.host).
 */
@Module({})
export class WwPluginHostModule {
  static of(imports: NonNullable<ModuleMetadata['imports']>, optionProviders: Provider[]): DynamicModule {
    return {
      module: WwPluginHostModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      providers: [...optionProviders, ...HOST_PROVIDERS],
      exports: [...HOST_EXPORTS, ...LIBRARY_EXPORTS],
    };
  }
}
