// The content check's whole judgement of one message: the offline structure
// findings, then — all at once — DKIM verification, the spam filters and the
// optional link requests. Used by checks/content.ts and reusable by any command
// holding a message (e.g. the message `placement send` is about to send).
import type { CheckOutput, Evidence, Finding, Status } from '../types.ts';
import { finder } from '../findings.ts';
import type { LoadedMessage } from './parse.ts';
import { structureFindings, GMAIL_GUIDELINES } from './structure.ts';
import { verifyDkim, type DkimFacts } from './dkim.ts';
import { spamdReport, type SpamdAddress, type SpamdResult, type SpamRule } from './spamd.ts';
import { rspamdCheck, type RspamdResult } from './rspamd.ts';
import { checkLinks, type LinkCheck } from './linkcheck.ts';
import type { DnsClient } from '../dns/resolver.ts';
import type { HttpsSettings } from '../net/https.ts';

const f = finder('content');

export interface ContentOptions {
  /** the run's DNS: DKIM keys, and the hosts of links with --check-links */
  dns: DnsClient;
  /** HTTPS settings of the run (src/net/https.ts httpsSettings()); needed with checkLinks */
  https?: HttpsSettings;
  spamd?: SpamdAddress;
  rspamd?: URL;
  checkLinks?: boolean;
  /** the sending IP, when known: rspamd judges the message as if it came from there */
  ip?: string;
  signal?: AbortSignal;
  filterTimeoutMs?: number;
  linkTimeoutMs?: number;
  linkConcurrency?: number;
  maxLinks?: number;
  progress?: (message: string) => void;
}

export type SpamVerdict =
  | ((SpamdResult | RspamdResult) & { rating?: number })
  | { filter: 'spamassassin' | 'rspamd'; error: string };

const FILTER_NAME = { spamassassin: 'SpamAssassin', rspamd: 'rspamd' } as const;

/**
 * A 0–10 summary of a real filter's score, 10 best: 10 at a score of 0 or
 * below, 5 at the filter's spam threshold, 0 at twice the threshold.
 */
export function ratingOf(score: number, threshold: number): number | undefined {
  if (!Number.isFinite(score) || !Number.isFinite(threshold) || threshold <= 0) return undefined;
  const r = 10 * (1 - Math.max(0, score) / (2 * threshold));
  return Math.round(Math.min(10, Math.max(0, r)) * 10) / 10;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(Math.round(n * 100) / 100);
}

function ruleLine(r: SpamRule): string {
  return `${fmt(r.score).padStart(6)} ${r.name}${r.description ? `  ${r.description}` : ''}`;
}

