// The bench plugin is bundled with the repository's own bundling script (scripts/bundle-plugin.mjs),
// the one users run with `npm run bundle-plugin`, so the figure is what users get.
import { ROOT } from './support/paths.js';

type BundleResult = { ok: true; ms: number } | { ok: false; reason: string };

/** Bundles `entry` to `outFile`; resolves false, with the reason, when no bundler is installed. */
export async function bundlePlugin(entry: string, outFile: string): Promise<BundleResult> {
  const script = (await import(`${ROOT}scripts/bundle-plugin.mjs`)) as { bundlePlugin(e: string, o: string): Promise<BundleResult> };
  return script.bundlePlugin(entry, outFile);
}
