import { HttpStatus } from '@nestjs/common';
import {
  CallCancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  MessageTooLargeError,
  PluginBusyError,
  PluginCallForbiddenError,
  PluginCrashedError,
  PluginDisconnectedError,
  PluginFunctionError,
  PluginNotRunningError,
  PluginStartError,
  UnknownFunctionError,
  UnknownPluginError,
  type WwPluginError,
} from '../errors/wwplugin.errors.js';

/** Seconds a client is told to wait before retrying a busy or restarting plugin. */
export const RETRY_AFTER_SECONDS = 1;

/** The HTTP answer for one of the library's errors. */
export interface HttpMapping {
  status: number;
  /** Sent as Retry-After (seconds) when set. */
  retryAfter?: number;
}

/** Maps a library error to the HTTP status a host serving it over HTTP answers with. @publicApi */
export function httpStatusOf(err: WwPluginError): HttpMapping {
  if (err instanceof UnknownPluginError || err instanceof UnknownFunctionError) return { status: HttpStatus.NOT_FOUND };
  if (err instanceof InvalidArgumentError) return { status: HttpStatus.BAD_REQUEST };
  if (err instanceof MessageTooLargeError) return { status: HttpStatus.PAYLOAD_TOO_LARGE };
  if (err instanceof PluginCallForbiddenError) return { status: HttpStatus.FORBIDDEN };
  if (err instanceof PluginBusyError) return { status: HttpStatus.SERVICE_UNAVAILABLE, retryAfter: RETRY_AFTER_SECONDS };
  if (err instanceof PluginNotRunningError || err instanceof PluginCrashedError || err instanceof PluginStartError || err instanceof PluginDisconnectedError) {
    return { status: HttpStatus.SERVICE_UNAVAILABLE, retryAfter: RETRY_AFTER_SECONDS };
  }
  if (err instanceof DeadlineExceededError) return { status: HttpStatus.GATEWAY_TIMEOUT };
  if (err instanceof CallCancelledError) return { status: HttpStatus.SERVICE_UNAVAILABLE };
  if (err instanceof PluginFunctionError) return { status: validStatus(err.status) ?? HttpStatus.INTERNAL_SERVER_ERROR };
  return { status: HttpStatus.INTERNAL_SERVER_ERROR };
}

function validStatus(status: number | undefined): number | undefined {
  return status !== undefined && Number.isInteger(status) && status >= 400 && status <= 599 ? status : undefined;
}
