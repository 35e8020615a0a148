import { errorFromWire, errorToWire, type WwPluginError } from './wwplugin.errors.js';

/** Starts the stderr line in which a plugin that fails to start names its error, for the host to rebuild. */
const START_ERROR_MARK = 'wwplugin:start-error ';

/** The line a plugin writes last to stderr when it cannot start. */
export function startFailureLine(err: unknown): string {
  return `${START_ERROR_MARK}${JSON.stringify(errorToWire(err))}`;
}

/** Finds the error a plugin named in its stderr tail; the tail comes back without that line. */
export function startFailureOf(stderrTail: string): { error?: WwPluginError; tail: string } {
  const lines = stderrTail.split('\n');
  const at = lines.findLastIndex((l) => l.startsWith(START_ERROR_MARK));
  if (at < 0) return { tail: stderrTail };
  try {
    const wire = JSON.parse(lines[at]!.slice(START_ERROR_MARK.length)) as ReturnType<typeof errorToWire>;
    lines.splice(at, 1);
    return { error: errorFromWire(wire.code, wire.message, wire.name, wire.detailsJson), tail: lines.join('\n') };
  } catch {
    return { tail: stderrTail };
  }
}