function spamFindings(verdicts: SpamVerdict[], out: Finding[], ipKnown: boolean): string[] {
  const unknown: string[] = [];
  if (!verdicts.length) {
    out.push(f('content.no-filter', 'info', 'No spam filter was asked: the message was not scored', {
      detail: 'inboxlens does not invent a spam score: it asks a real filter. Point it at SpamAssassin\'s spamd or rspamd.',
      fix: 'Add --spamd HOST:PORT (SpamAssassin\'s spamd, e.g. 127.0.0.1:783) and/or --rspamd URL (rspamd\'s normal worker, e.g. http://127.0.0.1:11333).',
    }));
    return unknown;
  }
  for (const v of verdicts) {
    const name = FILTER_NAME[v.filter];
    if ('error' in v) {
      unknown.push(`${name} could not score the message: ${v.error}`);
      continue;
    }
    const positive = v.rules.filter((r) => r.score > 0).sort((a, b) => b.score - a.score);
    const shown = [...positive, ...v.rules.filter((r) => r.score <= 0)].filter((r) => r.score !== 0).slice(0, 25);
    const evidence: Evidence[] = shown.map((r) => ({ record: ruleLine(r) }));
    const action = 'action' in v ? `, action "${v.action}"` : '';
    const rating = v.rating !== undefined ? ` — rating ${v.rating}/10` : '';
    const topRules = positive.slice(0, 5).map((r) => `${r.name} (${fmt(r.score)})`).join(', ');
    // rspamd judges the connection too: without the sending IP its host-name symbols count against any message
    const noIp = v.filter === 'rspamd' && !ipKnown && v.rules.some((r) => r.name.startsWith('HFILTER_') && r.score > 0)
      ? 'rspamd scored it without the sending IP (give it with --ip), so its connection symbols (HFILTER_*) count against the message.'
      : '';
    const top = [topRules ? `The rules that scored most: ${topRules}.` : '', 'note' in v && v.note ? `rspamd's message: "${v.note}".` : '', noIp].filter(Boolean).join(' ');
    const base = `${name} scores the message ${fmt(v.score)} (spam at ${fmt(v.threshold)}${action})${rating}`;
    const ref = v.filter === 'spamassassin' ? 'SpamAssassin rules, https://spamassassin.apache.org/ (rule descriptions in the report)' : 'rspamd symbols, https://rspamd.com/doc/';
    if (v.isSpam) {
      out.push(f('content.spam-score', 'error', `${base}: spam`, {
        evidence,
        detail: top || undefined,
        fix: `Work down the rules with the highest positive scores (listed above) and change what triggers each; then score the message again.`,
        ref,
        subject: name,
      }));
    } else if (v.filter === 'spamassassin' ? v.score >= v.threshold / 2 : v.action !== 'no action') {
      out.push(f('content.spam-score', 'warn', `${base}: not spam, but close to the threshold`, {
        evidence,
        detail: `Receivers tune their own thresholds, and a sending reputation or a blocklisting adds points. ${top}`.trim(),
        fix: 'Lower the score with the rules listed above so the message keeps a margin below the threshold.',
        ref,
        subject: name,
      }));
    } else {
      out.push(f('content.spam-score', 'pass', `${base}: not spam`, { evidence, ref, subject: name }));
    }
  }
  return unknown;
}

