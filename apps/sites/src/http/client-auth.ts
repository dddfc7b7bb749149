import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { bearerOf, type HeaderValue, OperatorTokens, parseNamedSecrets } from '@sitesaga/service';
import { createHash } from 'node:crypto';

/**
 * Who calls the sites API: a client (one of SITES_CLIENT_KEYS), which sees and deletes only
 * the sites it created, or an operator (ADMIN_TOKEN, ADMIN_TOKENS), who sees all of them.
 */
export type Caller = { readonly kind: 'client'; readonly clientId: string } | { readonly kind: 'operator'; readonly name: string };

/** The header a client sends: `Authorization: Bearer <key>`, or `X-Api-Key: <key>`. */
export const API_KEY_HEADER = 'x-api-key';

const digestOf = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * The clients' keys, from SITES_CLIENT_KEYS (`acme:<key>,acme:<next key>,globex:<key>`):
 * several per client, so a key is rotated without downtime. Only SHA-256 digests are kept;
 * a presented key is looked up by its digest, so the comparison leaks nothing of a key.
 */
export class ClientKeys {
  private readonly byDigest = new Map<string, string>();

  constructor(keys: readonly { name: string; secret: string }[]) {
    for (const { name, secret } of keys) {
      const digest = digestOf(secret);
      const holder = this.byDigest.get(digest);
      if (holder !== undefined && holder !== name) throw new Error(`SITES_CLIENT_KEYS: one key is given to two clients ("${holder}" and "${name}")`);
      this.byDigest.set(digest, name);
    }
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ClientKeys {
    return new ClientKeys(parseNamedSecrets('SITES_CLIENT_KEYS', env.SITES_CLIENT_KEYS));
  }

  get size(): number {
    return this.byDigest.size;
  }

  clientOf(key: string): string | null {
    if (key.length === 0 || key.length > 4096) return null;
    return this.byDigest.get(digestOf(key)) ?? null;
  }
}

/** Every /sites route: 401 (with WWW-Authenticate) unless the request carries a client key or an operator token. */
@Injectable()
export class SitesAuthGuard implements CanActivate {
  constructor(
    private readonly clients: ClientKeys,
    private readonly operators: OperatorTokens,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<{ headers: Record<string, HeaderValue>; caller?: Caller }>();
    const presented = bearerOf(request.headers.authorization) ?? single(request.headers[API_KEY_HEADER]);
    const caller = presented === undefined ? null : this.identify(presented);
    if (!caller) {
      http.getResponse<{ setHeader(name: string, value: string): void }>().setHeader('WWW-Authenticate', 'Bearer realm="sites"');
      throw new UnauthorizedException({
        message: presented === undefined ? 'authentication required (Authorization: Bearer <client key>)' : 'invalid client key',
        errors: [{ field: 'Authorization', message: presented === undefined ? 'is missing' : 'is not a valid key' }],
      });
    }
    request.caller = caller;
    return true;
  }

  private identify(presented: string): Caller | null {
    const clientId = this.clients.clientOf(presented);
    if (clientId !== null) return { kind: 'client', clientId };
    const operator = this.operators.identify(presented);
    return operator === null ? null : { kind: 'operator', name: operator };
  }
}

const single = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : value)?.trim() || undefined;

/** The caller the guard identified. */
export const CallerOf = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw new UnauthorizedException({ message: 'authentication required', errors: [] });
  return caller;
});
