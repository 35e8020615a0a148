/** Identifies this transport to Nest (`@MessagePattern(pattern, WWPLUGIN_TRANSPORT)`). @publicApi */
export const WWPLUGIN_TRANSPORT = Symbol('WWPLUGIN_TRANSPORT');
