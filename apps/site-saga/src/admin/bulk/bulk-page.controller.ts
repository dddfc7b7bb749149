import { Controller, Get, Req, Res, UseFilters } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { AdminAuthenticator, type RequestHeaders } from '../admin-auth';
import { AdminErrorsFilter } from '../admin-errors.filter';
import { type HtmlPage, loginPage, withPolicy } from '../admin-page';
import { SessionRevocations } from '../session-revocations';

/** bulk-page.html beside this file, or in the sources when running from dist/. */
export function loadBulkPage(): HtmlPage {
  const candidates = [join(__dirname, 'bulk-page.html'), resolve(__dirname, '..', '..', '..', 'src', 'admin', 'bulk', 'bulk-page.html')];
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`bulk-page.html not found (looked at ${candidates.join(', ')})`);
  return withPolicy(readFileSync(file, 'utf8'));
}

/** `GET /admin/bulk`: the bulk operations and audit log page, same sign-in as `/admin` (its form returns to /admin). */
@Controller('admin')
@UseFilters(AdminErrorsFilter)
export class BulkPageController {
  private readonly page = loadBulkPage();
  private readonly login = loginPage();

  constructor(
    private readonly authenticator: AdminAuthenticator,
    private readonly revocations: SessionRevocations,
  ) {}

  @Get('bulk')
  async show(@Req() request: { headers: RequestHeaders }, @Res() response: ServerResponse): Promise<void> {
    const by = this.authenticator.authenticate(request.headers);
    const session = by === 'cookie' ? this.authenticator.sessionOfRequest(request.headers) : null;
    const signedIn = by === 'bearer' || (session !== null && !(await this.revocations.isRevoked(session.id)));
    const page = signedIn ? this.page : this.login;
    response.writeHead(signedIn ? 200 : 401, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': page.csp, 'Cache-Control': 'no-store' });
    response.end(page.html);
  }
}
