/**
 * Where a spare of a plugin's own (PluginSpec `spare: 'own'`) waits: the spare runner sets this
 * global before it runs the plugin's entry, and bootstrapPlugin awaits it before creating the Nest
 * app. A global symbol, not a module: a bundled plugin has its own copy of the library.
 */
export const SPARE_PARK = Symbol.for('wwplugin.spare.park');

/** Resolves at once, or, in a spare of the plugin's own, once the host needs this process. */
export function parkIfSpare(): Promise<void> | undefined {
  return (globalThis as { [SPARE_PARK]?: () => Promise<void> })[SPARE_PARK]?.();
}
