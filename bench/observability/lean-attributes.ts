// Given to a plugin of `bench:observability-ab` with --import: registers lean-attributes-hooks.ts
// before the SDK loads.
import { register } from 'node:module';

register('./lean-attributes-hooks.js', import.meta.url);
