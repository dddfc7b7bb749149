import { z } from 'zod';

/**
 * Names and domains are compared in one canonical form: NFKC-normalised, lower case,
 * ASCII only. NFKC folds look-alikes such as full-width letters onto their ASCII form
 * (so they collide with the site they imitate and are refused as taken); anything still
 * outside ASCII after that (Cyrillic "а" posing as Latin "a") is refused outright, so a
 * name can neither collide with nor impersonate another. Internationalised domains are
 * accepted in their ASCII (punycode, `xn--`) form.
 */
export const canonicalIdentity = (value: string): string => value.normalize('NFKC').trim().toLowerCase();

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const siteName = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .max(200, 'must be a DNS label of 3 to 63 characters')
  .transform(canonicalIdentity)
  .superRefine((name, ctx) => {
    if (!/^[\x20-\x7e]*$/.test(name)) ctx.addIssue({ code: 'custom', message: 'must contain only ASCII letters, digits and hyphens' });
    else if (name.length < 3 || name.length > 63) ctx.addIssue({ code: 'custom', message: 'must be 3 to 63 characters' });
    else if (!LABEL.test(name))
      ctx.addIssue({ code: 'custom', message: 'must be lowercase letters, digits and hyphens, not starting or ending with a hyphen' });
  });

export const siteDomain = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .max(300, 'must be at most 253 characters')
  .transform((value) => canonicalIdentity(value).replace(/\.$/, ''))
  .superRefine((domain, ctx) => {
    if (!/^[\x20-\x7e]*$/.test(domain)) {
      ctx.addIssue({ code: 'custom', message: 'must be ASCII (give an internationalised domain in its xn-- form)' });
      return;
    }
    if (domain.length < 3 || domain.length > 253) {
      ctx.addIssue({ code: 'custom', message: 'must be 3 to 253 characters' });
      return;
    }
    const labels = domain.split('.');
    if (labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
      ctx.addIssue({ code: 'custom', message: 'must be a valid host name such as blog.example.com' });
    }
  });

export const adminEmail = z
  .string({ invalid_type_error: 'must be a string', required_error: 'is required' })
  .max(254, 'must be at most 254 characters')
  .transform((value) => value.normalize('NFKC').trim())
  .pipe(z.string().email('must be an email address'));

export const tagline = z
  .string({ invalid_type_error: 'must be a string' })
  .max(200, 'must be at most 200 characters')
  .transform((value) => value.normalize('NFC').trim())
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');
