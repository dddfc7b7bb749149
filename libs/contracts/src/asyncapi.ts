import { type AsyncApiDocument, asyncApiDocumentOf } from '@sitesaga/message-kit';
import { examplePayloadOf } from './message-examples';
import { SITE_CATALOGUE } from './site-catalogue';
import { ALL_TOPICS } from './topics';

/** Who writes and who reads each topic (SPEC.md, "Services"). */
function partiesOf(topic: string): { senders: string[]; receivers: string[] } {
  const [owner, kind] = topic.split('.') as [string, 'commands' | 'events'];
  if (owner === 'site-saga') {
    return kind === 'commands' ? { senders: ['clients', 'sites'], receivers: ['site-saga'] } : { senders: ['site-saga'], receivers: ['subscribers'] };
  }
  return kind === 'commands' ? { senders: ['site-saga'], receivers: [owner] } : { senders: [owner], receivers: ['site-saga'] };
}

let built: AsyncApiDocument | null = null;

/**
 * The AsyncAPI 3.0 document of every Kafka topic and message of the site catalogue.
 * Served by site-saga at `/docs/asyncapi.json`; `pnpm docs:asyncapi` writes it to
 * docs/asyncapi.json. Built once per process: it depends only on the contracts.
 */
export function asyncApiDocument(): AsyncApiDocument {
  built ??= asyncApiDocumentOf(SITE_CATALOGUE, { title: 'site-saga platform: Kafka messages', topics: ALL_TOPICS, partiesOf, examplePayloadOf });
  return built;
}
