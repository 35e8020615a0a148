// Module hooks for `bench:observability-ab` with PROBE_LEAN_ATTRIBUTES=1 (registered by
// lean-attributes.ts): @opentelemetry/core's isAnyValue as it would be if it answered for a string,
// number or boolean before making the WeakSet its cycle check needs. The SDK checks every attribute
// value with it, each time a span starts (twice) or sets one; this measures what those WeakSets cost.
import type { LoadHook } from 'node:module';

const ORIGINAL = 'function isAnyValue(val) {\n';
const SHORTCUT = `${ORIGINAL}\tif (typeof val === "string" || typeof val === "number" || typeof val === "boolean") return true;\n`;

export const load: LoadHook = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context);
  if (!/\/@opentelemetry\/core\/dist\/common\/attributes\.(mjs|cjs)$/.test(url)) return loaded;
  const source = String(loaded.source);
  // A new @opentelemetry/core that spells it otherwise must not pass for the lean one.
  if (!source.includes(ORIGINAL)) throw new Error(`lean-attributes: no isAnyValue in ${url}`);
  return { ...loaded, source: source.replace(ORIGINAL, SHORTCUT) };
};