function dkimFindings(facts: DkimFacts, fromDomains: string[], lu: { present: boolean; oneClickPost: boolean }, out: Finding[]): string[] {
  const unknown: string[] = [];
  const sigs = facts.signatures;
  const passing = sigs.filter((s) => s.result === 'pass');
  const temp = sigs.filter((s) => s.result === 'temperror');
  for (const s of temp) unknown.push(`DKIM key of ${s.selector}._domainkey.${s.domain} could not be fetched (${s.comment ?? 'DNS failure'})`);
  if (!sigs.length) {
    out.push(f('content.not-signed', 'info', 'The message carries no DKIM signature', {
      detail: 'Fine for a draft that your ESP or MTA signs on the way out; a copy as delivered must carry a DKIM signature of your From domain for DMARC and for one-click unsubscribe (RFC 8058 §4). Check a received copy (Show original) too.',
      fix: 'Sign outgoing mail with DKIM under your From domain (d=) at your ESP or MTA.',
      ref: 'RFC 6376; RFC 8058 §4',
    }));
  }
  for (const s of sigs.filter((x) => x.result !== 'pass' && x.result !== 'temperror')) {
    out.push(f('content.dkim-fail', 'error', `The DKIM signature of ${s.domain || '(no d=)'} (selector ${s.selector || '?'}) does not verify: ${s.result}${s.comment ? ` (${s.comment})` : ''}`, {
      detail: 'A signature that fails counts as no signature: DMARC cannot pass on it. The usual causes are a message changed after signing (a footer added, line endings or encoding rewritten) or a key in DNS that does not match the signing key.',
      fix: `Sign as the very last step before sending, and check that ${s.selector}._domainkey.${s.domain} publishes the public key of the key that signs.`,
      ref: 'RFC 6376 §6.1',
      subject: s.domain || undefined,
    }));
  }
  if (passing.length && fromDomains.length) {
    const aligned = passing.filter((s) => s.aligned);
    if (!aligned.length) {
      out.push(f('content.dkim-unaligned', 'warn', `No valid DKIM signature is aligned with the From domain ${fromDomains.join(', ')} (signed by ${[...new Set(passing.map((s) => s.domain))].join(', ')})`, {
        detail: 'DMARC passes on DKIM only when the signing domain d= has the same organizational domain as From; an ESP\'s own signature (d=esp.example) does not count for your domain. Gmail and Yahoo require DMARC alignment from bulk senders.',
        fix: `Have your ESP sign with your own domain: publish its DKIM key under your domain (a CNAME it gives you) so it signs with d=${fromDomains[0]}.`,
        ref: `RFC 7489 §3.1.1; ${GMAIL_GUIDELINES}`,
      }));
    } else {
      out.push(f('content.dkim-aligned', 'pass', `DKIM passes and aligns with the From domain (d=${aligned[0]!.domain})`, { ref: 'RFC 7489 §3.1.1' }));
    }
  }
  if (lu.present) {
    const wanted = lu.oneClickPost ? ['list-unsubscribe', 'list-unsubscribe-post'] : ['list-unsubscribe'];
    const covering = passing.filter((s) => wanted.every((h) => s.headers.includes(h)));
    if (covering.length) {
      out.push(f('content.unsubscribe-signed', 'pass', `${wanted.map((h) => (h === 'list-unsubscribe' ? 'List-Unsubscribe' : 'List-Unsubscribe-Post')).join(' and ')} are covered by the valid DKIM signature of ${covering[0]!.domain}`, { ref: 'RFC 8058 §4' }));
    } else if (!temp.length || passing.length) {
      const why = !sigs.length
        ? 'the message has no DKIM signature'
        : !passing.length
          ? 'no DKIM signature of the message verifies'
          : `the valid signature(s) sign h=${passing.map((s) => s.headers.join(':')).join(' / ')}`;
      out.push(f('content.unsubscribe-not-signed', 'warn', `The unsubscribe headers are not covered by a valid DKIM signature: ${why}`, {
        evidence: passing.map((s) => ({ record: `d=${s.domain}; s=${s.selector}; h=${s.headers.join(':')}` })),
        detail: 'RFC 8058 §4: receivers act on one-click unsubscribe only when List-Unsubscribe and List-Unsubscribe-Post are inside the h= of a valid DKIM signature, so a relay cannot plant its own unsubscribe URL. Gmail ignores unsigned ones.',
        fix: 'Add List-Unsubscribe and List-Unsubscribe-Post to the headers your ESP or MTA signs (h=), and make sure they are added before signing.',
        ref: 'RFC 8058 §4',
      }));
    }
  }
  return unknown;
}

function linkCheckFindings(checks: LinkCheck[], out: Finding[]): void {
  const broken = checks.filter((c) => (c.status !== undefined && c.status >= 400) || (c.error !== undefined && !c.unknown));
  const unverified = checks.filter((c) => c.unknown);
  const insecure = checks.filter((c) => c.insecure);
  for (const c of broken) {
    out.push(f('content.broken-link', 'error', `Broken link: ${c.url} ${c.status !== undefined ? `answers HTTP ${c.status}` : `fails: ${c.error}`}`, {
      evidence: [{ record: `${c.url}${c.finalUrl ? ` → ${c.finalUrl}` : ''}: ${c.status !== undefined ? `HTTP ${c.status}` : c.error}` }],
      detail: 'Readers who meet a dead link complain; filters that follow links (Microsoft Safe Links, Gmail) distrust mail whose links fail.',
      fix: 'Fix or remove the link before sending (check for typos, expired campaign pages, or a missing TLS certificate).',
      ref: 'RFC 9110 §15 (status codes)',
      subject: c.url,
    }));
  }
  if (unverified.length) {
    out.push(f('content.link-unverified', 'warn', `${unverified.length} link(s) could not be verified (no answer in time, or their DNS lookup failed)`, {
      evidence: unverified.slice(0, 10).map((c) => ({ record: `${c.url}: ${c.error}` })),
      fix: 'Open these links yourself; a slow landing page also loses readers. Allow more time with --https-timeout if your pages are known to be slow.',
    }));
  }
  if (insecure.length) {
    out.push(f('content.insecure-link', 'warn', `${insecure.length} link(s) use plain http`, {
      evidence: insecure.slice(0, 10).map((c) => ({ record: `${c.url}${c.finalUrl ? ` → ${c.finalUrl}` : ''}` })),
      detail: 'Browsers mark plain-http pages "Not secure", and a tracking redirect over http can be read and altered in transit.',
      fix: 'Link with https:// (and serve the landing pages and your click-tracking domain over HTTPS).',
      ref: 'RFC 9110 §4.2.2 (https)',
    }));
  }
  if (checks.length && !broken.length && !unverified.length && !insecure.length) out.push(f('content.links-ok', 'pass', `All ${checks.length} link(s) answer over HTTPS`));
}

