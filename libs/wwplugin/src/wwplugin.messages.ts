// Every user-facing error text in one place, as small functions (the @nestjs/schedule way).
export const UNKNOWN_PLUGIN = (idOrName: string, known: string[]) =>
  `No plugin "${idOrName}" is loaded${known.length ? ` (loaded: ${known.join(', ')})` : ' (none are loaded)'}.`;
export const UNKNOWN_FUNCTION = (plugin: string, fn: string, available: string[]) =>
  `Plugin "${plugin}" has no function "${fn}"; it offers: ${available.length ? available.join(', ') : '(none)'}.`;
export const UNKNOWN_HOST_FUNCTION = (fn: string, available: string[]) =>
  `The host has no function "${fn}"; it offers: ${available.length ? available.join(', ') : '(none)'}.`;
export const DEADLINE_EXCEEDED = (target: string, fn: string, ms: number) => `Call to ${target}.${fn} exceeded its deadline of ${ms} ms.`;
export const NOT_RUNNING = (plugin: string, state: string) => `Plugin "${plugin}" is not running (state: ${state}).`;
export const ENTRY_NOT_FOUND = (path: string) => `Plugin entry "${path}" does not exist.`;
export const ENTRY_NOT_EXECUTABLE = (path: string) => `Plugin entry "${path}" is not a file that can be run.`;
export const EXITED_BEFORE_READY = (plugin: string, how: string, stderrTail: string) =>
  `Plugin "${plugin}" exited before it became callable (${how}).` +
  (stderrTail ? `\nLast lines of its stderr:\n${stderrTail}` : ' It wrote nothing to stderr.');
export const HANDSHAKE_TIMEOUT = (plugin: string, ms: number, stderrTail: string) =>
  `Plugin "${plugin}" did not complete its handshake within ${ms} ms and was killed.` + (stderrTail ? `\nLast lines of its stderr:\n${stderrTail}` : '');
export const CRASHED = (plugin: string, how: string) => `Plugin "${plugin}" died during the call (${how}).`;
export const DUPLICATE_FUNCTION = (name: string, first: string, second: string) =>
  `Plugin function "${name}" is declared twice: by ${first} and by ${second}. Give one of them another name.`;
export const DUPLICATE_HOST_FUNCTION = (name: string, first: string, second: string) =>
  `Host function "${name}" is declared twice: by ${first} and by ${second}.`;
export const FORBIDDEN_CALL = (caller: string, target: string, fn: string) => `Plugin "${caller}" may not call ${target}.${fn} (refused by allowPluginCalls).`;
export const BAD_ARGUMENTS = (what: string) => `Call arguments must be a plain object of named values or an array of Parameters, got ${what}.`;
export const UNSUPPORTED_VALUE = (name: string, what: string) => `Parameter "${name}" has a value of a type that cannot be sent: ${what}.`;
export const PROTOCOL_MISMATCH = (theirs: number, ours: number) => `Protocol version ${theirs} is not spoken here (this side speaks ${ours}).`;
export const NO_HOST_ADDRESS = (envName: string) =>
  `This process was not started by a WWPlugin host: ${envName} is not set. Load it with PluginHostService.load().`;
export const SESSION_CLOSED = (who: string) => `The session with ${who} closed.`;
export const MESSAGE_TOO_LARGE = (bytes: number, max: number) => `The message is ${bytes} bytes, over the limit of ${max} bytes.`;
export const BUSY = (plugin: string, max: number) => `Plugin "${plugin}" already has ${max} calls in flight (maxInFlight).`;
export const TLS_MATERIAL_MISSING = (missing: string[]) =>
  `tls mode 'manual' needs PEM ${missing.join(', ')} (the CA that signs plugin certificates, the host's certificate and key); or use mode 'auto'.`;
export const TLS_BAD_MODE = (mode: unknown) => `tls.mode must be 'auto' or 'manual', got ${JSON.stringify(mode)}.`;
export const INSECURE_REMOTE_LISTENER = (address: string) =>
  `Listening for plugins on ${address} without TLS: any machine that can reach it may try to dial in. Use tls: { mode: 'auto' } or a loopback address.`;
export const UNAUTHENTICATED_SESSION = 'invalid or missing plugin credentials';
export const SHA256_MISMATCH = (path: string, actual: string, expected: string) =>
  `Plugin entry "${path}" has SHA-256 ${actual}, expected ${expected}; refusing to start it.`;
export const MALFORMED_FRAME = (why: string) => `A frame from this plugin could not be decoded and was dropped: ${why}`;
export const UNEXPECTED_FRAME = (kind: string | undefined) =>
  kind ? `A "${kind}" frame is not valid from a plugin; it was ignored.` : 'A frame of an unknown kind was ignored.';
