import { describe, expect, it } from 'vitest';
import type { LogFrame } from '../protocol/frames.js';
import { PluginLogger } from './plugin-logger.js';

describe('PluginLogger', () => {
  it('holds records until attached, at most 500, and says how many it dropped', () => {
    const logger = new PluginLogger({ logLevels: ['log', 'warn', 'error'] });
    for (let i = 0; i < 600; i++) logger.log(`early ${i}`, 'Boot');
    const sent: LogFrame[] = [];
    logger.attach((r) => sent.push(r) > 0);
    expect(sent).toHaveLength(501);
    expect(sent[0]).toMatchObject({ level: 'warn', context: 'WwPlugin', message: '100 earlier log records were dropped before the session started.' });
    expect(sent[1]).toMatchObject({ level: 'log', context: 'Boot', message: 'early 100' });
    expect(sent[500]).toMatchObject({ message: 'early 599' });
  });

  it('sends one record per call once attached, with the stack of an error, and honours the levels', () => {
    const logger = new PluginLogger({ logLevels: ['warn', 'error'] });
    const sent: LogFrame[] = [];
    logger.attach((r) => sent.push(r) > 0);
    logger.log('not at this level', 'Ctx');
    logger.error('it broke', 'Error: it broke\n    at somewhere (file.js:1:1)', 'Ctx');
    expect(sent).toEqual([{ level: 'error', context: 'Ctx', message: 'it broke', stack: 'Error: it broke\n    at somewhere (file.js:1:1)' }]);
  });
});
