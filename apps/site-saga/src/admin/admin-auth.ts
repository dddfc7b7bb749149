import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { SESSION_COOKIE } from '@sitesaga/http-contracts';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ADMIN_OPTIONS = Symbol('ADMIN_OPTIONS');

export interface AdminOptions {
  /** ADMIN_TOKEN: the bearer token of every admin route. Never written to a response or a log. */
  readonly adminToken: string;
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
const sign = (key: string, expires: number): string => createHmac('sha256', key).update(`saga-admin-session.v1.${expires}`).digest('base64url');
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
  private readonly expected: Buffer;

  constructor(private readonly token: string) {
    if (typeof token !== 'string' || token.length === 0) throw new Error('ADMIN_TOKEN must be set to a non-empty value');
    this.expected = digest(token);
  }

  isToken(candidate: unknown): boolean {
    return typeof candidate === 'string' && candidate.length > 0 && candidate.length <= 4096 && timingSafeEqual(digest(candidate), this.expected);
  }

  /** The value of a new session cookie, valid until `now` + the session lifetime. */
  newSession(now = Date.now()): string {
    const expires = Math.floor(now / 1000) + SESSION_TTL_SECONDS;
    return `${expires}.${sign(this.token, expires)}`;
  }

  isSession(value: string | undefined, now = Date.now()): boolean {
    const match = value ? /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
    if (!match?.[1] || !match[2]) return false;
    const expires = Number(match[1]);
    if (expires * 1000 <= now) return false;
    return timingSafeEqual(Buffer.from(match[2]), Buffer.from(sign(this.token, expires)));
  }

  /** How the request proved itself: a bearer header, the session cookie, or not at all. */
  authenticate(headers: RequestHeaders, now = Date.now()): AuthenticatedBy | null {
    const authorization = single(headers.authorization);
    const bearer = authorization ? /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization) : null;
    if (bearer && this.isToken(bearer[1])) return 'bearer';
    if (this.isSession(cookieValue(single(headers.cookie), SESSION_COOKIE), now)) return 'cookie';
    return null;
  }

  sessionCookie(now = Date.now()): string {
    return `${SESSION_COOKIE}=${this.newSession(now)}; Path=/admin; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict`;
  }

  static readonly clearedCookie = `${SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict`;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Every API route: a bearer token or the session cookie; cookie writes need the admin header too. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly authenticator: AdminAuthenticator) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ method: string; headers: RequestHeaders }>();
    const by = this.authenticator.authenticate(request.headers);
    if (!by) throw new UnauthorizedException({ message: 'missing or invalid admin token (Authorization: Bearer <ADMIN_TOKEN>)', errors: [] });
    if (by === 'cookie' && !SAFE_METHODS.has(request.method) && single(request.headers[ADMIN_REQUEST_HEADER]) !== '1') {
      throw new ForbiddenException({ message: `a write with the session cookie needs the ${ADMIN_REQUEST_HEADER}: 1 header`, errors: [] });
    }
    return true;
  }
}

export const adminAuthenticatorProvider = {
  provide: AdminAuthenticator,
  useFactory: (options: AdminOptions) => new AdminAuthenticator(options.adminToken),
  inject: [ADMIN_OPTIONS],
};

