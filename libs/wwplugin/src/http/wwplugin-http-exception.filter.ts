import { Catch, HttpStatus, Injectable, Logger, Optional, type ArgumentsHost, type ExceptionFilter, type Provider } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { PluginFunctionError, WwPluginError } from '../errors/wwplugin.errors.js';
import { httpStatusOf } from './http-status.js';

/** The JSON body of an HTTP answer for a library error. @publicApi */
export interface WwPluginHttpErrorBody {
  statusCode: number;
  /** The error's class, e.g. "UnknownPluginError". */
  error: string;
  /** Its wire code, e.g. "UNKNOWN_PLUGIN". */
  code: string;
  message: string;
  /** For a PluginFunctionError: what the plugin's handler threw. */
  remoteName?: string;
  remoteCode?: string;
}

/**
 * Answers HTTP requests that failed with one of the library's errors with a fitting status (404 for
 * an unknown plugin or function, 503 + Retry-After for a busy one, 504 for a deadline, the status of
 * the plugin's HttpException, ...) and a JSON body naming the error. Errors it maps to a 5xx
 * status are logged; other errors are left to Nest. Install it with `WwPluginHttpExceptionFilter.provider()`
 * in the root module, or `app.useGlobalFilters(new WwPluginHttpExceptionFilter())`. @publicApi
 */
@Catch(WwPluginError)
@Injectable()
export class WwPluginHttpExceptionFilter implements ExceptionFilter<WwPluginError> {
  private readonly logger = new Logger('WwPluginHttpExceptionFilter');

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  /** `{ provide: APP_FILTER, useClass: WwPluginHttpExceptionFilter }`, for a module's providers. */
  static provider(): Provider {
    return { provide: APP_FILTER, useClass: WwPluginHttpExceptionFilter };
  }

  catch(err: WwPluginError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw err;
    const { status, retryAfter } = httpStatusOf(err);
    if (status >= HttpStatus.INTERNAL_SERVER_ERROR) this.logger.error(`${err.name}: ${err.message}`, err.stack);
    const body: WwPluginHttpErrorBody = { statusCode: status, error: err.name, code: err.code, message: err.message };
    if (err instanceof PluginFunctionError) {
      if (err.remoteName) body.remoteName = err.remoteName;
      if (err.remoteCode) body.remoteCode = err.remoteCode;
    }
    const response = host.switchToHttp().getResponse<unknown>();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      if (retryAfter !== undefined) adapter.setHeader(response, 'Retry-After', String(retryAfter));
      adapter.reply(response, body, status);
      return;
    }
    // Installed with `new` and no adapter host: answer through the response object (Express or Fastify).
    const res = response as {
      setHeader?(n: string, v: string): void;
      header?(n: string, v: string): void;
      status?(s: number): { json(b: unknown): void };
      code?(s: number): { send(b: unknown): void };
    };
    if (retryAfter !== undefined) (res.setHeader ?? res.header)?.call(res, 'Retry-After', String(retryAfter));
    if (res.status) res.status(status).json(body);
    else res.code?.(status).send(body);
  }
}
