import { pluginHostService } from '../protocol/proto-definition.js';
import { preconnect } from './session-preconnect.js';
import { SPARE_LIBRARY_CHECK, SPARE_PARK } from './spare-globals.js';
import { warmUpNest } from './spare-warmup.js';

export { SPARE_LIBRARY_CHECK, SPARE_PARK };

/** This copy of the library (one per module instance: a bundle's differs from the spare's). */
export const LIBRARY_COPY = Symbol('wwplugin library copy');

type SpareGlobals = { [SPARE_PARK]?: () => Promise<void>; [SPARE_LIBRARY_CHECK]?: (copy: symbol) => void };

/** Resolves at once, or, in a spare of the plugin's own, once the host needs this process. */
export function parkIfSpare(): Promise<void> | undefined {
  const spare = globalThis as SpareGlobals;
  const check = spare[SPARE_LIBRARY_CHECK];
  if (check) {
    delete spare[SPARE_LIBRARY_CHECK];
    check(LIBRARY_COPY);
    // Run by a shared spare, the host waiting: the connection opens while Nest creates the app.
    preconnect();
  }
  const park = spare[SPARE_PARK];
  if (!park) return undefined;
  // What every session needs and no plugin code sees (the protocol's definitions, the connection
  // to the host), ready before the host needs us.
  pluginHostService();
  preconnect();
  // This copy of Nest (a bundle's own) walks its start path once before the spare says ready.
  return warmUpNest().then(park);
}
