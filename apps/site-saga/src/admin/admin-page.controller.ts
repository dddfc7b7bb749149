import { Controller, Delete, Get, Inject, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ADMIN_REQUEST_HEADER, AdminAuthenticator, overTls, type RequestHeaders } from './admin-auth';
import { addressOf, FailedAttempts } from './failed-attempts';
import { SagaStream } from './saga-stream';
import { SessionRevocations } from './session-revocations';
import { AdminErrorsFilter } from './admin-errors.filter';
import { type HtmlPage, loginPage } from './admin-page';

export const ADMIN_PAGE = Symbol('ADMIN_PAGE');

const sendHtml = (response: ServerResponse, status: number, page: HtmlPage): void => {
  response.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': page.csp,
    'Cache-Control': 'no-store',
  });
  response.end(page.html);
};

const FORM_LIMIT = 8 * 1024;

/**
 * The login form's `token` field: from the body the host's parser made (urlencoded or
 * JSON), or read here when the host parses no urlencoded bodies.
 */
async function formToken(request: IncomingMessage & { body?: unknown }): Promise<unknown> {
  if (typeof request.body === 'object' && request.body !== null) return (request.body as { token?: unknown }).token;
  if (request.body !== undefined || request.readableEnded || !/^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')) return undefined;
  let form = '';
  for await (const chunk of request as AsyncIterable<Buffer>) {
    form += chunk.toString('utf8');
    if (form.length > FORM_LIMIT) return undefined;
  }
  return new URLSearchParams(form).get('token') ?? undefined;
}

/**
 * The page for people. Without credentials `GET /admin` answers 401 with a login form;
 * the form posts the token once and gets a session cookie (HttpOnly, SameSite=Strict,
 * Path=/admin) that the page's fetch and EventSource calls carry from then on.
 */
@Controller('admin')
@UseFilters(AdminErrorsFilter)
export class AdminPageController {
  private readonly login = loginPage();
  private readonly wrongToken = loginPage('That token is not right.');
  private readonly tooMany = loginPage('Too many wrong tokens from this address: wait a while, then try again.');

  constructor(
    private readonly authenticator: AdminAuthenticator,
    @Inject(ADMIN_PAGE) private readonly page: HtmlPage,
    private readonly failures: FailedAttempts,
    private readonly revocations: SessionRevocations,
    private readonly stream: SagaStream,
  ) {}

  @Get()
  async show(@Req() request: { headers: RequestHeaders }, @Res() response: ServerResponse): Promise<void> {
    const by = this.authenticator.authenticate(request.headers);
    const session = by === 'cookie' ? this.authenticator.sessionOfRequest(request.headers) : null;
    const signedIn = by === 'bearer' || (session !== null && !(await this.revocations.isRevoked(session.id)));
    sendHtml(response, signedIn ? 200 : 401, signedIn ? this.page : this.login);
  }

  @Post('session')
  async signIn(@Req() request: IncomingMessage & { body?: unknown }, @Res() response: ServerResponse): Promise<void> {
    const address = addressOf(request);
    const wait = await this.failures.blockedFor(address);
    if (wait > 0) {
      // Refused before the token is even read: a blocked address learns nothing by guessing.
      response.setHeader('Retry-After', String(wait));
      sendHtml(response, 429, this.tooMany);
      return;
    }
    const token = await formToken(request);
    const operator = this.authenticator.operatorOf(token);
    if (operator === null) {
      await this.failures.fail(address);
      sendHtml(response, 401, this.wrongToken);
      return;
    }
    await this.failures.succeed(address);
    const secure = overTls(request as IncomingMessage & { socket: { encrypted?: boolean } });
    response.writeHead(303, { Location: '/admin', 'Set-Cookie': this.authenticator.sessionCookie(Date.now(), secure, operator), 'Cache-Control': 'no-store' });
    response.end();
  }

  /**
   * Ends the session everywhere: recorded as revoked (every replica refuses its cookie from
   * now on) and its open streams closed, here at once and on other replicas within seconds.
   */
  @Delete('session')
  async signOut(@Req() request: { headers: RequestHeaders }, @Res() response: ServerResponse): Promise<void> {
    // Same rule as any cookie write: only the page itself can end its session.
    const fromPage = request.headers[ADMIN_REQUEST_HEADER] === '1';
    const session = fromPage ? this.authenticator.sessionOfRequest(request.headers) : null;
    if (session) {
      await this.revocations.revoke(session);
      this.stream.endSession(session.id);
    }
    response.writeHead(fromPage ? 204 : 403, fromPage ? { 'Set-Cookie': AdminAuthenticator.clearedCookie } : {});
    response.end();
  }
}
