import { type CanActivate, type ExecutionContext, ForbiddenException, HttpException, HttpStatus, Injectable, UnauthorizedException } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { SESSION_COOKIE } from '@sitesaga/http-contracts';
import type { DataSource } from 'typeorm';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { addressOf, FailedAttempts } from './failed-attempts';
import { SessionRevocations } from './session-revocations';

export const ADMIN_OPTIONS = Symbol('ADMIN_OPTIONS');

export interface AdminOptions {
  /** ADMIN_TOKEN: the bearer token of every admin route. Never written to a response or a log. */
  readonly adminToken: string;
  /** Named operator tokens (ADMIN_TOKENS), accepted as ADMIN_TOKEN is; the name is recorded with what the operator did. */
  readonly namedTokens?: readonly { readonly name: string; readonly secret: string }[];
  /** Failed sign-ins or bearer attempts per client address before it is refused for a while. Default 10 in 15 minutes. */
  readonly failedAttempts?: { readonly limit: number; readonly windowMs: number };
}

export const DEFAULT_FAILED_ATTEMPTS = { limit: 10, windowMs: 15 * 60_000 } as const;

/** 429 for an address that failed too often; `Retry-After` says when it may try again. */
export class TooManyFailedAttempts extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super({ message: 'too many failed attempts from this address; try again later', errors: [] }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** The cookie the login form sets so a browser (and its EventSource) can use the API. */
export { SESSION_COOKIE };
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
/**
 * A write authenticated by the cookie must carry this header. The cookie is already
 * SameSite=Strict; a custom header also needs a CORS preflight no other origin passes.
 */
export const ADMIN_REQUEST_HEADER = 'x-admin-request';

export type AuthenticatedBy = 'bearer' | 'cookie';

export interface RequestHeaders {
  readonly [name: string]: string | string[] | undefined;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
const sign = (key: string, expires: number, id: string, operator: string): string =>
  createHmac('sha256', key).update(`saga-admin-session.v3.${expires}.${id}.${operator}`).digest('base64url');

/** A signed-in browser: its session id (revocable server-side, see SessionRevocations) and when it ends. */
export interface AdminSession {
  readonly id: string;
  readonly expires: Date;
  /** Who signed in: `admin` (ADMIN_TOKEN) or the name of an ADMIN_TOKENS token. */
  readonly operator: string;
}
const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/**
 * Who may use the admin endpoint. The token is compared in constant time (both sides
 * hashed first, so their lengths leak nothing either). The session cookie holds no token:
 * it is an expiry signed with the token as HMAC key, so every replica that shares
 * ADMIN_TOKEN accepts it, and changing the token ends every session.
 */
export class AdminAuthenticator {
  private readonly expected: readonly { readonly name: string; readonly digest: Buffer }[];

  constructor(
    private readonly token: string,
    named: readonly { readonly name: string; readonly secret: string }[] = [],
  ) {
    if (typeof token !== 'string' || token.length === 0) throw new Error('ADMIN_TOKEN must be set to a non-empty value');
    this.expected = [{ name: 'admin', digest: digest(token) }, ...named.map(({ name, secret }) => ({ name, digest: digest(secret) }))];
  }

  /** The operator a token belongs to (`admin` for ADMIN_TOKEN), or null. Every token is compared, in constant time. */
  operatorOf(candidate: unknown): string | null {
    if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 4096) return null;
    const presented = digest(candidate);
    let found: string | null = null;
    for (const { name, digest: expected } of this.expected) if (timingSafeEqual(presented, expected) && found === null) found = name;
    return found;
  }

  isToken(candidate: unknown): boolean {
    return this.operatorOf(candidate) !== null;
  }

  /** Who the request acts for: the bearer token's operator, else the session's; null when neither proves anything. */
  operatorOfRequest(headers: RequestHeaders, now = Date.now()): string | null {
    const authorization = single(headers.authorization);
    const bearer = authorization ? /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization) : null;
    return (bearer ? this.operatorOf(bearer[1]) : null) ?? this.sessionOfRequest(headers, now)?.operator ?? null;
  }

  /** The value of a new session cookie: an expiry, a random session id, their signature. Valid until `now` + the session lifetime. */
  newSession(now = Date.now(), operator = 'admin'): string {
    const expires = Math.floor(now / 1000) + SESSION_TTL_SECONDS;
    const id = randomBytes(16).toString('base64url');
    return `${expires}.${id}.${Buffer.from(operator, 'utf8').toString('base64url')}.${sign(this.token, expires, id, operator)}`;
  }

  /** The session a cookie value names, when it is signed with this token and not expired (revocation is checked apart). */
  sessionOf(value: string | undefined, now = Date.now()): AdminSession | null {
    const match = value ? /^(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{1,88})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!match?.[1] || !match[2] || !match[3] || !match[4]) return null;
    const expires = Number(match[1]);
    if (expires * 1000 <= now) return null;
    const operator = Buffer.from(match[3], 'base64url').toString('utf8');
    if (!timingSafeEqual(Buffer.from(match[4]), Buffer.from(sign(this.token, expires, match[2], operator)))) return null;
    return { id: match[2], expires: new Date(expires * 1000), operator };
  }

  isSession(value: string | undefined, now = Date.now()): boolean {
    return this.sessionOf(value, now) !== null;
  }

  /** The session of a request's cookie, if it carries a valid one. */
  sessionOfRequest(headers: RequestHeaders, now = Date.now()): AdminSession | null {
    return this.sessionOf(cookieValue(single(headers.cookie), SESSION_COOKIE), now);
  }

  /** How the request proved itself: a bearer header, the session cookie, or not at all. */
  authenticate(headers: RequestHeaders, now = Date.now()): AuthenticatedBy | null {
    const authorization = single(headers.authorization);
    const bearer = authorization ? /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization) : null;
    if (bearer && this.isToken(bearer[1])) return 'bearer';
    if (this.isSession(cookieValue(single(headers.cookie), SESSION_COOKIE), now)) return 'cookie';
    return null;
  }

  /** `secure`: the page was reached over TLS (directly or through a proxy that says so): the cookie never travels in clear. */
  sessionCookie(now = Date.now(), secure = false, operator = 'admin'): string {
    return `${SESSION_COOKIE}=${this.newSession(now, operator)}; Path=/admin; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  static readonly clearedCookie = `${SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict`;
}

/**
 * Whether the request came over TLS: its own socket, or a proxy's `X-Forwarded-Proto:
 * https`. Trusting the header only ever adds `Secure` to a cookie, never takes it away.
 */
export function overTls(request: { headers: RequestHeaders; socket?: { encrypted?: boolean } }): boolean {
  if (request.socket?.encrypted === true) return true;
  return single(request.headers['x-forwarded-proto'])?.split(',')[0]?.trim().toLowerCase() === 'https';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Every API route: a bearer token or the session cookie; cookie writes need the admin header too. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: AdminAuthenticator,
    private readonly failures: FailedAttempts,
    private readonly revocations: SessionRevocations,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<{ method: string; headers: RequestHeaders; socket?: { remoteAddress?: string } }>();
    const address = addressOf(request);
    const triesBearer = single(request.headers.authorization) !== undefined;
    if (triesBearer) {
      const wait = await this.failures.blockedFor(address);
      if (wait > 0) {
        http.getResponse<{ setHeader(name: string, value: string): void }>().setHeader('Retry-After', String(wait));
        throw new TooManyFailedAttempts(wait);
      }
    }
    const by = this.authenticator.authenticate(request.headers);
    if (triesBearer) {
      if (by === 'bearer') await this.failures.succeed(address);
      else if (!by) await this.failures.fail(address);
    }
    if (!by) throw new UnauthorizedException({ message: 'missing or invalid admin token (Authorization: Bearer <ADMIN_TOKEN>)', errors: [] });
    if (by === 'cookie') {
      const session = this.authenticator.sessionOfRequest(request.headers);
      if (!session || (await this.revocations.isRevoked(session.id))) {
        throw new UnauthorizedException({ message: 'this session was signed out; sign in again', errors: [] });
      }
    }
    if (by === 'cookie' && !SAFE_METHODS.has(request.method) && single(request.headers[ADMIN_REQUEST_HEADER]) !== '1') {
      throw new ForbiddenException({ message: `a write with the session cookie needs the ${ADMIN_REQUEST_HEADER}: 1 header`, errors: [] });
    }
    return true;
  }
}

export const failedAttemptsProvider = {
  provide: FailedAttempts,
  useFactory: (options: AdminOptions, dataSource: DataSource) => {
    const { limit, windowMs } = options.failedAttempts ?? DEFAULT_FAILED_ATTEMPTS;
    return new FailedAttempts(dataSource, limit, windowMs);
  },
  inject: [ADMIN_OPTIONS, getDataSourceToken()],
};

export const adminAuthenticatorProvider = {
  provide: AdminAuthenticator,
  useFactory: (options: AdminOptions) => new AdminAuthenticator(options.adminToken, options.namedTokens ?? []),
  inject: [ADMIN_OPTIONS],
};

