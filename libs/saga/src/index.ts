export * from './duration';
export * from './retry-policy';
export * from './saga-state';
export * from './errors';
export * from './define-saga';
export * from './decide';
export * from './redaction';
export * from './saga-engine';
export * from './persistence/saga-store';
export * from './persistence/saga-queries';
export * from './persistence/saga-selection';
export * from './persistence/saga-lookup';
export * from './persistence/saga-instance.entity';
export * from './persistence/saga-step.entity';
export * from './persistence/saga-history.entity';
export * from './persistence/1732400000100-create-saga-tables';
export * from './persistence/1764700000000-saga-definition-versions-and-exclusion';
export * from './persistence/1764760000000-saga-expect-one-row';
export * from './persistence/1764740000000-saga-history-hops';

import { SagaHistoryEntity } from './persistence/saga-history.entity';
import { SagaInstanceEntity } from './persistence/saga-instance.entity';
import { SagaStepEntity } from './persistence/saga-step.entity';
import { CreateSagaTables1732400000100 } from './persistence/1732400000100-create-saga-tables';
import { SagaDefinitionVersionsAndExclusion1764700000000 } from './persistence/1764700000000-saga-definition-versions-and-exclusion';
import { SagaHistoryHops1764740000000 } from './persistence/1764740000000-saga-history-hops';
import { SagaExpectOneRow1764760000000 } from './persistence/1764760000000-saga-expect-one-row';
import { SagaStatusCounts1764770000000 } from './persistence/1764770000000-saga-status-counts';

/** For the host's TypeORM DataSource: `entities: [...SAGA_ENTITIES]`, `migrations: [...SAGA_MIGRATIONS]`. */
export const SAGA_ENTITIES = [SagaInstanceEntity, SagaStepEntity, SagaHistoryEntity] as const;
export const SAGA_MIGRATIONS = [
  CreateSagaTables1732400000100,
  SagaDefinitionVersionsAndExclusion1764700000000,
  SagaHistoryHops1764740000000,
  SagaExpectOneRow1764760000000,
  SagaStatusCounts1764770000000,
] as const;
export * from './saga-script';
