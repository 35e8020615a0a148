import type { LoggerService } from '@nestjs/common';

export interface LoggedLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

/** A Nest logger that keeps what it is given (errors are also printed, so a failing run shows them). */
export class CapturingLogger implements LoggerService {
  readonly lines: LoggedLine[] = [];
  constructor(private readonly printErrors = false) {}
  private keep(level: LoggedLine['level'], message: unknown, rest: unknown[]): void {
    // Nest passes the context as the last string argument.
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    this.lines.push({ level, message: String(message), context });
    if (this.printErrors && (level === 'error' || level === 'fatal')) console.error(`[${context}] ${String(message)}`);
  }
  log(message: unknown, ...rest: unknown[]) {
    this.keep('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.keep('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.keep('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.keep('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.keep('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.keep('fatal', message, rest);
  }
}