export const BAD_FRAME = (kind: string, why: string) => `A "${kind}" frame from this plugin was rejected: ${why}`;
export const HELLO_ID_MISMATCH = (said: string, authenticated: string) =>
  `Hello names plugin id "${said}" but the session authenticated as "${authenticated}".`;
export const PUSH_STREAM_ENDED = (target: string, topic: string, why: string) => `pushStream to "${target}" on topic "${topic}" stopped: ${why}`;
export const HEALTH_NOT_RUNNING = (names: string[], states: Record<string, { state: string }>) =>
  `Not running: ${names.map((n) => `${n} (${states[n]?.state ?? 'not-loaded'})`).join(', ')}.`;
export const HEALTH_INSTANCES_DOWN = (name: string, running: number, total: number) => `${name}: ${running} of ${total} instances running.`;
export const UNDECODABLE_ARGUMENT = (name: string, why: string) => `Argument "${name}" could not be decoded: ${why}.`;
export const COMMAND_NOT_FOUND = (command: string) => `Plugin command "${command}" was not found on the PATH.`;
export const STREAM_OVERFLOW = (peer: string, fn: string, items: number, bytes: number) =>
  `Stream ${fn} to ${peer} produced more than ${items} items or ${bytes} bytes faster than the session could send them; ` +
  'an Observable cannot be paused: return an async iterable (async generator) to be paused by back-pressure, or raise streamBuffer.';
export const STREAM_IGNORED_CREDIT = (peer: string, fn: string, window: number) =>
  `Stream ${fn} from ${peer} sent more than ${2 * window} values nobody had asked for (it ignores credit, docs/protocol.md section 9).`;
export const ILLEGAL_TRANSITION = (plugin: string, from: string, to: string, allowed: string[]) =>
  `Illegal lifecycle transition of plugin "${plugin}": ${from} -> ${to} (from ${from} it may go to: ${allowed.join(', ') || 'nowhere'}). This is a bug in the host.`;
export const NAME_TAKEN = (name: string, id: string, state: string) =>
  `A plugin named "${name}" is already loaded (id ${id}, state: ${state}). Use start("${name}") or restart("${name}") to run it again, or unload("${name}") first.`;
export const REQUIRED_PLUGINS_FAILED = (failures: Array<{ plugin: string; reason: string }>) =>
  `${failures.length} required plugin(s) could not start:\n${failures.map((f) => `- ${f.plugin}: ${f.reason}`).join('\n')}`;
export const PLUGIN_UNLOADED = (plugin: string) => `Plugin "${plugin}" was unloaded before this operation ran.`;
export const BAD_INSTANCES = (plugin: string, value: unknown) =>
  `Plugin "${plugin}": instances must be a positive integer or 'auto', got ${typeof value === 'string' ? `"${value}"` : String(value)}.`;
export const UPGRADE_NAME_MISMATCH = (plugin: string, given: string) =>
  `upgrade("${plugin}") was given a spec named "${given}": an upgrade keeps the plugin's name (leave name out, or use "${plugin}").`;
export const UPGRADE_FAILED = (plugin: string, reason: string) => `The upgrade of plugin "${plugin}" failed; the running version keeps serving. ${reason}`;
export const BAD_START_CONCURRENCY = (value: unknown) => `startConcurrency must be a positive integer, got ${String(value)}.`;
export const IDLE_DEADLINE_EXCEEDED = (target: string, fn: string, ms: number) => `Stream ${target}.${fn} sent no item for ${ms} ms (its idle deadline).`;
export const QUEUE_FULL = (plugin: string, max: number, queued: number) =>
  `Plugin "${plugin}" already has ${max} calls in flight (maxInFlight) and ${queued} waiting (maxQueued).`;
export const ABORTED_WHILE_WAITING = (plugin: string, fn: string, what: string) => `Call to ${plugin}.${fn} was aborted while it waited for ${what}.`;
export const EMIT_BUFFER_FULL = (messages: number, bytes: number) =>
  `The emit buffer is full (${messages} messages or ${bytes} bytes, emitBufferSize/emitBufferBytes): the host reads emits slower than this plugin makes them; the message was not sent.`;
export const HANDLER_THREW = (error: string) => `A handler threw; its caller receives ${error}`;
export const INVALID_OPTION = (where: string, option: string, expected: string, got: unknown) =>
  `${where}: option "${option}" must be ${expected}, got ${got === undefined ? 'nothing' : typeof got === 'function' ? 'a function' : JSON.stringify(got)}.`;
export const PUSH_REFUSED = (handler: string, why: string) => `${handler} refused a push (${why}); it was dropped.`;
export const SANDBOX_NEEDS_NODE = (command: string) =>
  `Plugin command "${command}" is not Node: sandbox and maxHeapMiB apply to Node plugins (a path, or a command that is a node binary). Start other programs under a sandbox of your own.`;
