/** Wire protocol version spoken by this library (proto package `wwplugin.v1`). */
export const PROTOCOL_VERSION = 1;

/** Environment variables through which the host tells a spawned plugin where and who it is. */
export const ENV_ADDRESS = 'WWPLUGIN_ADDRESS';
/** The secret in the environment: only from hosts before the secret had its own descriptor. */
export const ENV_TOKEN = 'WWPLUGIN_TOKEN';
/** The inherited file descriptor the secret is read from (read to end of file, then close it). */
export const ENV_TOKEN_FD = 'WWPLUGIN_TOKEN_FD';
export const TOKEN_FD = 3;
/** Set when the host wants sandbox denials reported (logAccessDenials). */
export const ENV_REPORT_DENIALS = 'WWPLUGIN_REPORT_DENIALS';
export const ENV_PLUGIN_ID = 'WWPLUGIN_PLUGIN_ID';
export const ENV_TLS = 'WWPLUGIN_TLS';

/** gRPC metadata keys the plugin sends when it opens its session. */
export const META_TOKEN = 'x-wwplugin-token';
export const META_PLUGIN_ID = 'x-wwplugin-plugin-id';

/** Default maximum size of one frame on the wire (bytes). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Error codes carried by Error and Refuse frames (docs/protocol.md lists them). */
export enum WireErrorCode {
  UNKNOWN_PLUGIN = 'UNKNOWN_PLUGIN',
  UNKNOWN_FUNCTION = 'UNKNOWN_FUNCTION',
  INVALID_ARGUMENT = 'INVALID_ARGUMENT',
  HANDLER_ERROR = 'HANDLER_ERROR',
  DEADLINE_EXCEEDED = 'DEADLINE_EXCEEDED',
  CANCELLED = 'CANCELLED',
  NOT_RUNNING = 'NOT_RUNNING',
  FORBIDDEN = 'FORBIDDEN',
  BUSY = 'BUSY',
  PROTOCOL = 'PROTOCOL',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  PROTOCOL_VERSION = 'PROTOCOL_VERSION',
  DUPLICATE_PLUGIN = 'DUPLICATE_PLUGIN',
  MESSAGE_TOO_LARGE = 'MESSAGE_TOO_LARGE',
  PLUGIN_CRASHED = 'PLUGIN_CRASHED',
  PLUGIN_DISCONNECTED = 'PLUGIN_DISCONNECTED',
  STREAM_OVERFLOW = 'STREAM_OVERFLOW',
}
