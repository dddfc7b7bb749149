import { randomUUID } from 'node:crypto';
import { CreateSite, createSitePayload, fieldReasonsOf, sagaIdFor, Topics } from '@sitesaga/contracts';
import type { Invocation } from '../arguments/command-line';
import { UsageError } from '../cli-errors';
import { sendCommand } from '../sending/kafka-command-sender';
import { SitesApi } from '../sending/sites-api';
import { writeLines } from '../terminal/output';
import { adminClientOf, type CliContext, configOf, follow } from './command-context';

type CreateSiteInvocation = Extract<Invocation, { command: 'create-site' }>;

/** Payload field → the option that sets it, so a refusal names what the operator typed. */
const OPTION_OF: Record<string, string> = { name: '--name', domain: '--domain', adminEmail: '--admin-email', tagline: '--tagline' };

/** Accepted ids, printed the same way for either route. */
export function acceptedLines(what: string, ids: { sagaId: string; siteId: string; messageId?: string }, followHint: boolean): string[] {
  return [
    what,
    `  saga id     ${ids.sagaId}`,
    `  site id     ${ids.siteId}`,
    ...(ids.messageId ? [`  message id  ${ids.messageId}`] : []),
    ...(followHint ? [`follow it: saga show ${ids.sagaId} --follow`] : []),
  ];
}

/**
 * `saga create-site`: validated here with the contracts' own schema, then sent as a
 * CreateSite envelope to site-saga.commands (key = saga id = site id) or through
 * POST /sites. Either way the answer is immediate; --follow watches the saga.
 */
export async function createSiteCommand(invocation: CreateSiteInvocation, context: CliContext): Promise<number> {
  const config = configOf(invocation, context);
  const input = {
    name: invocation.name,
    domain: invocation.domain,
    adminEmail: invocation.adminEmail,
    ...(invocation.tagline !== undefined ? { tagline: invocation.tagline } : {}),
  };
  const checked = createSitePayload.safeParse(input);
  if (!checked.success) {
    throw new UsageError(
      'create-site: invalid site',
      fieldReasonsOf(checked.error).map((reason) => `  ${OPTION_OF[reason.field] ?? reason.field}: ${reason.message}`),
    );
  }

  let ids: { sagaId: string; siteId: string; messageId?: string };
  let what: string;
  let extra: Record<string, unknown> = {};
  if (invocation.via === 'kafka') {
    // The envelope id is the idempotency key; the saga id then follows from it, so the
    // same key sent twice names one saga (SPEC.md).
    const messageId = invocation.idempotencyKey ?? randomUUID();
    const sagaId = invocation.idempotencyKey ? sagaIdFor(invocation.idempotencyKey) : randomUUID();
    const envelope = CreateSite.create(input, { sagaId, correlationId: randomUUID(), causationId: null }, { id: messageId });
    const sent = await sendCommand({ brokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, security: config.kafkaSecurity }, Topics.siteSagaCommands, envelope);
    ids = { sagaId, siteId: sagaId, messageId }; // for a create-site saga the site id is the saga id
    what = `CreateSite sent to ${sent.topic}${sent.partition !== null ? ` (partition ${sent.partition}, offset ${sent.offset})` : ''}`;
    extra = { topic: sent.topic, partition: sent.partition, offset: sent.offset };
  } else {
    const accepted = await new SitesApi(config.sitesUrl, context.interrupt, config.sitesKey ?? config.adminToken?.value).createSite(input, invocation.idempotencyKey);
    ids = { sagaId: accepted.sagaId, siteId: accepted.siteId };
    what = `POST /sites accepted: site ${checked.data.name} is ${accepted.status}`;
  }

  if (invocation.json) context.stdout.write(`${JSON.stringify({ via: invocation.via, ...ids, status: 'PENDING', ...extra })}\n`);
  else writeLines(context.stdout, [...acceptedLines(what, ids, !invocation.follow), ...(invocation.follow ? [''] : [])]);
  if (!invocation.follow) return 0;
  return follow(adminClientOf(config, context), ids.sagaId, invocation, context, `waiting for saga ${ids.sagaId} to start…`);
}