export const NO_PERMISSION_MODEL = (version: string) => `Node ${version} has no permission model: a sandboxed plugin needs Node 20.19 or newer.`;
export const BAD_LIMIT = (plugin: string, name: string, value: unknown) =>
  `Plugin "${plugin}": limits.${name} must be a positive integer (MiB or ms), got ${JSON.stringify(value)}.`;
export const UNKNOWN_USER = (kind: 'user' | 'group', name: string) =>
  `No ${kind} "${name}" on this machine (looked up in /etc/${kind === 'user' ? 'passwd' : 'group'} and with id).`;
export const CANNOT_SWITCH_USER = (plugin: string, uid: number, gid: number) =>
  `Plugin "${plugin}" asks to run as uid ${uid} gid ${gid}, but this host (uid ${process.getuid?.()}) may not switch users: run the host as root, or drop user/group.`;
export const SOCKET_GROUP_TAKEN = (gid: number, taken: number) =>
  `Plugins under other users reach the host's socket through one group: it already admits gid ${taken}, and this plugin runs with gid ${gid}. Give such plugins one shared group.`;
export const OUT_OF_MEMORY = (plugin: string, limit: 'heap' | 'rss', limitMiB: number | undefined, rssMiB?: number) =>
  limit === 'heap'
    ? `Plugin "${plugin}" ran out of memory: its JavaScript heap reached ${limitMiB ? `its limit of ${limitMiB} MiB (maxHeapMiB)` : "V8's heap limit"}.`
    : `Plugin "${plugin}" ran out of memory: its resident memory was ${rssMiB} MiB, over its limit of ${limitMiB} MiB (maxRssMiB); it was killed.`;
export const ACCESS_DENIED = (plugin: string, permission: string, resource: string, during: string) =>
  `Plugin "${plugin}" was denied ${permission}${resource ? ` on ${resource}` : ''} (in ${during}): outside its sandbox.`;
export const BAD_SANDBOX = (plugin: string, name: string, expected: string, value: unknown) =>
  `Plugin "${plugin}": sandbox.${name} must be ${expected}, got ${JSON.stringify(value)}.`;
export const METRICS_OFF = 'Metrics are off: turn them on with WwPluginModule.forRoot({ metrics: true }).';
export const ADMIN_PAGE_EXPOSED = (address: string) =>
  `WwPluginAdminModule has no guard, and the HTTP server listens on ${address}, beyond loopback: anyone who reaches it could stop your plugins. ` +
  'Give WwPluginAdminModule.forRoot({ guard }) (or canActivate), or listen on 127.0.0.1.';
export const ADMIN_HEADER_MISSING = (header: string) => `Admin actions need the "${header}: 1" header (it keeps other sites' pages from posting them).`;
export const ADMIN_UNKNOWN_ACTION = (action: string, actions: readonly string[]) => `Unknown action "${action}": one of ${actions.join(', ')}.`;
export const REMOTE_DISCONNECTED = (plugin: string, peer: string, why: string) => `Remote plugin "${plugin}" (${peer}) disconnected: ${why}.`;
export const REMOTE_REFUSED = (peer: string, why: string) => `Refused a remote plugin from ${peer}: ${why}.`;
export const REMOTE_NOT_ALLOWED = (names: string[], allowed: string[]) =>
  `its certificate names ${names.length ? names.map((n) => `"${n}"`).join(', ') : 'no identity'}, and the plugins allowed in are ${allowed.map((n) => `"${n}"`).join(', ') || '(none)'}`;
export const REMOTE_HELLO_NOT_CERTIFIED = (name: string, names: string[]) =>
  `its Hello says "${name}", but its certificate is for ${names.map((n) => `"${n}"`).join(', ')}`;
export const REMOTE_TOO_MANY = (plugin: string, max: number) => `plugin "${plugin}" already has ${max} replicas connected (maxReplicas)`;
export const REMOTE_BAD_TOKEN = 'missing or wrong bearer token';
export const REMOTE_OPERATION = (plugin: string, op: string) =>
  `Plugin "${plugin}" is remote: its orchestrator (Kubernetes, systemd, ...) starts and stops it, the host cannot ${op} it.`;
export const REMOTE_BAD_LISTEN = (listen: string) => `remote.listen must be "host:port" (e.g. "0.0.0.0:7443"), got "${listen}".`;
export const REMOTE_NAME_TAKEN = (name: string) => `Remote plugin "${name}" is listed twice, or has the name of a plugin the host spawns.`;
export const REMOTE_TLS_MISSING = (missing: string[]) => `remote.tls needs ${missing.join(', ')} (PEM text or a Buffer).`;
export const REMOTE_HOST_GONE = (address: string, why: string, delayMs: number) => `Lost the host at ${address} (${why}); reconnecting in ${delayMs} ms.`;
