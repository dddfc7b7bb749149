// `@sitesaga/saga/testing`: what tests of the engine's hosts use (never built into dist).
export * from './saga-script';
export * from './scratch-database';
export * from './test-saga';
