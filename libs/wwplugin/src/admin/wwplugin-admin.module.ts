import { Module, type DynamicModule } from '@nestjs/common';
import { AdminController } from './admin.controller.js';
import { AdminExposureCheck } from './admin-exposure.check.js';
import { AdminGuard } from './admin.guard.js';
import { AdminSnapshots } from './admin-snapshots.js';
import { ADMIN_ASYNC_OPTIONS_TYPE, ADMIN_OPTIONS_TYPE, AdminOptionsModule } from './wwplugin-admin.module-definition.js';

/**
 * A live plugins page for a host app (next to WwPluginModule.forRoot): one static page plus a JSON
 * API and SSE, mounted at `path` (default 'wwplugin'), every route behind `guard`/`canActivate`.
 * Without either, the app refuses to listen beyond loopback (AdminPageExposedError). @publicApi
 */
@Module({ controllers: [AdminController], providers: [AdminGuard, AdminSnapshots, AdminExposureCheck] })
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
