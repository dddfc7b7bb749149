export * from './envelope';
export * from './topics';
export * from './validation';
export * from './message';
export * from './site-identity';
export * from './participants';
export * from './site-saga';
export * from './registry';
