import { describe, expect, it } from 'vitest';
import { parseAccessDenialLine, accessDenialLine, accessDenialOf } from '../errors/access-denial.js';
import { heapOutOfMemory, isHeapOutOfMemoryLine } from './out-of-memory.js';

describe('heapOutOfMemory', () => {
  const v8 = 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory';
  const v8on26 = 'FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory';

  it("recognises V8's out-of-memory line in every supported line's wording, and no other", () => {
    expect(isHeapOutOfMemoryLine(v8)).toBe(true);
    expect(isHeapOutOfMemoryLine(v8on26)).toBe(true);
    expect(isHeapOutOfMemoryLine(' 1: 0xb8 node::Abort() [node]')).toBe(false);
  });

  it('is an abort after that line', () => {
    expect(heapOutOfMemory(null, 'SIGABRT', true, { maxHeapMiB: 64 })).toEqual({ limit: 'heap', limitMiB: 64 });
    expect(heapOutOfMemory(134, null, true, {})).toEqual({ limit: 'heap', limitMiB: undefined });
  });

  it('is not a plain crash, nor the line without the abort', () => {
    expect(heapOutOfMemory(null, 'SIGABRT', false, { maxHeapMiB: 64 })).toBeUndefined();
    expect(heapOutOfMemory(1, null, true, { maxHeapMiB: 64 })).toBeUndefined();
    expect(heapOutOfMemory(null, 'SIGKILL', true, { maxHeapMiB: 64 })).toBeUndefined();
  });
});

describe('access denial lines', () => {
  it("carry Node's permission and resource from the plugin to the host", () => {
    const err = Object.assign(new Error('Access to this API has been restricted'), {
      code: 'ERR_ACCESS_DENIED',
      permission: 'FileSystemRead',
      resource: '/etc/shadow',
    });
    const denial = accessDenialOf(err, 'readFile')!;
    expect(parseAccessDenialLine(accessDenialLine(denial))).toEqual({ permission: 'FileSystemRead', resource: '/etc/shadow', during: 'readFile' });
  });

  it('other errors and other lines are not denials', () => {
    expect(accessDenialOf(Object.assign(new Error('x'), { code: 'EACCES' }), 'f')).toBeUndefined();
    expect(accessDenialOf('ERR_ACCESS_DENIED', 'f')).toBeUndefined();
    expect(parseAccessDenialLine('Error: ERR_ACCESS_DENIED')).toBeUndefined();
    expect(parseAccessDenialLine('wwplugin:access-denied {not json')).toBeUndefined();
  });
});
