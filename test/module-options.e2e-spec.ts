import 'reflect-metadata';
import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import {
  HostConfigurationError,
  PluginConfigurationError,
  PluginContext,
  WWPLUGIN_HOST_OPTIONS,
  WWPLUGIN_PLUGIN_OPTIONS,
  WwPluginModule,
  type WwPluginHostOptions,
  type WwPluginHostOptionsFactory,
  type WwPluginOptions,
  type WwPluginOptionsFactory,
} from '@wwplugin/nestjs';

/** A stand-in for ConfigService: what the factories read their options from. */
@Injectable()
class Settings {
  readonly timeoutMs = 1_234;
  readonly pluginName = 'configured';
}
@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

@Injectable()
class HostOptionsFactory implements WwPluginHostOptionsFactory {
  constructor(private readonly settings: Settings) {}
  createWwPluginOptions(): WwPluginHostOptions {
    return { defaultTimeoutMs: this.settings.timeoutMs };
  }
}

@Injectable()
class PluginOptionsFactory implements WwPluginOptionsFactory {
  createWwPluginOptions(): WwPluginOptions {
    return { name: 'from-class', version: '2.0.0' };
  }
}

async function optionsOf<T>(root: DynamicModule, token: symbol, imports: Array<DynamicModule | typeof SettingsModule> = []): Promise<T> {
  @Module({ imports: [root, ...imports] })
  class RootModule {}
  const app = await NestFactory.createApplicationContext(RootModule, { logger: false, abortOnError: false });
  try {
    return app.get<T>(token);
  } finally {
    await app.close();
  }
}

async function bootError(root: DynamicModule): Promise<unknown> {
  @Module({ imports: [root] })
  class RootModule {}
  return NestFactory.createApplicationContext(RootModule, { logger: false, abortOnError: false }).then(
    async (app) => {
      await app.close();
      return undefined;
    },
    (err: unknown) => err,
  );
}

// forRoot / forRootAsync and forPlugin / forPluginAsync, made with Nest's ConfigurableModuleBuilder.
describe('module options: the shapes of official Nest modules', () => {
  it('forRoot takes the options as given', async () => {
    await expect(optionsOf(WwPluginModule.forRoot({ defaultTimeoutMs: 5 }), WWPLUGIN_HOST_OPTIONS)).resolves.toEqual({ defaultTimeoutMs: 5 });
  });

  it('forRootAsync: useFactory with imports and inject', async () => {
    const root = WwPluginModule.forRootAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: (s: Settings) => ({ defaultTimeoutMs: s.timeoutMs }),
    });
    await expect(optionsOf(root, WWPLUGIN_HOST_OPTIONS)).resolves.toEqual({ defaultTimeoutMs: 1_234 });
  });

  it('forRootAsync: useClass, with the class given its dependencies', async () => {
    const root = WwPluginModule.forRootAsync({ imports: [SettingsModule], useClass: HostOptionsFactory });
    await expect(optionsOf(root, WWPLUGIN_HOST_OPTIONS)).resolves.toEqual({ defaultTimeoutMs: 1_234 });
  });

  it('forRootAsync: useExisting, a factory provided by an imported module', async () => {
    @Module({ imports: [SettingsModule], providers: [HostOptionsFactory], exports: [HostOptionsFactory] })
    class FactoryModule {}
    const root = WwPluginModule.forRootAsync({ imports: [FactoryModule], useExisting: HostOptionsFactory });
    await expect(optionsOf(root, WWPLUGIN_HOST_OPTIONS)).resolves.toEqual({ defaultTimeoutMs: 1_234 });
  });

  it('forPluginAsync: useFactory with imports and inject', async () => {
    const root = WwPluginModule.forPluginAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: (s: Settings) => ({ name: s.pluginName, version: '1.0.0' }),
    });
    await expect(optionsOf<WwPluginOptions>(root, WWPLUGIN_PLUGIN_OPTIONS)).resolves.toEqual({ name: 'configured', version: '1.0.0' });
  });

  it('forPluginAsync: useClass; PluginContext sees the options', async () => {
    @Module({ imports: [WwPluginModule.forPluginAsync({ useClass: PluginOptionsFactory })] })
    class PluginRoot {}
    const app = await NestFactory.createApplicationContext(PluginRoot, { logger: false, abortOnError: false });
    try {
      expect(app.get(PluginContext).info).toMatchObject({ name: 'from-class', version: '2.0.0' });
    } finally {
      await app.close();
    }
  });

  it.each<[string, DynamicModule, string]>([
    ['maxInFlight', WwPluginModule.forRoot({ maxInFlight: 0 }), 'WwPluginModule.forRoot: option "maxInFlight" must be a positive integer, got 0.'],
    ['whenBusy', WwPluginModule.forRoot({ whenBusy: 'queue' as never }), `WwPluginModule.forRoot: option "whenBusy" must be 'reject' or 'wait', got "queue".`],
    ['port', WwPluginModule.forRoot({ port: 70_000 }), 'WwPluginModule.forRoot: option "port" must be an integer from 0 to 65535, got 70000.'],
    [
      'async defaultTimeoutMs',
      WwPluginModule.forRootAsync({ useFactory: () => ({ defaultTimeoutMs: -1 }) }),
      'WwPluginModule.forRoot: option "defaultTimeoutMs" must be an integer of 0 or more (0: no deadline), got -1.',
    ],
  ])('a bad host option fails at bootstrap, naming it (%s)', async (_what, root, message) => {
    const err = await bootError(root);
    expect(err).toBeInstanceOf(HostConfigurationError);
    expect((err as Error).message).toBe(message);
  });

  it.each<[string, DynamicModule, string]>([
    ['name', WwPluginModule.forPlugin({ name: '', version: '1' }), 'WwPluginModule.forPlugin: option "name" must be a non-empty string, got "".'],
    ['version', WwPluginModule.forPlugin({ name: 'x' } as WwPluginOptions), 'WwPluginModule.forPlugin: option "version" must be a string, got nothing.'],
    [
      'async handlerErrorLogLevel',
      WwPluginModule.forPluginAsync({ useFactory: () => ({ name: 'x', version: '1', handlerErrorLogLevel: 'loud' as never }) }),
      'WwPluginModule.forPlugin: option "handlerErrorLogLevel" must be false or one of fatal, error, warn, log, debug, verbose, got "loud".',
    ],
  ])('a bad plugin option fails at bootstrap, naming it (%s)', async (_what, root, message) => {
    const err = await bootError(root);
    expect(err).toBeInstanceOf(PluginConfigurationError);
    expect((err as Error).message).toBe(message);
  });
});
