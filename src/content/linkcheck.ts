// `--check-links`: does every link of the message answer, and over HTTPS?
// https links go through src/net/https.ts (names resolved by the run's DNS, TLS
// verified, --ca-file, https-only redirects, bounded time); plain-http links
// are insecure by definition and only asked whether they answer at all (HEAD,
// GET when HEAD is refused). A cap on links in flight and on links in total.
// Unsubscribe links are never requested: some senders unsubscribe on any
// request, and the user's subscription is not ours to cancel.
import type { DnsClient } from '../dns/resolver.ts';
import { httpsGet, type HttpsSettings } from '../net/https.ts';
import { mapLimit } from '../util/semaphore.ts';

export interface LinkCheck {
  url: string;
  /** HTTP status of the final answer */
  status?: number;
  /** where the redirects ended, when different from url */
  finalUrl?: string;
  /** why no usable answer came (no such host, refused, TLS failure, redirect to http) */
  error?: string;
  /** the failure proves nothing about the link (timeout, DNS failure) */
  unknown?: boolean;
  /** the link, or a redirect it leads to, is plain http */
  insecure: boolean;
}

export interface LinkCheckOptions {
  dns: DnsClient;
  https: HttpsSettings;
  timeoutMs: number;
  concurrency: number;
  /** at most this many distinct URLs are requested */
  max: number;
  signal?: AbortSignal;
}

export const UNSUBSCRIBE_WORDS = /unsubscribe|opt[\s_-]?out|abmelden|abbestellen|d[ée]sabonn|d[ée]sinscri|darse de baja|cancelar (la )?suscripci|disiscriv|uitschrijven|afmelden|avregistrer|wypisz|отписат|manage (your )?(email |mail |subscription )?preferences|email preferences|subscription preferences/i;

const MAX_REDIRECTS = 5;

async function checkHttps(url: string, o: LinkCheckOptions): Promise<LinkCheck> {
  // Range keeps the download to a byte where servers honour it; the helper has no HEAD
  const r = await httpsGet(url, { dns: o.dns, settings: o.https, timeoutMs: o.timeoutMs, maxRedirects: MAX_REDIRECTS, maxBytes: 4 * 1024 * 1024, headers: { range: 'bytes=0-0' }, signal: o.signal });
  if (r.ok) return { url, status: r.status, ...(r.url !== url ? { finalUrl: r.url } : {}), insecure: false };
  if (r.kind === 'too-large') return { url, status: 200, insecure: false };
  const toHttp = /redirect to a non-HTTPS URL (\S+)/.exec(r.error);
  if (toHttp) return { url, finalUrl: toHttp[1]!, insecure: true };
  return { url, error: r.error, ...(r.unknown ? { unknown: true } : {}), insecure: false };
}

async function checkHttp(url: string, o: LinkCheckOptions): Promise<LinkCheck> {
  const attempt = async (method: 'HEAD' | 'GET') => {
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const res = await fetch(url, {
      method,
      redirect: 'follow',
      headers: { 'user-agent': 'inboxlens link check', ...(method === 'GET' ? { range: 'bytes=0-0' } : {}) },
      signal: o.signal ? AbortSignal.any([timeout, o.signal]) : timeout,
    });
    // the body is never needed: release the connection at once
    await res.body?.cancel().catch(() => {});
    return res;
  };
  try {
    let res = await attempt('HEAD');
    // many servers and CDNs refuse HEAD although GET works
    if (res.status === 405 || res.status === 501 || res.status === 403) res = await attempt('GET');
    return { url, status: res.status, ...(res.url && res.url !== url ? { finalUrl: res.url } : {}), insecure: true };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return { url, error: `no answer within ${o.timeoutMs} ms`, unknown: true, insecure: true };
    const code = err.cause?.code;
    const unknown = code === 'EAI_AGAIN' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
    const text = code === 'ENOTFOUND' ? 'the host name does not resolve (ENOTFOUND)' : code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : code ?? err.cause?.message ?? err.message;
    return { url, error: text, ...(unknown ? { unknown: true } : {}), insecure: true };
  }
}

/** Check the distinct URLs (unsubscribe links excluded); returns the checks and what was skipped. */
export async function checkLinks(links: { url: string; text: string }[], o: LinkCheckOptions): Promise<{ checks: LinkCheck[]; skipped: { url: string; reason: string }[] }> {
  const skipped: { url: string; reason: string }[] = [];
  const urls: string[] = [];
  const seen = new Set<string>();
  for (const l of links) {
    if (seen.has(l.url)) continue;
    seen.add(l.url);
    if (UNSUBSCRIBE_WORDS.test(l.url) || UNSUBSCRIBE_WORDS.test(l.text)) skipped.push({ url: l.url, reason: 'unsubscribe link: never requested' });
    else if (urls.length >= o.max) skipped.push({ url: l.url, reason: `more than ${o.max} distinct links` });
    else urls.push(l.url);
  }
  const checks = await mapLimit(urls, o.concurrency, (u) => (u.startsWith('https:') ? checkHttps(u, o) : checkHttp(u, o)));
  return { checks, skipped };
}
