// The public surface of @wwplugin/nestjs: what a plugin needs (one list, in the plugin entry point
// '@wwplugin/nestjs/plugin'), and the host's side.
export * from './plugin/index.js';
// Injection tokens (all Symbols); the metadata keys beside them are internal.
export { WWPLUGIN_CLIENT, WWPLUGIN_HOST_OPTIONS } from './wwplugin.constants.js';
export * from './interfaces/function-options.interface.js';
export * from './interfaces/host-options.interface.js';
export * from './interfaces/plugin-options.interface.js';
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
export * from './http/index.js';
// PluginHealthIndicator lives in '@wwplugin/nestjs/health' (./health/index.ts): it needs @nestjs/terminus, which this entry point must not require.
export { WwPluginAdminModule } from './admin/wwplugin-admin.module.js';
export type { WwPluginAdminOptions, WwPluginAdminExtras, AdminPluginRow, AdminSnapshot } from './interfaces/admin-options.interface.js';
export type { AdminLogRecord } from './admin/recent-logs.js';
