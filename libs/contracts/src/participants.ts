import { z } from 'zod';
import { type CommandDefinition, defineCommand, defineEvent, failureFields } from '@sitesaga/message-kit';
import { adminEmail, siteDomain, siteName, tagline } from './site-identity';
import { type Topic, Topics } from './topics';

/**
 * The commands the orchestrator sends to the four participants, each with its success
 * and failure event. A participant's failure event carries `{ siteId, reason, class }`,
 * and `reasons: [{ field, message }]` when it refuses fields of the command.
 */
const siteId = z.string().uuid();
const bySiteId = z.object({ siteId }).strict();

/** What every participant's failure event carries: the kit's generic failure, for a site. */
export const siteFailurePayload = z.object({ siteId, ...failureFields }).strict();
export type SiteFailurePayload = z.infer<typeof siteFailurePayload>;

function participantCommand<T extends string, P extends { siteId: string }, S extends { siteId: string }>(spec: {
  type: T;
  commands: Topic;
  events: Topic;
  schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  succeeded: { type: string; schema: z.ZodType<S, z.ZodTypeDef, unknown> };
  failed: string;
}): CommandDefinition<T, P, S, SiteFailurePayload> {
  const succeeded = defineEvent({ type: spec.succeeded.type, topic: spec.events, schema: spec.succeeded.schema });
  const failed = defineEvent({ type: spec.failed, topic: spec.events, schema: siteFailurePayload });
  return defineCommand({
    type: spec.type,
    topic: spec.commands,
    schema: spec.schema,
    succeeded,
    failed,
    // The failure names the site the command named: never one made up.
    failure: (payload, failure) => ({ siteId: payload.siteId, ...failure, reasons: failure.reasons && [...failure.reasons] }),
  });
}

const sites = { commands: Topics.sitesCommands, events: Topics.sitesEvents } as const;
const storage = { commands: Topics.storageCommands, events: Topics.storageEvents } as const;
const databases = { commands: Topics.databasesCommands, events: Topics.databasesEvents } as const;
const bootstrap = { commands: Topics.bootstrapCommands, events: Topics.bootstrapEvents } as const;

// sites
export const ReserveSite = participantCommand({
  type: 'ReserveSite',
  ...sites,
  schema: z.object({ siteId, name: siteName, domain: siteDomain, tagline: tagline.optional(), adminEmail: adminEmail.optional() }).strict(),
  succeeded: { type: 'SiteReserved', schema: z.object({ siteId, name: z.string().max(63), domain: z.string().max(253) }).strict() },
  failed: 'SiteReservationRejected',
});
export const ActivateSite = participantCommand({
  type: 'ActivateSite',
  ...sites,
  schema: bySiteId,
  succeeded: { type: 'SiteActivated', schema: z.object({ siteId, url: z.string().url().max(300) }).strict() },
  failed: 'SiteActivationFailed',
});
export const ReleaseSite = participantCommand({
  type: 'ReleaseSite',
  ...sites,
  schema: bySiteId,
  succeeded: { type: 'SiteReleased', schema: bySiteId },
  failed: 'SiteReleaseFailed',
});
export const MarkSiteDeleting = participantCommand({
  type: 'MarkSiteDeleting',
  ...sites,
  schema: bySiteId,
  succeeded: { type: 'SiteMarkedDeleting', schema: bySiteId },
  failed: 'SiteDeletingRejected',
});
export const MarkSiteDeleted = participantCommand({
  type: 'MarkSiteDeleted',
  ...sites,
  schema: bySiteId,
  succeeded: { type: 'SiteMarkedDeleted', schema: bySiteId },
  failed: 'SiteMarkDeletedFailed',
});

// storage
export const ProvisionStorage = participantCommand({
  type: 'ProvisionStorage',
  ...storage,
  schema: bySiteId,
  succeeded: { type: 'StorageProvisioned', schema: z.object({ siteId, path: z.string().max(4096) }).strict() },
  failed: 'StorageProvisioningFailed',
});
export const DeprovisionStorage = participantCommand({
  type: 'DeprovisionStorage',
  ...storage,
  schema: bySiteId,
  succeeded: { type: 'StorageDeprovisioned', schema: bySiteId },
  failed: 'StorageDeprovisioningFailed',
});

// databases
/**
 * `credentials` is the site's database login sealed with SECRETS_KEY (AES-256-GCM):
 * only bootstrap can open it; it never travels or is stored in plaintext.
 */
export const sealedSecret = z
  .string()
  .max(4096)
  .regex(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a sealed secret');
export const ProvisionDatabase = participantCommand({
  type: 'ProvisionDatabase',
  ...databases,
  schema: bySiteId,
  succeeded: {
    type: 'DatabaseProvisioned',
    schema: z.object({ siteId, databaseName: z.string().max(63), roleName: z.string().max(63), credentials: sealedSecret }).strict(),
  },
  failed: 'DatabaseProvisioningFailed',
});
export const DropDatabase = participantCommand({
  type: 'DropDatabase',
  ...databases,
  schema: bySiteId,
  succeeded: { type: 'DatabaseDropped', schema: bySiteId },
  failed: 'DatabaseDropFailed',
});

// bootstrap
export const BootstrapSite = participantCommand({
  type: 'BootstrapSite',
  ...bootstrap,
  schema: z
    .object({
      siteId,
      name: siteName,
      domain: siteDomain,
      tagline: tagline.optional(),
      adminEmail,
      databaseName: z.string().min(1).max(63),
      credentials: sealedSecret,
    })
    .strict(),
  succeeded: { type: 'SiteBootstrapped', schema: z.object({ siteId, adminUser: z.string().max(60) }).strict() },
  failed: 'SiteBootstrapFailed',
});
