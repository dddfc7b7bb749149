import { z } from 'zod';
import { unstorableTextReason } from '@sitesaga/message-kit';

/**
 * How long each client field may be: no longer than the narrowest column it lands in, so
 * that an input accepted here is never refused by a participant's database attempts later
 * (a 200-character domain used to fail 25 bootstrap attempts deep).
 * - `name`: a DNS label (SPEC.md); sites.name CHECK `{3,63}`.
 * - `domain`: bootstrap writes the admin's `user_url` = `https://<domain>` into WordPress'
 *   `users.user_url varchar(100)` (apps/bootstrap/src/domain/wordpress-schema.ts), so a
 *   domain has at most 100 - 8 = 92 characters. We keep WordPress' column sizes (a site's
 *   schema is WordPress', exported and imported as such) and limit the contract instead.
 * - `adminEmail`: WordPress' `users.user_email varchar(100)`.
 * - `tagline`: WordPress' `blogdescription` option (text) and sites.tagline (text).
 * apps/bootstrap's wordpress-schema.spec.ts checks these against the schema.
 */
export const SITE_LIMITS = { name: 63, domain: 92, adminEmail: 100, tagline: 200 } as const;

/**
 * The canonical form a name or domain was once silently rewritten to (NFKC, trimmed,
 * lower case). Names are refused, never rewritten: a site is created under the name sent
 * or not at all. This form is only offered back as a suggestion ("did you mean …?"), and
 * only when it is itself valid, so a suggestion never quotes anything but letters,
 * digits, hyphens and dots.
 */
export const canonicalIdentity = (value: string): string => value.normalize('NFKC').trim().toLowerCase();

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

const isSiteName = (name: string): boolean => name.length >= 3 && name.length <= SITE_LIMITS.name && LABEL.test(name);

const isHostName = (domain: string): boolean => {
  if (domain.length < 3 || domain.length > SITE_LIMITS.domain) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((label) => LABEL.test(label)) && !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
};

const didYouMean = (suggestion: string): string => ` (did you mean "${suggestion}"?)`;

/**
 * A site name: a DNS label as sent (SPEC.md), lowercase letters, digits and hyphens, 3 to
 * 63 characters. Non-ASCII is refused outright (Cyrillic "а" posing as Latin "a" can
 * neither collide with nor impersonate another name).
 */
export const siteName = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .max(SITE_LIMITS.name, `must be 3 to ${SITE_LIMITS.name} characters`)
  .superRefine((name, ctx) => {
    if (name.length > SITE_LIMITS.name || isSiteName(name)) return; // too long: said by max()
    const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
    const unstorable = unstorableTextReason(name);
    const canonical = canonicalIdentity(name);
    if (canonical !== name && isSiteName(canonical)) {
      return refuse(`must be lowercase letters, digits and hyphens${didYouMean(canonical)}`);
    }
    if (unstorable) return refuse(unstorable);
    if (!ASCII_PRINTABLE.test(name)) return refuse('must contain only ASCII letters, digits and hyphens');
    if (name.length < 3 || name.length > SITE_LIMITS.name) return refuse(`must be 3 to ${SITE_LIMITS.name} characters`);
    refuse('must be lowercase letters, digits and hyphens, not starting or ending with a hyphen');
  });

/**
 * A site's domain: a lowercase ASCII host name as sent, without a trailing dot
 * (internationalised domains in their `xn--` form), at most SITE_LIMITS.domain characters.
 * Upper case, surrounding spaces, full-width letters and a trailing dot are refused with
 * the canonical form as a suggestion, never rewritten: the domain stored, configured and
 * served is the one the client sent.
 */
export const siteDomain = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .max(SITE_LIMITS.domain, `must be 3 to ${SITE_LIMITS.domain} characters`)
  .superRefine((domain, ctx) => {
    if (domain.length > SITE_LIMITS.domain || isHostName(domain)) return;
    const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
    const unstorable = unstorableTextReason(domain);
    const canonical = canonicalIdentity(domain).replace(/\.$/, '');
    if (canonical !== domain && isHostName(canonical)) {
      return refuse(`must be a lowercase host name without spaces or a trailing dot${didYouMean(canonical)}`);
    }
    if (unstorable) return refuse(unstorable);
    if (!ASCII_PRINTABLE.test(domain)) return refuse('must be ASCII (give an internationalised domain in its xn-- form)');
    if (domain.length < 3 || domain.length > SITE_LIMITS.domain) return refuse(`must be 3 to ${SITE_LIMITS.domain} characters`);
    refuse('must be a valid host name such as blog.example.com');
  });

const email = z.string().email();
const isEmail = (value: string): boolean => value.length <= SITE_LIMITS.adminEmail && email.safeParse(value).success;

/**
 * The admin's address, as sent: surrounding spaces or full-width characters are refused
 * with the cleaned-up address as a suggestion (it is not rewritten: it is where the
 * customer's mail goes). Case is kept: the local part of an address may be case-sensitive.
 */
export const adminEmail = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .max(SITE_LIMITS.adminEmail, `must be at most ${SITE_LIMITS.adminEmail} characters`)
  .superRefine((value, ctx) => {
    if (value.length > SITE_LIMITS.adminEmail || isEmail(value)) return;
    const refuse = (message: string) => ctx.addIssue({ code: 'custom', message });
    const cleaned = value.normalize('NFKC').trim();
    if (cleaned !== value && isEmail(cleaned)) return refuse(`must be an email address without spaces${didYouMean(cleaned)}`);
    const unstorable = unstorableTextReason(value);
    if (unstorable) return refuse(unstorable);
    refuse('must be an email address');
  });

/** Free text: kept as sent (no control characters, at most SITE_LIMITS.tagline characters). */
export const tagline = z
  .string({ invalid_type_error: 'must be a string' })
  .max(SITE_LIMITS.tagline, `must be at most ${SITE_LIMITS.tagline} characters`)
  .superRefine((value, ctx) => {
    const unstorable = value.length <= SITE_LIMITS.tagline ? unstorableTextReason(value) : null;
    if (unstorable) ctx.addIssue({ code: 'custom', message: unstorable });
  });
