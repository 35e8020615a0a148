// A prewarmed spare plugin process (started by the host's SparePool as `node spare-runner.js`):
// Node is up and the framework, Nest and grpc-js are loaded; it says `ready` on fd 3, then waits
// there for one line of JSON naming the plugin it becomes (entry, args, cwd, environment) and runs
// that entry the way `node entry args` would. Until then it does nothing, and leaves when the
// host does (its stdin ends).
import * as nodeModule from 'node:module';
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

/** What the host sends a spare: everything a cold start would have given the process. */
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

// The modules every plugin imports, resolved from the library's own place: a plugin that resolves
// the same files (an unbundled plugin beside this library) finds them loaded.
await import('reflect-metadata').catch(() => undefined);
await import('../index.js');

const assignment = await new Promise<SpareAssignment>((resolve) => {
  let text = '';
  control.setEncoding('utf8');
  control.on('data', (chunk: string) => {
    text += chunk;
    const nl = text.indexOf('\n');
    if (nl >= 0) resolve(JSON.parse(text.slice(0, nl)) as SpareAssignment);
  });
  control.on('end', hostGone);
  control.write('ready\n');
});

// From here on the process is the plugin: no fd 3, the plugin's own stdin handling.
control.removeAllListeners();
control.destroy();
process.stdin.removeListener('end', hostGone);
process.stdin.pause();
for (const key of Object.keys(process.env)) if (!(key in assignment.env)) delete process.env[key];
Object.assign(process.env, assignment.env);
process.chdir(assignment.cwd);
process.argv = [process.argv[0], assignment.entry, ...assignment.args];
// Node's own entry point runner (ES module or CommonJS, as `node entry` decides); import() where absent.
const runMain = (nodeModule as unknown as { runMain?: (main?: string) => void }).runMain;
if (typeof runMain === 'function') runMain(assignment.entry);
else await import(pathToFileURL(assignment.entry).href);
