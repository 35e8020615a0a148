/** Injection token of the host options given to WwPluginModule.forRoot / forRootAsync. */
export const WWPLUGIN_HOST_OPTIONS = Symbol('WWPLUGIN_HOST_OPTIONS');
/** Injection token of the plugin options given to WwPluginModule.forPlugin / forPluginAsync. */
export const WWPLUGIN_PLUGIN_OPTIONS = Symbol('WWPLUGIN_PLUGIN_OPTIONS');
/** Injection token of bootstrapPlugin's `remote` option, which the plugin's session reads as it is made. */
export const WWPLUGIN_REMOTE_OPTIONS = Symbol('WWPLUGIN_REMOTE_OPTIONS');
/** Injection token of the host's ClientProxy (also injectable by its class, PluginClientProxy). */
export const WWPLUGIN_CLIENT = Symbol('WWPLUGIN_CLIENT');

export const PLUGIN_FUNCTION_METADATA = 'wwplugin:plugin-function';
export const HOST_FUNCTION_METADATA = 'wwplugin:host-function';
export const ON_PUSH_METADATA = 'wwplugin:on-push';
