// The site catalogue. The message kit comes along, so that a service imports one package for its messages.
export * from '@sitesaga/message-kit';
export * from './topics';
export * from './site-identity';
export * from './participants';
export * from './inventory';
export * from './site-saga';
export * from './site-catalogue';
export * from './message-examples';
export * from './asyncapi';
export * from './site-database-names';
export * from './wordpress-schema';
