export * from './zod-openapi';
export * from './service-api';
export * from './sites-api';
export * from './admin-api';
export * from './inventory-api';
