import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { HostFunction, WwPluginModule, type WwPluginHostOptions } from '@wwplugin/nestjs';

/** The host function plugins call in the callHost figure. */
@Injectable()
export class BenchHostFunctions {
  @HostFunction()
  hostEcho({ payload }: { payload: string }): string {
    return payload;
  }
}

/** A host app as users write one, with default options but for the transport. */
@Module({})
export class BenchHostModule {
  static forRoot(options: WwPluginHostOptions): DynamicModule {
    return { module: BenchHostModule, imports: [WwPluginModule.forRoot(options)], providers: [BenchHostFunctions] };
  }
}
