import type { LoggerService } from '@nestjs/common';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
  /** The stack Nest passed with an error record. */
  stack?: string;
}
/** The name the lifecycle tests use. */
export type LoggedLine = LogLine;

/** A Nest logger that keeps what it is given: the host's log, as a user's logger would see it. */
export class CapturingLogger implements LoggerService {
  readonly lines: LogLine[] = [];
  /** `printErrors`: errors are also printed, so a failing run shows them. */
  constructor(private readonly printErrors = false) {}
  private keep(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    // Nest passes the context as the last string argument, and an error's stack before it.
    const args = [...rest];
    const context = args.length && typeof args.at(-1) === 'string' ? (args.pop() as string) : undefined;
    const stack = args.length && typeof args[0] === 'string' ? (args[0] as string) : undefined;
    const text = message instanceof Error ? `${message.name}: ${message.message}` : String(message);
    this.lines.push({ level, message: text, context, stack });
    if (this.printErrors && (level === 'error' || level === 'fatal')) console.error(`[${context}] ${text}`);
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
