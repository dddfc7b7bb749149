import { createSiteSaga } from './create-site.saga';
import { deleteSiteSaga } from './delete-site.saga';

/** Every saga site-saga runs: the engine's definitions, and where its reply subscriptions come from. */
export const SAGAS = [createSiteSaga, deleteSiteSaga] as const;
