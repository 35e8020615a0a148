import { InvalidArgumentError } from '../errors/wwplugin.errors.js';
import type { ParameterSpecFrame } from './frames.js';
import { ParameterType, type Parameter } from './parameters.js';

/**
 * Checks decoded arguments against a function's declared parameters before its handler runs.
 * Throws InvalidArgumentError naming the argument, the expected and the actual type.
 */
export function validateArgs(fn: string, specs: ParameterSpecFrame[] | undefined, parameters: Parameter[]): void {
  if (!specs?.length) return;
  for (const spec of specs) {
    const expected = spec.type ?? ParameterType.NULL;
    const given = parameters.find((p) => p.name === spec.name);
    if (!given || (given.type === ParameterType.NULL && expected !== ParameterType.NULL)) {
      if (spec.optional) continue;
      throw new InvalidArgumentError(`${fn}: argument "${spec.name}" is required (expected ${ParameterType[expected]}, got ${given ? 'NULL' : 'nothing'}).`, {
        argument: spec.name,
        expected: ParameterType[expected],
        actual: given ? 'NULL' : 'missing',
      });
    }
    // NULL (unset) in a spec means any type: only presence is checked.
    if (expected === ParameterType.NULL) continue;
    // An integer is a valid float; everything else must match exactly.
    const ok = given.type === expected || (expected === ParameterType.FLOAT && given.type === ParameterType.INT);
    if (!ok) {
      throw new InvalidArgumentError(`${fn}: argument "${spec.name}" must be ${ParameterType[expected]}, got ${ParameterType[given.type] ?? given.type}.`, {
        argument: spec.name,
        expected: ParameterType[expected],
        actual: ParameterType[given.type],
      });
    }
  }
}
