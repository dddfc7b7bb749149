import { z } from 'zod';
import { defineEvent, diagnosticText, fieldReasonList } from '@sitesaga/message-kit';
import { adminEmail, siteDomain, siteName, tagline } from './site-identity';
import { Topics } from './topics';

const siteId = z.string().uuid();

/** External command: create a site (the envelope id is the idempotency key). */
export const createSitePayload = z.object({ name: siteName, domain: siteDomain, tagline: tagline.optional(), adminEmail }).strict();
export type CreateSitePayload = z.infer<typeof createSitePayload>;

/**
 * External commands are not `CommandDefinition`s: nobody replies to them with a
 * success/failure pair; the orchestrator answers with outcome events instead.
 */
export const CreateSite = defineEvent({ type: 'CreateSite', topic: Topics.siteSagaCommands, schema: createSitePayload, startsSaga: true });
export const DeleteSite = defineEvent({
  type: 'DeleteSite',
  topic: Topics.siteSagaCommands,
  schema: z.object({ siteId }).strict(),
  startsSaga: true,
});

// Outcome events carry what the saga was given (already checked) and text we write:
// bounded, and escaped where it may quote input.
const site = { siteId, name: z.string().max(63), domain: z.string().max(253) };
const reason = diagnosticText(2000);

export const SiteCreationStarted = defineEvent({ type: 'SiteCreationStarted', topic: Topics.siteSagaEvents, schema: z.object(site).strict() });
export const SiteCreated = defineEvent({
  type: 'SiteCreated',
  topic: Topics.siteSagaEvents,
  schema: z.object({ ...site, url: z.string().url().max(300) }).strict(),
});
export const SiteCreationRejected = defineEvent({
  type: 'SiteCreationRejected',
  topic: Topics.siteSagaEvents,
  schema: z.object({ reasons: fieldReasonList }).strict(),
});
export const SiteCreationFailed = defineEvent({
  type: 'SiteCreationFailed',
  topic: Topics.siteSagaEvents,
  schema: z.object({ siteId, failedStep: z.string().max(100), reason }).strict(),
});
export const SiteDeleted = defineEvent({ type: 'SiteDeleted', topic: Topics.siteSagaEvents, schema: z.object({ siteId }).strict() });
/** Not in SPEC.md's list: the delete saga's counterpart of SiteCreationFailed. */
export const SiteDeletionFailed = defineEvent({
  type: 'SiteDeletionFailed',
  topic: Topics.siteSagaEvents,
  schema: z.object({ siteId, failedStep: z.string().max(100), reason }).strict(),
});
/**
 * Not in SPEC.md's list: the answer to a `DeleteSite` that cannot start a saga (its sagaId
 * names an existing saga, or the saga cannot be recorded), the delete saga's counterpart
 * of SiteCreationRejected. Correlate it by its causationId (the command's id).
 */
export const SiteDeletionRejected = defineEvent({
  type: 'SiteDeletionRejected',
  topic: Topics.siteSagaEvents,
  schema: z.object({ siteId, reasons: z.array(z.object({ field: z.string(), message: z.string() }).strict()).min(1) }).strict(),
});
export const SagaNeedsAttention = defineEvent({
  type: 'SagaNeedsAttention',
  topic: Topics.siteSagaEvents,
  schema: z.object({ siteId, sagaType: z.string().max(100), step: z.string().max(100), reason }).strict(),
});
