import { CreateMessagingTables1732400000000 } from './1732400000000-create-messaging-tables';
import { DeadLettersAndParkedOutbox1764590000000 } from './1764590000000-dead-letters-and-parked-outbox';
import { IndexInboxProcessedAt1764600000000 } from './1764600000000-index-inbox-processed-at';

/** Every migration of the tables the messaging library keeps in each service's database, in order. */
export const MESSAGING_MIGRATIONS = [CreateMessagingTables1732400000000, DeadLettersAndParkedOutbox1764590000000, IndexInboxProcessedAt1764600000000];
