export * from './secrets-key';
export * from './sealed-secret';
