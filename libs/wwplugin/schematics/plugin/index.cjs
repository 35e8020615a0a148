// `nest g -c @wwplugin/nestjs plugin <name>`: the package's one generator (scaffold/new-plugin.mjs),
// reading and writing through the schematic's Tree so Nest's CLI shows, and dry-runs, every change.
// CommonJS because Angular's schematics engine loads factories with require().

/** The schematic's Tree as the generator's file host (Tree paths are absolute from the project root). */
function treeFiles(tree) {
  const at = (rel) => `/${rel}`;
  return {
    read: (rel) => (tree.exists(at(rel)) ? tree.read(at(rel)).toString('utf8') : undefined),
    isDir: (rel) => {
      const dir = tree.getDir(at(rel));
      return dir.subfiles.length > 0 || dir.subdirs.length > 0;
    },
    create: (rel, text) => tree.create(at(rel), text),
    overwrite: (rel, text) => tree.overwrite(at(rel), text),
  };
}

/** The schematic's factory: Nest's CLI passes its own options too (spec, flat, ...); only ours matter. */
exports.plugin = (options) => async (tree, context) => {
  const { generatePlugin } = await import('../../scaffold/new-plugin.mjs');
  const result = generatePlugin(treeFiles(tree), { name: options.name, description: options.description ?? '' });
  context.logger.info(result.message);
  return tree;
};
