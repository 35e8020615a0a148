import { Module, type DynamicModule } from '@nestjs/common';
import { AdminController } from './admin.controller.js';
import { AdminExposureCheck } from './admin-exposure.check.js';
import { AdminGuard } from './admin.guard.js';
import { AdminSnapshots } from './admin-snapshots.js';
import { validateAdminOptions } from '../wwplugin.options-validator.js';
import {
  ADMIN_ASYNC_OPTIONS_TYPE,
  ADMIN_OPTIONS_TYPE,
  AdminOptionsModule,
  RAW_ADMIN_OPTIONS,
  WWPLUGIN_ADMIN_OPTIONS,
} from './wwplugin-admin.module-definition.js';

/**
 * A live plugins page for a host app (next to WwPluginModule.forRoot): one static page plus a JSON
 * API and SSE, mounted at `path` (default 'wwplugin'), every route behind `guard`/`canActivate`.
 * Without either, the app refuses to listen beyond loopback (AdminPageExposedError). Options are
 * checked at bootstrap (HostConfigurationError). @publicApi
 */
@Module({
  controllers: [AdminController],
  providers: [
    { provide: WWPLUGIN_ADMIN_OPTIONS, useFactory: validateAdminOptions, inject: [RAW_ADMIN_OPTIONS] },
    AdminGuard,
    AdminSnapshots,
    AdminExposureCheck,
  ],
})
export class WwPluginAdminModule extends AdminOptionsModule {
  /** Mounts the page; `path` is where (below any global prefix). */
  static override forRoot(options: typeof ADMIN_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Mounts the page, with options from a factory or a class (ConfigService and the like); `path` stays static. */
  static override forRootAsync(options: typeof ADMIN_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
