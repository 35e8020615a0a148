import { HttpException } from '@nestjs/common';
import { WireErrorCode } from '../protocol/protocol.constants.js';

/**
 * Base class of every error this library throws; `code` is the wire code it travels as.
 * A plain Error to Nest: one that escapes to Nest's exception handler is logged there, as any
 * unexpected error is (WwPluginHttpExceptionFilter maps the expected ones to HTTP answers).
 */
export class WwPluginError extends Error {
  readonly code: string = WireErrorCode.HANDLER_ERROR;
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No plugin with that id or name is loaded. */
export class UnknownPluginError extends WwPluginError {
  override readonly code = WireErrorCode.UNKNOWN_PLUGIN;
}

/** The plugin (or host) offers no function with that name; `details.available` lists those it has. */
export class UnknownFunctionError extends WwPluginError {
  override readonly code = WireErrorCode.UNKNOWN_FUNCTION;
}

/** Arguments were missing, of the wrong type, or could not be encoded. */
export class InvalidArgumentError extends WwPluginError {
  override readonly code = WireErrorCode.INVALID_ARGUMENT;
}

/**
 * The remote handler threw: its message, and `remoteCode`/`remoteName` when it gave them; `status`
 * when it threw a Nest HttpException.
 */
export class PluginFunctionError extends WwPluginError {
  override readonly code = WireErrorCode.HANDLER_ERROR;
  get remoteCode(): string | undefined {
    return this.details?.remoteCode as string | undefined;
  }
  get remoteName(): string | undefined {
    return this.details?.remoteName as string | undefined;
  }
  /** The HTTP status of the HttpException the handler threw. */
  get status(): number | undefined {
    return typeof this.details?.status === 'number' ? this.details.status : undefined;
  }
}

/** The call did not finish before its deadline; the callee was told to cancel it. */
export class DeadlineExceededError extends WwPluginError {
  override readonly code = WireErrorCode.DEADLINE_EXCEEDED;
}

/** The caller cancelled the call (unsubscribed, aborted, or the session is shutting down). */
export class CallCancelledError extends WwPluginError {
  override readonly code = WireErrorCode.CANCELLED;
}

/** The plugin exists but is not running (stopped, restarting, failed). */
export class PluginNotRunningError extends WwPluginError {
  override readonly code = WireErrorCode.NOT_RUNNING;
}

/** The plugin process died while the call was in flight; `details` has exit code and signal. */
export class PluginCrashedError extends WwPluginError {
  override readonly code = WireErrorCode.PLUGIN_CRASHED;
}

/** A remote plugin's connection was lost (or cut by the host) while the call was in flight; `details.peer` says where it ran. */
export class PluginDisconnectedError extends WwPluginError {
  override readonly code = WireErrorCode.PLUGIN_DISCONNECTED;
}

/** A remote plugin was asked to start, stop or restart: its orchestrator does that, not the host. */
export class RemotePluginOperationError extends WwPluginError {}

/** A plugin-to-plugin call refused by the host's `allowPluginCalls`. */
export class PluginCallForbiddenError extends WwPluginError {
  override readonly code = WireErrorCode.FORBIDDEN;
}

/** The plugin has as many calls in flight as its limit allows. */
export class PluginBusyError extends WwPluginError {
  override readonly code = WireErrorCode.BUSY;
}

/** A frame was malformed, out of order or of an unknown kind. */
export class ProtocolError extends WwPluginError {
  override readonly code = WireErrorCode.PROTOCOL;
}

/** A message was over the configured maximum size. */
export class MessageTooLargeError extends WwPluginError {
  override readonly code = WireErrorCode.MESSAGE_TOO_LARGE;
}

/** The host refused the plugin's session (bad secret, protocol version, duplicate name). */
export class HandshakeRefusedError extends WwPluginError {
  override readonly code: string = WireErrorCode.UNAUTHENTICATED;
  constructor(message: string, code?: string, details?: Record<string, unknown>) {
    super(message, details);
    if (code) (this as { code: string }).code = code;
  }
}

/** The plugin's entry file does not exist or cannot be run. */
export class PluginEntryNotFoundError extends WwPluginError {
  override readonly code = WireErrorCode.NOT_RUNNING;
}

/** The plugin process failed to start: exited or timed out before it became callable. */
export class PluginStartError extends WwPluginError {
  override readonly code = WireErrorCode.NOT_RUNNING;
  get stderrTail(): string {
    return (this.details?.stderrTail as string) ?? '';
  }
}

/**
 * A plugin's sandbox, limits or user cannot be applied: a `command` that is not Node, a Node
 * without the permission model, a bad limit, a user that does not exist or the host may not switch to.
 */
export class PluginSandboxError extends WwPluginError {
  override readonly code = WireErrorCode.NOT_RUNNING;
}

/** Two plugins registered the same name. */
export class DuplicatePluginError extends WwPluginError {
  override readonly code = WireErrorCode.DUPLICATE_PLUGIN;
}

/** Two methods declare the same plugin or host function name; thrown at bootstrap. */
export class DuplicateFunctionError extends WwPluginError {}

/** Plugin code run outside a host, or misconfigured. */
export class PluginConfigurationError extends WwPluginError {}

/** The host's own options are unusable (TLS without its certificates, an unknown TLS mode). */
export class HostConfigurationError extends WwPluginError {}

/**
 * A streaming function's Observable produced items faster than the session could send them, past
 * the stream buffer's bound: the stream ends with this error. An async iterable is paused instead.
 */
export class StreamOverflowError extends WwPluginError {
  override readonly code = WireErrorCode.STREAM_OVERFLOW;
}
/** `emit` found the plugin's emit buffer full under `emitOverflow: 'error'`; the message was not sent. */
export class EmitBufferFullError extends WwPluginError {}

const BY_CODE: Record<string, new (message: string, details?: Record<string, unknown>) => WwPluginError> = {
  [WireErrorCode.UNKNOWN_PLUGIN]: UnknownPluginError,
  [WireErrorCode.UNKNOWN_FUNCTION]: UnknownFunctionError,
  [WireErrorCode.INVALID_ARGUMENT]: InvalidArgumentError,
  [WireErrorCode.HANDLER_ERROR]: PluginFunctionError,
  [WireErrorCode.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [WireErrorCode.CANCELLED]: CallCancelledError,
  [WireErrorCode.NOT_RUNNING]: PluginNotRunningError,
  [WireErrorCode.PLUGIN_CRASHED]: PluginCrashedError,
  [WireErrorCode.PLUGIN_DISCONNECTED]: PluginDisconnectedError,
  [WireErrorCode.FORBIDDEN]: PluginCallForbiddenError,
  [WireErrorCode.BUSY]: PluginBusyError,
  [WireErrorCode.PROTOCOL]: ProtocolError,
  [WireErrorCode.MESSAGE_TOO_LARGE]: MessageTooLargeError,
  [WireErrorCode.DUPLICATE_PLUGIN]: DuplicatePluginError,
  [WireErrorCode.STREAM_OVERFLOW]: StreamOverflowError,
};

type ErrorClass = new (message: string, details?: Record<string, unknown>) => WwPluginError;

// Errors the library raises on the other side keep their class, even those sharing a wire code.
const BY_NAME: Record<string, ErrorClass> = Object.fromEntries(
  [...Object.values(BY_CODE), PluginEntryNotFoundError, PluginStartError, DuplicateFunctionError, PluginConfigurationError, HostConfigurationError].map((c) => [
    c.name,
    c,
  ]),
);

BY_NAME[PluginSandboxError.name] = PluginSandboxError;

/** Rebuilds the typed error a peer sent in an Error frame. */
export function errorFromWire(code: string, message: string, name: string, detailsJson: string): WwPluginError {
  let details: Record<string, unknown> | undefined;
  if (detailsJson) {
    try {
      details = JSON.parse(detailsJson);
    } catch {
      details = { raw: detailsJson };
    }
  }
  if (code === WireErrorCode.UNAUTHENTICATED || code === WireErrorCode.PROTOCOL_VERSION) {
    return new HandshakeRefusedError(message, code, details);
  }
  const named = BY_NAME[name];
  if (named && new named('').code === code) return new named(message, details);
  const Ctor = BY_CODE[code];
  if (Ctor) return new Ctor(message, details);
  // An unknown code is a handler's own code: keep it visible.
  return new PluginFunctionError(message, { ...details, remoteCode: code, remoteName: name });
}

/** Turns anything a handler threw into the fields of an Error frame. */
export function errorToWire(err: unknown): { code: string; message: string; name: string; detailsJson: string } {
  if (err instanceof WwPluginError) {
    return { code: err.code, message: err.message, name: err.name, detailsJson: err.details ? safeJson(err.details) : '' };
  }
  if (err instanceof HttpException) {
    // Nest's HttpException (a guard's ForbiddenException, a pipe's BadRequestException): its status
    // and response body travel, so an HTTP host can answer with the same status.
    const response = err.getResponse();
    const status = err.getStatus();
    const ownCode = typeof response === 'object' && response !== null ? (response as { code?: unknown }).code : undefined;
    const details = { remoteName: err.name, remoteCode: ownCode !== undefined ? String(ownCode) : String(status), status, response };
    return { code: WireErrorCode.HANDLER_ERROR, message: err.message, name: err.name, detailsJson: safeJson(details) };
  }
  if (err instanceof Error) {
    // Nest's RpcException carries its payload in getError(); an error's own `code` travels too.
    const rpc = typeof (err as { getError?: unknown }).getError === 'function' ? (err as unknown as { getError(): unknown }).getError() : undefined;
    const rpcMessage = typeof rpc === 'string' ? rpc : (rpc as { message?: string } | undefined)?.message;
    const ownCode = (err as { code?: unknown }).code ?? (rpc as { code?: unknown } | undefined)?.code;
    // Some classes (Nest's RpcException) leave `name` as 'Error': their class name says more.
    const name = err.name === 'Error' && err.constructor?.name ? err.constructor.name : err.name;
    const details: Record<string, unknown> = { remoteName: name };
    if (ownCode !== undefined) details.remoteCode = String(ownCode);
    if (rpc !== undefined && typeof rpc === 'object') details.error = rpc;
    return { code: WireErrorCode.HANDLER_ERROR, message: rpcMessage ?? err.message, name, detailsJson: safeJson(details) };
  }
  // Handlers may throw strings, numbers or plain objects: describe them, never crash on them.
  const message = typeof err === 'string' ? err : describeThrown(err);
  const details: Record<string, unknown> = { thrown: describeThrown(err) };
  const thrownCode = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (thrownCode !== undefined) details.remoteCode = String(thrownCode);
  return { code: WireErrorCode.HANDLER_ERROR, message, name: 'NonError', detailsJson: safeJson(details) };
}

function describeThrown(value: unknown): string {
  if (value === undefined) return 'undefined was thrown';
  if (value === null) return 'null was thrown';
  if (typeof value === 'object') {
    const msg = (value as { message?: unknown }).message;
    if (typeof msg === 'string') return msg;
    return `a non-Error value was thrown: ${safeJson(value)}`;
  }
  return `a non-Error value was thrown: ${String(value)}`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? '';
  } catch {
    return '"[unserializable]"';
  }
}

/**
 * A bug in the host, not a user error: something asked a plugin's lifecycle for a move its
 * transition table does not allow. The move is refused and logged; `details` has both states.
 */
export class IllegalTransitionError extends WwPluginError {}

/** Plugins marked `required` in `forRoot({ plugins })` could not start; `details.failures` lists each with its reason. */
export class RequiredPluginsError extends WwPluginError {}

/** WwPluginAdminModule has no guard and the HTTP server listens beyond loopback: the app refuses to start. */
export class AdminPageExposedError extends WwPluginError {}
/**
 * `upgrade()` could not start the new version: the old one kept serving throughout. `cause` is the
 * error the new version failed with (a PluginStartError, PluginEntryNotFoundError, ...).
 */
export class UpgradeFailedError extends WwPluginError {
  override readonly code = WireErrorCode.NOT_RUNNING;
}
