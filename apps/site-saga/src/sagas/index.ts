import { createSiteSaga } from './create-site.saga';
import { deleteSiteSaga } from './delete-site.saga';

/**
 * Every saga site-saga runs: the engine's definitions, and where its reply subscriptions
 * come from. Several versions of one type may be listed (docs/adr/0007): the newest starts
 * new sagas, and a version stays here until no saga that started on it is left running
 * (`saga_undeployed_version_sagas`, the admin's `definitionVersion`).
 */
export const SAGAS = [createSiteSaga, deleteSiteSaga] as const;
