// `@sitesaga/saga/testing`: what tests of the engine's hosts use (never built into dist).
export * from './scratch-database';
export * from './trip-catalogue';
export * from './trip-saga';
