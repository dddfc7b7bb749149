import { randomUUID } from 'node:crypto';
import { CreateSite, DeleteSite, type Envelope } from '@sitesaga/contracts';
import type { SagaDetail } from '@sitesaga/http-contracts';
import type { RehearsalPorts, Subject } from './rehearsal-runner';
import { ACTIVE_SITE, NO_SITE } from './site-effects';

/** How the rehearsal reaches the site platform: send a client command to site-saga.commands, read a saga. */
export interface SiteCommandChannel {
  send(envelope: Envelope): Promise<void>;
  detail(sagaId: string): Promise<SagaDetail | null>;
}

export const REHEARSED_SAGAS = ['CreateSite', 'DeleteSite'] as const;

/**
 * The subjects of the site sagas: every case gets a site of its own (a new site id, the
 * fault rules' `match`); a DeleteSite case first creates its site, without faults, and
 * waits for it to be ACTIVE.
 */
export function siteSubjects(
  channel: SiteCommandChannel,
  options: { readonly setupTimeoutMs: number; readonly sleep: (ms: number) => Promise<void>; readonly now: () => number },
): Pick<RehearsalPorts, 'prepare' | 'start'> {
  const createSite = async (siteId: string, label: string): Promise<void> => {
    const name = `rh-${label}-${siteId.slice(0, 8)}`.toLowerCase();
    await channel.send(
      CreateSite.create({ name, domain: `${name}.rehearsal.example.com`, adminEmail: 'rehearsal@example.com' }, { sagaId: siteId, correlationId: randomUUID(), causationId: null }),
    );
  };
  return {
    async prepare(sagaType: string, label: string): Promise<Subject> {
      const siteId = randomUUID();
      if (sagaType === 'CreateSite') return { key: siteId, match: siteId, baseline: NO_SITE };
      if (sagaType !== 'DeleteSite') throw new Error(`no way to start a ${sagaType} saga here (the rehearsal knows ${REHEARSED_SAGAS.join(', ')})`);
      // A site of its own, created without faults; a creation that did not complete (a
      // participant restarting under another case) is tried again with a new site.
      for (let attempt = 1; ; attempt += 1) {
        const id = attempt === 1 ? siteId : randomUUID();
        await createSite(id, label);
        const until = options.now() + options.setupTimeoutMs;
        let detail: SagaDetail | null = null;
        while (!(detail && ['COMPLETED', 'COMPENSATED', 'FAILED'].includes(detail.status)) && options.now() <= until) {
          await options.sleep(300);
          detail = await channel.detail(id).catch(() => detail);
        }
        if (detail?.status === 'COMPLETED') return { key: id, match: id, baseline: ACTIVE_SITE };
        if (attempt >= 3) {
          throw new Error(`the site to delete was not created (its CreateSite saga ${detail ? `ended ${detail.status}` : 'was not seen'}, ${attempt} tries)`);
        }
      }
    },
    async start(sagaType: string, subject: Subject): Promise<string> {
      if (sagaType === 'CreateSite') {
        await createSite(subject.key, 'c');
        return subject.key; // a create-site saga's id is its site id
      }
      const sagaId = randomUUID();
      await channel.send(DeleteSite.create({ siteId: subject.key }, { sagaId, correlationId: randomUUID(), causationId: null }));
      return sagaId;
    },
  };
}
