export * from './http-status.js';
export * from './wwplugin-http-exception.filter.js';
