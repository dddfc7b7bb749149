import { randomUUID } from 'node:crypto';
import { DeleteSite, sagaIdFor, Topics } from '@sitesaga/contracts';
import type { Invocation } from '../arguments/command-line';
import { sendCommand } from '../sending/kafka-command-sender';
import { SitesApi } from '../sending/sites-api';
import { writeLines } from '../terminal/output';
import { adminClientOf, type CliContext, configOf, follow } from './command-context';
import { acceptedLines } from './create-site.command';

type DeleteSiteInvocation = Extract<Invocation, { command: 'delete-site' }>;

/** `saga delete-site <siteId>`: DeleteSite on site-saga.commands (its own saga id), or DELETE /sites/:id. */
export async function deleteSiteCommand(invocation: DeleteSiteInvocation, context: CliContext): Promise<number> {
  const config = configOf(invocation, context);
  let ids: { sagaId: string; siteId: string; messageId?: string };
  let what: string;
  let extra: Record<string, unknown> = {};
  if (invocation.via === 'kafka') {
    const messageId = invocation.idempotencyKey ?? randomUUID();
    const sagaId = invocation.idempotencyKey ? sagaIdFor(invocation.idempotencyKey) : randomUUID();
    const envelope = DeleteSite.create({ siteId: invocation.siteId }, { sagaId, correlationId: randomUUID(), causationId: null }, { id: messageId });
    const sent = await sendCommand({ brokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, security: config.kafkaSecurity }, Topics.siteSagaCommands, envelope);
    ids = { sagaId, siteId: invocation.siteId, messageId };
    what = `DeleteSite sent to ${sent.topic}${sent.partition !== null ? ` (partition ${sent.partition}, offset ${sent.offset})` : ''}`;
    extra = { topic: sent.topic, partition: sent.partition, offset: sent.offset };
  } else {
    const accepted = await new SitesApi(config.sitesUrl, context.interrupt, config.sitesKey ?? config.adminToken?.value).deleteSite(invocation.siteId);
    ids = { sagaId: accepted.sagaId, siteId: accepted.siteId };
    what = `DELETE /sites/${invocation.siteId} accepted: the site is ${accepted.status}`;
  }
  if (invocation.json) context.stdout.write(`${JSON.stringify({ via: invocation.via, ...ids, ...extra })}\n`);
  else writeLines(context.stdout, [...acceptedLines(what, ids, !invocation.follow), ...(invocation.follow ? [''] : [])]);
  if (!invocation.follow) return 0;
  return follow(adminClientOf(config, context), ids.sagaId, invocation, context, `waiting for saga ${ids.sagaId} to start…`);
}
