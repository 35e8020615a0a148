import { ConsoleLogger, type ConsoleLoggerOptions, type LogLevel } from '@nestjs/common';
import { inspect } from 'node:util';
import type { LogFrame } from '../protocol/frames.js';

/** Records held while the session is not yet welcomed; older ones are dropped past this. */
const EARLY_RECORDS = 500;
/** A message or stack longer than this is cut: a log record must never come near the message size limit. */
const MAX_MESSAGE_CHARS = 64 * 1024;

/** Where records go once the session is up: false when the host cannot take them. */
export type LogSink = (record: LogFrame) => boolean;

interface Early {
  messages: unknown[];
  context: string;
  level: LogLevel;
  stream?: 'stdout' | 'stderr';
  stack?: string;
}

/**
 * The plugin's Nest logger: each Logger call becomes one log record sent over the session, so the
 * host logs it under "<plugin>:<context>" with its own logger, stack and all. Until the host has
 * welcomed the plugin, records wait (a bounded number); if the process ends before that, or the
 * host does not take log records, they are written to stdout/stderr as Nest's ConsoleLogger would.
 */
export class PluginLogger extends ConsoleLogger {
  private sink?: LogSink;
  private live = false;
  private early: Early[] = [];
  private dropped = 0;
  /** Set while a record with its stack went to the host: the stack is not printed again. */
  private stackSent = false;

  constructor(options: ConsoleLoggerOptions = {}) {
    super(options);
    process.once('exit', () => this.flushEarly(false));
  }

  /** Starts sending records through `sink` (and those held so far). */
  attach(sink: LogSink): void {
    this.sink = sink;
    this.live = true;
    this.flushEarly(true);
  }

  protected override printMessages(
    messages: unknown[],
    context = '',
    logLevel: LogLevel = 'log',
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    const stack = typeof errorStack === 'string' ? errorStack : undefined;
    this.stackSent = false;
    if (!this.live) {
      if (this.early.length >= EARLY_RECORDS) {
        this.early.shift();
        this.dropped++;
      }
      this.early.push({ messages, context, level: logLevel, stream: writeStreamType, stack });
      this.stackSent = true;
      return;
    }
    if (this.send(messages, context, logLevel, stack)) {
      this.stackSent = true;
      return;
    }
    super.printMessages(messages, context, logLevel, writeStreamType, errorStack, params);
  }

  protected override printStackTrace(stack: string): void {
    if (this.stackSent) return;
    super.printStackTrace(stack);
  }

  private send(messages: unknown[], context: string, level: LogLevel, stack?: string): boolean {
    if (!this.sink) return false;
    return messages.every((m, i) => this.sink!({ level, context, message: cut(textOf(m)), stack: i === 0 && stack ? cut(stack) : undefined }));
  }

  private flushEarly(toHost: boolean): void {
    const held = this.early.splice(0);
    if (this.dropped) {
      const note = `${this.dropped} earlier log records were dropped before the session started.`;
      held.unshift({ messages: [note], context: 'WwPlugin', level: 'warn' });
      this.dropped = 0;
    }
    for (const r of held) {
      if (toHost && this.send(r.messages, r.context, r.level, r.stack)) continue;
      super.printMessages(r.messages, r.context, r.level, r.stream, r.stack);
      if (r.stack) super.printStackTrace(r.stack);
    }
  }
}

function textOf(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return `${message.name}: ${message.message}`;
  return inspect(message, { depth: 4, breakLength: Infinity });
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}
