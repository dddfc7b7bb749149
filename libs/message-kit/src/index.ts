export * from './envelope';
export * from './validation';
export * from './storable-text';
export * from './define-message';
export * from './catalogue';
export * from './json-schema';
export * from './asyncapi';
