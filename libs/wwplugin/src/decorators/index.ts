export * from './plugin-function.decorator.js';
export * from './host-function.decorator.js';
export * from './on-push.decorator.js';
