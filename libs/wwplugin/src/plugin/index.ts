// '@wwplugin/nestjs/plugin': what a plugin app imports, without the host's side. The same classes as
// the main entry point ('@wwplugin/nestjs'), which a plugin may use too; this one starts faster, as
// a plugin process then never loads the host's modules.
export { WwPluginModule } from '../wwplugin.module.js';
export { WWPLUGIN_PLUGIN_OPTIONS } from '../wwplugin.constants.js';
export * from '../decorators/index.js';
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
} from '../errors/wwplugin.errors.js';
export type * from '../interfaces/function-options.interface.js';
export type * from '../interfaces/plugin-options.interface.js';
export { ParameterType, typeOf, encodeValue, decodeValue, encodeArgs, decodeArgs } from '../protocol/parameters.js';
export type { Parameter, WireParameter, CallArgs } from '../protocol/parameters.js';
export { WwPluginCallContext } from '../protocol/call-context.js';
export type { CallInfo } from '../protocol/call-context.js';
export { PROTOCOL_VERSION, WireErrorCode } from '../protocol/protocol.constants.js';
export type { RemoteApi, RemoteCallOptions, StreamCallOptions } from '../protocol/remote-proxy.js';
export { PluginContext } from './plugin.context.js';
export { PluginSession } from './plugin-session.js';
export { PluginTransportServer, WWPLUGIN_TRANSPORT } from './plugin-transport.server.js';
export { bootstrapPlugin } from './bootstrap-plugin.js';
export type { BootstrapPluginOptions, EnhancerOf } from './bootstrap-plugin.js';
export type { RemoteHostOptions } from './remote-connector.js';
