// The globals a spare runner sets for the library (no imports: the runner of a bundle's own spare
// loads nothing of the library's before the bundle does).

/**
 * Where a spare of a plugin's own (PluginSpec `spare: 'own'`) waits: the spare runner sets this
 * global before it runs the plugin's entry, and bootstrapPlugin awaits it before creating the Nest
 * app. A global symbol, not a module: a bundled plugin has its own copy of the library.
 */
export const SPARE_PARK = Symbol.for('wwplugin.spare.park');
/**
 * Set by a shared spare before it runs the plugin's entry: told which copy of the library the
 * plugin runs, it tells the host whether its preloaded one served (a bundle brings its own).
 */
export const SPARE_LIBRARY_CHECK = Symbol.for('wwplugin.spare.library');
