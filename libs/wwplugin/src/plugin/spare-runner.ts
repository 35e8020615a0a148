// A prewarmed spare plugin process (started by the host's SparePool). Two kinds:
//
// - shared (`node spare-runner.js`): Node is up and the framework, Nest and grpc-js are loaded;
//   it says `ready` on fd 3, then waits there for one line of JSON naming the plugin it becomes
//   (entry, args, cwd, environment) and runs that entry the way `node entry args` would. When the
//   plugin reaches bootstrapPlugin it says on fd 3 whether it runs the preloaded library
//   (`library shared`) or a copy of its own (`library own`: a bundle), and fd 3 closes.
// - a plugin's own (`node spare-runner.js --own entry args...`, started in the plugin's working
//   directory with its environment): it runs the entry at once; bootstrapPlugin parks before
//   creating the Nest app, the spare says `ready`, and the next line on fd 3 lets it go on.
//
// Until it is used a spare does nothing, and leaves when the host does (its stdin ends).
import * as nodeModule from 'node:module';
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ENV_PLUGIN_ID, ENV_TOKEN } from '../protocol/protocol.constants.js';
import { SPARE_LIBRARY_CHECK, SPARE_PARK } from './spare-globals.js';

/** What the host sends a shared spare: everything a cold start would have given the process. */
export interface SpareAssignment {
  entry: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

const control = new Socket({ fd: 3, readable: true, writable: true });
const hostGone = () => process.exit(0);
process.stdin.on('end', hostGone);
process.stdin.resume();

/** Says `ready` and resolves with the host's next line on the control pipe. */
function nextLine(): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    control.setEncoding('utf8');
    control.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl >= 0) resolve(text.slice(0, nl));
    });
    control.on('end', hostGone);
    control.write('ready\n');
  });
}

/**
 * From here on the process is the plugin: the plugin's own stdin handling, and no fd 3 (a shared
 * spare keeps it, never holding the process open, until the plugin says which library it runs).
 */
function becomePlugin(keepControl = false): void {
  control.removeAllListeners();
  if (keepControl) control.unref();
  else control.destroy();
  process.stdin.removeListener('end', hostGone);
  process.stdin.pause();
}

/** Node's own entry point runner (ES module or CommonJS, as `node entry` decides); import() where absent. */
async function runEntry(entry: string): Promise<void> {
  const runMain = (nodeModule as unknown as { runMain?: (main?: string) => void }).runMain;
  if (typeof runMain === 'function') runMain(entry);
  else await import(pathToFileURL(entry).href);
}

if (process.argv[2] === '--own') {
  const [entry, ...args] = process.argv.slice(3);
  process.argv = [process.argv[0], entry, ...args];
  (globalThis as { [SPARE_PARK]?: () => Promise<void> })[SPARE_PARK] = async () => {
    delete (globalThis as { [SPARE_PARK]?: unknown })[SPARE_PARK];
    // The host's line is this process's secret (and, for a spare prewarmed before its plugin was
    // loaded, the plugin's id): set in-process, the secret never shows in /proc/<pid>/environ.
    const [token, pluginId] = (await nextLine()).split(' ');
    becomePlugin();
    if (token) process.env[ENV_TOKEN] = token;
    if (pluginId) process.env[ENV_PLUGIN_ID] = pluginId;
  };
  await runEntry(entry);
} else {
  // The modules every plugin imports, resolved from the library's own place: a plugin that resolves
  // the same files (an unbundled plugin beside this library) finds them loaded. The plugin entry,
  // not the host's side: a plugin importing the main entry loads the rest once assigned.
  await import('reflect-metadata').catch(() => undefined);
  await import('./index.js');
  const { LIBRARY_COPY } = await import('./spare-park.js');
  // What every session needs (the protocol's definitions), for a plugin that runs this library.
  (await import('../protocol/proto-definition.js')).pluginHostService();
  // Nest's start path compiled before the host can hand this spare a plugin.
  await (await import('./spare-warmup.js')).warmUpNest();
  const assignment = JSON.parse(await nextLine()) as SpareAssignment;
  becomePlugin(true);
  // A bundle carries its own library: the host then keeps a spare of the plugin's own for it.
  (globalThis as { [SPARE_LIBRARY_CHECK]?: (copy: symbol) => void })[SPARE_LIBRARY_CHECK] = (copy) => {
    control.on('error', () => undefined);
    control.end(copy === LIBRARY_COPY ? 'library shared\n' : 'library own\n');
  };
  for (const key of Object.keys(process.env)) if (!(key in assignment.env)) delete process.env[key];
  Object.assign(process.env, assignment.env);
  process.chdir(assignment.cwd);
  process.argv = [process.argv[0], assignment.entry, ...assignment.args];
  await runEntry(assignment.entry);
}
