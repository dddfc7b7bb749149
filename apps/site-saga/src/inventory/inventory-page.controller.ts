import { Controller, Get, Inject, Req, Res, UseFilters } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { AdminAuthenticator, type RequestHeaders, TooManyFailedAttempts } from '../admin/admin-auth';
import { addressOf, FailedAttempts } from '../admin/failed-attempts';
import { AdminErrorsFilter } from '../admin/admin-errors.filter';
import { type HtmlPage, loginPage, withPolicy } from '../admin/admin-page';
import { SessionRevocations } from '../admin/session-revocations';

export const INVENTORY_PAGE = Symbol('INVENTORY_PAGE');

/** inventory-page.html beside this file (copied by the build), or in the sources when running from dist/ without the copy. */
export function loadInventoryPage(): HtmlPage {
  const candidates = [join(__dirname, 'inventory-page.html'), resolve(__dirname, '..', '..', 'src', 'inventory', 'inventory-page.html')];
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`inventory-page.html not found (looked at ${candidates.join(', ')})`);
  return withPolicy(readFileSync(file, 'utf8'));
}

/** Same headers as the admin page (strict CSP by hash, no store). */
const sendHtml = (response: ServerResponse, status: number, page: HtmlPage): void => {
  response.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': page.csp, 'Cache-Control': 'no-store' });
  response.end(page.html);
};

/**
 * `GET /admin/inventory`: the page for the site view (search box → everything about a
 * site, live) and the orphan audit with its dry run and repair. Signed in as for /admin
 * (the session cookie or a bearer token); otherwise the sign-in form.
 */
@Controller('admin')
@UseFilters(AdminErrorsFilter)
export class InventoryPageController {
  private readonly login = loginPage();

  constructor(
    private readonly authenticator: AdminAuthenticator,
    private readonly revocations: SessionRevocations,
    private readonly failures: FailedAttempts,
    @Inject(INVENTORY_PAGE) private readonly page: HtmlPage,
  ) {}

  @Get('inventory')
  async show(@Req() request: { headers: RequestHeaders; socket?: { remoteAddress?: string } }, @Res() response: ServerResponse): Promise<void> {
    // A bearer attempt counts as on every admin route: a blocked address is refused first.
    const address = addressOf(request);
    const triesBearer = request.headers.authorization !== undefined;
    const wait = triesBearer ? await this.failures.blockedFor(address) : 0;
    if (wait > 0) {
      response.setHeader('Retry-After', String(wait));
      throw new TooManyFailedAttempts(wait);
    }
    const by = this.authenticator.authenticate(request.headers);
    if (triesBearer) {
      if (by === 'bearer') await this.failures.succeed(address);
      else if (!by) await this.failures.fail(address);
    }
    const session = by === 'cookie' ? this.authenticator.sessionOfRequest(request.headers) : null;
    const signedIn = by === 'bearer' || (session !== null && !(await this.revocations.isRevoked(session.id)));
    sendHtml(response, signedIn ? 200 : 401, signedIn ? this.page : this.login);
  }
}
