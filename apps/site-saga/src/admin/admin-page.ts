import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A page with its Content-Security-Policy: inline script and style allowed by hash, nothing else. */
export interface HtmlPage {
  readonly html: string;
  readonly csp: string;
}

const hashesOf = (html: string, tag: 'script' | 'style'): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((match) => `'sha256-${createHash('sha256').update(match[1] ?? '', 'utf8').digest('base64')}'`);

/**
 * A strict policy for a self-contained page: no other origin, no eval, no inline code
 * but the page's own blocks (by hash), API and event stream on this origin only.
 */
export function withPolicy(html: string): HtmlPage {
  const scripts = hashesOf(html, 'script');
  const styles = hashesOf(html, 'style');
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.length > 0 ? scripts.join(' ') : "'none'"}`,
    `style-src ${styles.length > 0 ? styles.join(' ') : "'none'"}`,
    "connect-src 'self'",
    'img-src data:',
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

/**
 * admin-page.html beside this file (copied next to the compiled code by the build), or in
 * the sources when running from dist/ without the copy.
 */
export function loadAdminPage(): HtmlPage {
  const candidates = [join(__dirname, 'admin-page.html'), resolve(__dirname, '..', '..', 'src', 'admin', 'admin-page.html')];
  const file = candidates.find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`admin-page.html not found (looked at ${candidates.join(', ')})`);
  return withPolicy(readFileSync(file, 'utf8'));
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] ?? character);

const LOGIN_STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f4f6f8; color: #1b2430; }
  main { background: #fff; border: 1px solid #d5dbe1; border-radius: 8px; padding: 2rem; width: min(24rem, 90vw); box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h1 { font-size: 1.25rem; margin: 0 0 .25rem; }
  p { margin: 0 0 1.25rem; color: #4a5563; }
  label { display: block; font-weight: 600; margin-bottom: .375rem; }
  input { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem .625rem; border: 1px solid #8a96a3; border-radius: 4px; }
  input:focus, button:focus { outline: 3px solid #1d64c8; outline-offset: 1px; }
  button { margin-top: 1rem; width: 100%; font: inherit; font-weight: 600; padding: .55rem; border: 0; border-radius: 4px; background: #1d4fa3; color: #fff; cursor: pointer; }
  .error { color: #a4161a; font-weight: 600; }
`;

/** The small form `GET /admin` answers (401) to a browser without a session. */
export function loginPage(error: string | null = null): HtmlPage {
  return withPolicy(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · site-saga admin</title>
<link rel="icon" href="data:,">
<style>${LOGIN_STYLE}</style>
</head>
<body>
<main>
  <h1>site-saga admin</h1>
  <p>Enter the admin token (ADMIN_TOKEN) to watch and steer sagas.</p>
  ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
  <form method="post" action="/admin/session">
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <button type="submit">Sign in</button>
  </form>
</main>
</body>
</html>
`);
}
