// The @wwplugin/nestjs/health entry point: kept apart from the main one so that only apps that
// use health checks need @nestjs/terminus installed.
export * from './plugin-health.indicator.js';
