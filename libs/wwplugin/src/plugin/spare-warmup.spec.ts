import 'reflect-metadata';
import { Logger, type LoggerService } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { warmUpNest } from './spare-warmup.js';

describe('warmUpNest (a spare walks Nest start path before it says ready)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    Logger.overrideLogger(undefined as unknown as LoggerService);
  });

  it('prints nothing and leaves Nest static logger as it found it', async () => {
    const seen: string[] = [];
    const mine: LoggerService = {
      log: (m: string) => seen.push(`log ${m}`),
      error: (m: string) => seen.push(`error ${m}`),
      warn: (m: string) => seen.push(`warn ${m}`),
    };
    Logger.overrideLogger(mine);
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    await warmUpNest();
    expect(out).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
    // Nest's start logs went to the warm-up's own silent logger.
    expect(seen).toEqual([]);
    Logger.log('after the warm-up', 'Test');
    expect(seen).toEqual(['log after the warm-up']);
  });

  it('never throws, even when Nest cannot create the app', async () => {
    const { NestFactory } = await import('@nestjs/core');
    vi.spyOn(NestFactory, 'createApplicationContext').mockRejectedValueOnce(new Error('no Nest here'));
    await expect(warmUpNest()).resolves.toBeUndefined();
  });
});
