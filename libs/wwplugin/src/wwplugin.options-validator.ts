import type { LogLevel } from '@nestjs/common';
import { HostConfigurationError, PluginConfigurationError } from './errors/wwplugin.errors.js';
import type { WwPluginAdminOptions } from './interfaces/admin-options.interface.js';
import type { WwPluginHostOptions } from './interfaces/host-options.interface.js';
import type { WwPluginOptions } from './interfaces/plugin-options.interface.js';
import { INVALID_OPTION } from './wwplugin.messages.js';

type Check = (value: unknown) => boolean;
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const intFrom =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const isString: Check = (v) => typeof v === 'string';
const isObject: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const logLevel: Check = (v) => v === false || LOG_LEVELS.includes(v as LogLevel);

/** What each host option must be, and how the message says it. */
const HOST_RULES: Record<string, [Check, string]> = {
  port: [intFrom(0, 65_535), 'an integer from 0 to 65535'],
  host: [isString, 'a string'],
  socketPath: [isString, 'a string'],
  tls: [isObject, "an object with mode 'auto' or 'manual'"],
  debug: [oneOf(true, false), 'a boolean'],
  plugins: [Array.isArray, 'an array of entry paths or plugin specs'],
  defaultTimeoutMs: [intFrom(0), 'an integer of 0 or more (0: no deadline)'],
  maxMessageBytes: [intFrom(1), 'a positive integer'],
  maxInFlight: [intFrom(1), 'a positive integer'],
  whenBusy: [oneOf('reject', 'wait'), "'reject' or 'wait'"],
  whileRestarting: [oneOf('wait', 'fail'), "'wait' or 'fail'"],
  startTimeoutMs: [intFrom(1), 'a positive integer'],
  shutdownGraceMs: [intFrom(0), 'an integer of 0 or more'],
  restart: [isObject, 'an object'],
  heartbeat: [(v) => v === false || isObject(v), 'false or an object'],
  pushBufferSize: [intFrom(1), 'a positive integer'],
  pushOverflow: [oneOf('drop-oldest', 'drop-newest'), "'drop-oldest' or 'drop-newest'"],
  allowPluginCalls: [(v) => typeof v === 'boolean' || typeof v === 'function', 'a boolean or a function'],
  handlerErrorLogLevel: [logLevel, `false or one of ${LOG_LEVELS.join(', ')}`],
  sandbox: [(v) => typeof v === 'boolean' || isObject(v), 'true, false or an object of rights (fsRead, fsWrite, childProcess, worker, addons)'],
  limits: [isObject, 'an object (maxHeapMiB, maxRssMiB, rssSampleMs)'],
  logAccessDenials: [oneOf(true, false), 'a boolean'],
  spares: [intFrom(0), 'an integer of 0 or more'],
  bundleSpares: [oneOf(true, false), 'a boolean'],
  metrics: [(v) => typeof v === 'boolean' || isObject(v), 'a boolean or an object ({ prefix, registry, buckets })'],
  remote: [isObject, 'an object { listen, tls: { ca, cert, key }, plugins }'],
};

const PLUGIN_RULES: Record<string, [Check, string]> = {
  name: [(v) => typeof v === 'string' && v.trim().length > 0, 'a non-empty string'],
  version: [isString, 'a string'],
  description: [isString, 'a string'],
  handlerErrorLogLevel: [logLevel, `false or one of ${LOG_LEVELS.join(', ')}`],
};

function check(where: string, options: unknown, rules: Record<string, [Check, string]>, required: string[], fail: (m: string) => Error): void {
  if (!isObject(options)) throw fail(INVALID_OPTION(where, 'options', 'an object', options));
  const record = options as Record<string, unknown>;
  for (const name of required) {
    if (record[name] === undefined) throw fail(INVALID_OPTION(where, name, rules[name]![1], undefined));
  }
  for (const [name, [ok, expected]] of Object.entries(rules)) {
    const value = record[name];
    if (value !== undefined && !ok(value)) throw fail(INVALID_OPTION(where, name, expected, value));
  }
}

/** Throws HostConfigurationError naming the first unusable option of forRoot / forRootAsync. */
export function validateHostOptions(options: WwPluginHostOptions): WwPluginHostOptions {
  check('WwPluginModule.forRoot', options, HOST_RULES, [], (m) => new HostConfigurationError(m));
  return options;
}

/** Throws PluginConfigurationError naming the first unusable option of forPlugin / forPluginAsync. */
export function validatePluginOptions(options: WwPluginOptions): WwPluginOptions {
  check('WwPluginModule.forPlugin', options, PLUGIN_RULES, ['name', 'version'], (m) => new PluginConfigurationError(m));
  return options;
}

const ADMIN_RULES: Record<string, [Check, string]> = {
  guard: [
    (v) => typeof v === 'function' || (isObject(v) && typeof (v as { canActivate?: unknown }).canActivate === 'function'),
    'a guard class or an object with canActivate()',
  ],
  canActivate: [(v) => typeof v === 'function', 'a function'],
  updateIntervalMs: [intFrom(10), 'an integer of 10 or more'],
  logRecords: [intFrom(0), 'an integer of 0 or more'],
  latencySamples: [intFrom(1), 'a positive integer'],
};

/** WwPluginAdminModule's `path` is checked when forRoot is called: routes are set up from it at once. */
export function validateAdminPath(path: unknown): string {
  if (!isString(path)) throw new HostConfigurationError(INVALID_OPTION('WwPluginAdminModule.forRoot', 'path', 'a string', path));
  return path as string;
}

/** Throws HostConfigurationError naming the first unusable option of WwPluginAdminModule.forRoot / forRootAsync. */
export function validateAdminOptions(options: WwPluginAdminOptions): WwPluginAdminOptions {
  check('WwPluginAdminModule.forRoot', options, ADMIN_RULES, [], (m) => new HostConfigurationError(m));
  return options;
}
