import type { CreateSitePayload } from '@sitesaga/contracts';
import { type SiteRequestAccepted, siteRequestAccepted } from '@sitesaga/http-contracts';
import { displayUrl } from '../cli-config';
import { ConnectionError } from '../cli-errors';
import { type ErrorBody, readJson, refused, unreachable } from '../http/http-failure';

/** `202` of POST /sites and DELETE /sites/:id (libs/http-contracts, sites-api.ts). */
export type { SiteRequestAccepted };

/** The body of POST /sites: the CreateSite command's payload. */
export type CreateSiteRequest = CreateSitePayload;

const TIMEOUT_MS = 15_000;

/** The sites service's public HTTP API (apps/sites/README.md), for `--via http`. */
export class SitesApi {
  private readonly shownUrl: string;

  constructor(
    private readonly baseUrl: string,
    private readonly interrupt: AbortSignal,
  ) {
    this.shownUrl = displayUrl(baseUrl);
  }

  createSite(request: CreateSiteRequest, idempotencyKey?: string): Promise<SiteRequestAccepted> {
    return this.send('POST', '/sites', 'POST /sites', 'the sites API has no POST /sites (is SITES_URL the sites service?)', request, idempotencyKey);
  }

  deleteSite(siteId: string): Promise<SiteRequestAccepted> {
    return this.send('DELETE', `/sites/${encodeURIComponent(siteId)}`, `DELETE /sites/${siteId}`, `site ${siteId} not found`);
  }

  private async send(method: string, path: string, what: string, notFound: string, body?: unknown, idempotencyKey?: string): Promise<SiteRequestAccepted> {
    const hint = 'is the sites service running? set SITES_URL or --sites-url';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([this.interrupt, AbortSignal.timeout(TIMEOUT_MS)]),
      });
    } catch (error) {
      throw unreachable(error, 'the sites API', this.shownUrl, hint, this.interrupt.aborted);
    }
    const answer = (await readJson(response).catch((error: unknown) => {
      throw unreachable(error, 'the sites API', this.shownUrl, hint, this.interrupt.aborted);
    })) as ErrorBody | undefined;
    if (!response.ok) throw refused(response.status, answer, what, notFound);
    // Checked against the API's own shape of the answer.
    const accepted = siteRequestAccepted.safeParse(answer);
    if (!accepted.success) {
      throw new ConnectionError(`${what} on ${this.shownUrl}: unexpected answer (HTTP ${response.status}); is SITES_URL the sites service?`);
    }
    return accepted.data;
  }
}
