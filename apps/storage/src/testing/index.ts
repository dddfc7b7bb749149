// `@sitesaga/storage/testing`: what the end-to-end tests use of the storage service (never built into dist).
export { STORAGE_ENV } from '../storage-env';