export async function analyzeContent(msg: LoadedMessage, o: ContentOptions): Promise<CheckOutput> {
  const { findings, data } = structureFindings(msg);
  const timeout = o.filterTimeoutMs ?? 60_000;
  const filters: Promise<SpamVerdict>[] = [];
  if (o.spamd) {
    const a = o.spamd;
    o.progress?.('scoring with SpamAssassin…');
    filters.push(spamdReport(msg.raw, a, { timeoutMs: timeout, signal: o.signal }).then(
      (r) => ({ ...r, ...(ratingOf(r.score, r.threshold) !== undefined ? { rating: ratingOf(r.score, r.threshold)! } : {}) }),
      (e: Error) => ({ filter: 'spamassassin' as const, error: e.message }),
    ));
  }
  if (o.rspamd) {
    o.progress?.('scoring with rspamd…');
    // no rating for rspamd: /checkv2 gives the reject score only, not the score that files into spam
    filters.push(rspamdCheck(msg.raw, o.rspamd, { timeoutMs: timeout, ip: o.ip, signal: o.signal }).catch((e: Error) => ({ filter: 'rspamd' as const, error: e.message })));
  }
  // the List-Unsubscribe URIs are never requested: a request may unsubscribe the user
  const unsubscribeUris = new Set([...data.listUnsubscribe.https, ...data.listUnsubscribe.http].map((u) => URL.parse(u)?.href ?? u));
  const linksToCheck = data.links.filter((l) => !unsubscribeUris.has(l.url));
  const [dkim, verdicts, linkResult] = await Promise.all([
    verifyDkim(msg.raw, o.dns.mailauthResolver, data.fromDomains),
    Promise.all(filters),
    o.checkLinks && o.https
      ? checkLinks(linksToCheck, { dns: o.dns, https: o.https, timeoutMs: o.linkTimeoutMs ?? o.https.timeoutMs, concurrency: o.linkConcurrency ?? 8, max: o.maxLinks ?? 200, signal: o.signal })
      : Promise.resolve(undefined),
  ]);
  const unknown = [...dkimFindings(dkim, data.fromDomains, data.listUnsubscribe, findings), ...spamFindings(verdicts, findings, Boolean(o.ip))];
  if (linkResult) linkCheckFindings(linkResult.checks, findings);

  const hasError = findings.some((x) => x.severity === 'error');
  const out: CheckOutput = {
    findings,
    data: {
      ...data,
      dkim: dkim.signatures,
      spam: verdicts,
      ...(linkResult ? { linkChecks: linkResult.checks, linksSkipped: linkResult.skipped } : {}),
    },
  };
  if (unknown.length) {
    // part of the verdict is missing: never a pass; an error found elsewhere still fails the check
    out.reason = unknown.join('; ');
    if (!hasError) out.status = 'unknown' satisfies Status;
  }
  return out;
}
