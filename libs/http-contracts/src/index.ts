export * from './zod-openapi';
export * from './service-api';
export * from './sites-api';
export * from './admin-api';
export * from './bulk-api';
export * from './saga-definitions-api';
export * from './inventory-api';
