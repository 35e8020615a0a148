import { ForbiddenException, Inject, Injectable, type CanActivate, type ExecutionContext, type OnModuleInit, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { WwPluginAdminOptions } from '../interfaces/admin-options.interface.js';
import { ADMIN_HEADER_MISSING } from '../wwplugin.messages.js';
import { WWPLUGIN_ADMIN_OPTIONS } from './wwplugin-admin.module-definition.js';

/** Header every POST of the page carries: a plain cross-site form cannot set it. */
export const ADMIN_ACTION_HEADER = 'x-wwplugin-admin';

/** Every route of the page passes the user's guard and canActivate; an action then also needs ADMIN_ACTION_HEADER. */
@Injectable()
export class AdminGuard implements CanActivate, OnModuleInit {
  private guard?: CanActivate;

  constructor(
    @Inject(WWPLUGIN_ADMIN_OPTIONS) private readonly options: WwPluginAdminOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** True when the user gave a guard or canActivate (the page may then listen beyond loopback). */
  get configured(): boolean {
    return !!(this.options.guard || this.options.canActivate);
  }

  async onModuleInit(): Promise<void> {
    const given = this.options.guard;
    // A guard class the app provides is used as it is; otherwise it is built with the app's providers.
    if (typeof given === 'function') this.guard = this.provided(given) ?? (await this.moduleRef.create(given));
    else this.guard = given;
  }

  private provided(type: Type<CanActivate>): CanActivate | undefined {
    try {
      return this.moduleRef.get(type, { strict: false });
    } catch {
      return undefined;
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ method: string; headers: Record<string, string | string[] | undefined> }>();
    if (this.guard && !(await settle(this.guard.canActivate(context)))) return false;
    if (this.options.canActivate && !(await settle(this.options.canActivate(context)))) return false;
    if (request.method !== 'GET' && request.headers[ADMIN_ACTION_HEADER] !== '1') throw new ForbiddenException(ADMIN_HEADER_MISSING(ADMIN_ACTION_HEADER));
    return true;
  }
}

async function settle(result: boolean | Promise<boolean> | Observable<boolean>): Promise<boolean> {
  return isObservable(result) ? lastValueFrom(result, { defaultValue: false }) : result;
}
