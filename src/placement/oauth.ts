// OAuth2 for seeds (Outlook.com refuses passwords over IMAP/POP since 2024): a seed
// with refreshToken + clientId + tokenUrl gets a fresh access token once per run
// (RFC 6749 §6), registered for redaction before anything else sees it.
import { registerSecret } from '../util/redact.ts';
import type { SeedAuth } from './types.ts';

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

const cache = new Map<string, Promise<string>>();

/** The access token for a seed, or undefined when it logs in with a password. */
export function accessTokenFor(auth: SeedAuth, timeoutMs = 15_000): Promise<string | undefined> {
  if (auth.accessToken) return Promise.resolve(auth.accessToken);
  if (!auth.refreshToken) return Promise.resolve(undefined);
  const key = `${auth.tokenUrl}\n${auth.clientId}\n${auth.refreshToken}`;
  let p = cache.get(key);
  if (!p) {
    p = refresh(auth, timeoutMs);
    cache.set(key, p);
    // a failure is not cached: a later run (or `r` in the dashboard) tries again
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function refresh(auth: SeedAuth, timeoutMs: number): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: auth.refreshToken!, client_id: auth.clientId! });
  if (auth.clientSecret) form.set('client_secret', auth.clientSecret);
  if (auth.scope) form.set('scope', auth.scope);
  let res: Response;
  try {
    res = await fetch(auth.tokenUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const cause = (e as any)?.cause?.code ?? (e as any)?.cause?.message ?? (e as Error).message;
    throw new AuthError(`OAuth2 token refresh at ${auth.tokenUrl} failed: ${cause}`);
  }
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AuthError(`OAuth2 token refresh at ${auth.tokenUrl}: HTTP ${res.status}, not a JSON answer`);
  }
  if (typeof body?.access_token === 'string' && body.access_token) registerSecret(body.access_token);
  if (typeof body?.refresh_token === 'string') registerSecret(body.refresh_token);
  if (!res.ok || typeof body?.access_token !== 'string' || !body.access_token) {
    const why = [body?.error, body?.error_description].filter((x) => typeof x === 'string').join(': ');
    throw new AuthError(`OAuth2 token refresh at ${auth.tokenUrl} was refused: HTTP ${res.status}${why ? ` ${why}` : ''} (renew the seed's refresh token, or check clientId/scope)`);
  }
  return body.access_token;
}
