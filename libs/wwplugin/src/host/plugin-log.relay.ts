import { Injectable, Logger, type LogLevel } from '@nestjs/common';
import type { LogFrame } from '../protocol/frames.js';

const LEVELS = new Set<LogLevel>(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']);
/** A record longer than this is cut: one plugin's log must not flood the host's. */
const MAX_MESSAGE_CHARS = 64 * 1024;

/** Logs a plugin's log records with the host's Logger, at their level, under "<plugin>:<context>". */
@Injectable()
export class PluginLogRelay {
  private readonly loggers = new Map<string, Logger>();
  private readonly observers = new Set<(plugin: string, record: LogFrame) => void>();

  /** Also hands every record to `observer` (the admin page keeps recent ones); returns its removal. */
  observe(observer: (plugin: string, record: LogFrame) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  relay(plugin: string, record: LogFrame): void {
    for (const observer of this.observers) observer(plugin, record);
    const context = record.context ? `${plugin}:${record.context}` : plugin;
    const logger = this.loggerFor(context);
    const level = LEVELS.has(record.level as LogLevel) ? (record.level as LogLevel) : 'log';
    const message = record.message.length > MAX_MESSAGE_CHARS ? `${record.message.slice(0, MAX_MESSAGE_CHARS)}…` : record.message;
    if ((level === 'error' || level === 'fatal') && record.stack) logger[level](message, record.stack);
    else logger[level](message);
  }

  private loggerFor(context: string): Logger {
    let logger = this.loggers.get(context);
    if (!logger) {
      // Bounded: contexts come from plugin code, which may make them up per call.
      if (this.loggers.size >= 1_000) this.loggers.clear();
      this.loggers.set(context, (logger = new Logger(context)));
    }
    return logger;
  }
}
