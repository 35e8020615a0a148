// The public surface of @wwplugin/nestjs.
export * from './wwplugin.module.js';
// Injection tokens (all Symbols); the metadata keys beside them are internal.
export { WWPLUGIN_CLIENT, WWPLUGIN_HOST_OPTIONS, WWPLUGIN_PLUGIN_OPTIONS } from './wwplugin.constants.js';
export * from './decorators/index.js';
// Error classes (the wire helpers beside them are internal).
export {
  WwPluginError,
  UnknownPluginError,
  UnknownFunctionError,
  InvalidArgumentError,
  PluginFunctionError,
  DeadlineExceededError,
  CallCancelledError,
  PluginNotRunningError,
  PluginCrashedError,
  PluginDisconnectedError,
  RemotePluginOperationError,
  PluginCallForbiddenError,
  PluginBusyError,
  ProtocolError,
  MessageTooLargeError,
  HandshakeRefusedError,
  PluginEntryNotFoundError,
  PluginStartError,
  PluginSandboxError,
  DuplicatePluginError,
  DuplicateFunctionError,
  PluginConfigurationError,
  HostConfigurationError,
  StreamOverflowError,
  EmitBufferFullError,
  RequiredPluginsError,
  UpgradeFailedError,
  IllegalTransitionError,
  AdminPageExposedError,
} from './errors/wwplugin.errors.js';
export * from './interfaces/function-options.interface.js';
export * from './interfaces/host-options.interface.js';
export * from './interfaces/plugin-options.interface.js';
export { ParameterType, typeOf, encodeValue, decodeValue, encodeArgs, decodeArgs } from './protocol/parameters.js';
export type { Parameter, WireParameter, CallArgs } from './protocol/parameters.js';
export { WwPluginCallContext } from './protocol/call-context.js';
export type { CallInfo } from './protocol/call-context.js';
export { PROTOCOL_VERSION, WireErrorCode } from './protocol/protocol.constants.js';
export type { RemoteApi, RemoteCallOptions, StreamCallOptions } from './protocol/remote-proxy.js';
export { PluginHostService } from './host/plugin-host.service.js';
export { PluginClientProxy } from './host/plugin-client.proxy.js';
export type { SpareInfo } from './host/spare-pool.js';
export { createMtlsMaterial } from './host/host-tls.js';
export { createCertificateAuthority, loadCertificateAuthority } from './host/certificate-authority.js';
export type { CertificateAuthority, CertificateUsage, PemPair } from './host/certificate-authority.js';
export type { MtlsMaterial } from './host/host-tls.js';
export type { PluginPattern } from './host/plugin-client.proxy.js';
export { CallObservers } from './host/call-observers.js';
export { PluginMetrics } from './host/metrics/plugin-metrics.js';
export { WwPluginMetricsController } from './host/metrics/metrics.controller.js';
export type { CallObserver, CallFinish, CallOutcome, ObservedCall, ObservedCallKind, TraceFields } from './host/call-observers.js';
export { PluginContext } from './plugin/plugin.context.js';
export { PluginSession } from './plugin/plugin-session.js';
export { PluginTransportServer, WWPLUGIN_TRANSPORT } from './plugin/plugin-transport.server.js';
export { bootstrapPlugin } from './plugin/bootstrap-plugin.js';
export type { BootstrapPluginOptions, EnhancerOf } from './plugin/bootstrap-plugin.js';
export type { RemoteHostOptions } from './plugin/remote-connector.js';
export * from './http/index.js';
// PluginHealthIndicator lives in '@wwplugin/nestjs/health' (./health/index.ts): it needs @nestjs/terminus, which this entry point must not require.
export { WwPluginAdminModule } from './admin/wwplugin-admin.module.js';
export type { WwPluginAdminOptions, WwPluginAdminExtras, AdminPluginRow, AdminSnapshot } from './interfaces/admin-options.interface.js';
export type { AdminLogRecord } from './admin/recent-logs.js';
