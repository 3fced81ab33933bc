// Rates and findings from the per-seed rows: where the copies landed overall and
// per provider, how fast they reached the inbox, and what to fix.
import { finder } from '../findings.ts';
import type { Finding } from '../types.ts';
import { authFailures } from './classify.ts';
import type { PlacementRow, PlacementSummary, ProviderSummary } from './types.ts';

const f = finder('placement');

function bucket(p: string): string {
  if (p.startsWith('tab:')) return 'tab';
  if (p.startsWith('other:')) return 'other';
  return p;
}

/** A row that says something about placement: not a seed that could not be checked, not a copy never queued. */
export function answeredRow(r: PlacementRow): boolean {
  return r.placement !== 'error' && r.placement !== 'deferred';
}

/**
 * An SMTP reply for people: the code once. nodemailer's `response` already starts
 * with the code ("550 5.1.1 <x>: ..."), so "code response" would say it twice.
 */
export function smtpReply(code: number | string | undefined, response: string | undefined): string {
  const c = code === undefined ? '' : String(code);
  const r = (response ?? '').trim();
  if (!r) return c;
  if (!c || r.startsWith(c)) return r;
  return `${c} ${r}`;
}

function summarizeGroup(rows: PlacementRow[]): ProviderSummary {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[bucket(r.placement)] = (counts[bucket(r.placement)] ?? 0) + 1;
  const answered = rows.filter(answeredRow).length;
  const rate = (n: number) => (answered ? Math.round((n / answered) * 1000) / 1000 : 0);
  return {
    total: rows.length,
    counts,
    rates: {
      inbox: rate(counts.inbox ?? 0),
      tab: rate(counts.tab ?? 0),
      spam: rate(counts.spam ?? 0),
      // POP3 cannot tell spam from missing: both count here as "not in the inbox"
      missing: rate((counts.missing ?? 0) + (counts.bounced ?? 0) + (counts['not-in-inbox'] ?? 0)),
    },
  };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}

export function summarize(rows: PlacementRow[]): PlacementSummary {
  const all = summarizeGroup(rows);
  const providers: Record<string, ProviderSummary> = {};
  for (const p of [...new Set(rows.map((r) => r.provider))].sort()) providers[p] = summarizeGroup(rows.filter((r) => r.provider === p));
  const times = rows.filter((r) => (r.placement === 'inbox' || r.placement.startsWith('tab:') || r.placement === 'not-spam') && r.timeToArrivalMs !== undefined).map((r) => r.timeToArrivalMs!);
  return { ...all, providers, ...(times.length ? { timeToInbox: { n: times.length, medianMs: median(times), maxMs: Math.max(...times) } } : {}) };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

function byProvider(rows: PlacementRow[]): Map<string, PlacementRow[]> {
  const m = new Map<string, PlacementRow[]>();
  for (const r of rows) {
    const list = m.get(r.provider);
    if (list) list.push(r);
    else m.set(r.provider, [r]);
  }
  return m;
}

function authLine(r: PlacementRow): string {
  const a = r.receiverAuth;
  if (!a) return 'no Authentication-Results';
  return [a.spf ? `spf=${a.spf.result}` : '', ...a.dkim.map((d) => `dkim=${d.result}${d.domain ? `(${d.domain})` : ''}`), a.dmarc ? `dmarc=${a.dmarc.result}` : ''].filter(Boolean).join(' ') || 'no verdicts';
}

/** "of 7 generic seed(s)", and how many more could not be checked: the denominator the rates use. */
function ofSeeds(all: PlacementRow[], what: string): string {
  const answered = all.filter(answeredRow).length;
  const left = all.length - answered;
  return `of ${answered} ${what}${left ? ` (${left} more not checked)` : ''}`;
}

/** Why the filter put these copies in spam, from what their Authentication-Results say (or do not). */
function spamDetail(failing: number, withoutAr: number, total: number): string {
  if (failing) return `The receiver's own authentication failed for ${failing} of them (see placement.auth-fail-at-receiver): fix that first.`;
  if (withoutAr === total) return 'The copies carried no Authentication-Results header from the receiver, so whether authentication passed there is not known: compare the local re-verification (localAuth), then check blacklists, the content check, complaint and engagement rates.';
  const judged = 'so the filter judged reputation or content: check blacklists, the content check, complaint and engagement rates.';
  if (withoutAr) return `Authentication passed at the receiver for the ${total - withoutAr} cop${total - withoutAr === 1 ? 'y' : 'ies'} that carried Authentication-Results (${withoutAr} carried none), ${judged}`;
  return `Authentication passed at the receiver, ${judged}`;
}

export function placementFindings(rows: PlacementRow[], context: { plaintextWarnings?: string[]; timeoutMs?: number } = {}): Finding[] {
  const out: Finding[] = [];
  for (const [provider, list] of byProvider(rows)) {
    const spam = list.filter((r) => r.placement === 'spam');
    if (spam.length) {
      const failing = spam.filter((r) => authFailures(r.receiverAuth).length);
      const withoutAr = spam.filter((r) => !r.receiverAuth).length;
      out.push(f('placement.spam', 'error', `${spam.length} ${ofSeeds(list, `${provider} seed(s)`)} put the copy in spam`, {
        subject: provider,
        evidence: spam.map((r) => ({ note: `${r.seed}: ${r.folder} — ${authLine(r)}${r.spam?.spamStatus ? `; X-Spam-Status: ${r.spam.spamStatus}` : ''}${r.spam?.scl !== undefined ? `; SCL ${r.spam.scl}` : ''}` })),
        detail: spamDetail(failing.length, withoutAr, spam.length),
        fix: failing.length
          ? 'Make SPF and DKIM pass and align with the From domain (DMARC), then test again.'
          : 'Warm the sending IP/domain up gradually, remove spammy content and link shorteners, add List-Unsubscribe (RFC 8058), and check the content and blacklist results.',
        ref: provider === 'gmail' ? 'https://support.google.com/a/answer/81126' : provider === 'outlook' ? 'https://sendersupport.olc.protection.outlook.com/pm/' : provider === 'yahoo' ? 'https://senders.yahooinc.com/best-practices/' : 'RFC 7489 §6.7',
      }));
    }
    const tabs = list.filter((r) => r.placement.startsWith('tab:'));
    if (tabs.length) {
      const names = [...new Set(tabs.map((r) => r.placement.slice(4)))];
      out.push(f('placement.tab', 'info', `${tabs.length} ${ofSeeds(list, `${provider} seed(s)`)} filed the copy under the ${names.join('/')} tab`, {
        subject: provider,
        evidence: tabs.map((r) => ({ note: `${r.seed}: ${r.placement} (${r.folder})` })),
        detail: 'A tab is not spam: the message is delivered, but outside the Primary view; marketing mail usually belongs there.',
        fix: 'For transactional mail, send from a separate stream (subdomain/IP) without List-Unsubscribe and promotional content; for marketing, this is expected.',
        ref: 'https://support.google.com/mail/answer/3055016',
      }));
    }
    const missing = list.filter((r) => r.placement === 'missing');
    if (missing.length) {
      out.push(f('placement.missing', 'warn', `${missing.length} ${ofSeeds(list, `${provider} seed(s)`)} never received the copy${context.timeoutMs ? ` within ${Math.round(context.timeoutMs / 1000)} s` : ''}`, {
        subject: provider,
        evidence: missing.map((r) => ({ note: `${r.seed}: ${r.smtp ? `SMTP ${r.smtp.status}${r.smtp.code ? ` ${r.smtp.code}` : ''}` : 'not sent by this run'}${r.note ? `; ${r.note}` : ''}` })),
        detail: 'Not in any folder inboxlens could search: still queued or greylisted, silently dropped, or refused after the relay accepted it (give --bounces to see DSNs).',
        fix: 'Wait longer (--timeout), check the sending server\'s queue and logs for deferrals, and watch the bounce address (--bounces).',
        ref: 'RFC 3464',
      }));
    }
    const notIn = list.filter((r) => r.placement === 'not-in-inbox');
    if (notIn.length) {
      out.push(f('placement.not-in-inbox', 'warn', `${notIn.length} ${ofSeeds(list.filter((r) => r.protocol === 'pop3'), `${provider} POP3 seed(s)`)} did not show the copy`, {
        subject: provider,
        evidence: notIn.map((r) => ({ note: `${r.seed}: ${r.note ?? 'not found over POP3'}` })),
        detail: 'POP3 sees only the inbox (Gmail: All Mail without Spam and Trash), so the copy is in spam or never arrived: POP cannot tell which.',
        fix: 'Read this mailbox over IMAP to see its spam folder, or check it by hand.',
        ref: 'RFC 1939',
      }));
    }
    const bounced = list.filter((r) => r.placement === 'bounced');
    if (bounced.length) {
      out.push(f('placement.bounced', 'error', `${bounced.length} ${ofSeeds(list, `${provider} seed(s)`)} refused the copy`, {
        subject: provider,
        evidence: bounced.map((r) => ({ note: `${r.seed}: ${r.bounce?.source === 'smtp' ? 'SMTP' : 'DSN'} ${smtpReply(r.bounce?.status, r.bounce?.diagnostic)}${r.bounce?.remoteMta ? ` (from ${r.bounce.remoteMta})` : ''}`.replace(/\s+/g, ' ').trim() })),
        detail: 'The receiving server refused the message; the status code says why (5.7.26 / 5.7.515: authentication or DMARC; 5.7.1: policy or reputation; 5.1.1: no such user).',
        fix: 'Read the remote server\'s text in the evidence: for 5.7.26/5.7.515 make SPF or DKIM pass aligned with the From domain; for 5.1.1 fix the seed address.',
        ref: 'RFC 3463 §3.8, RFC 3464',
      }));
    }
  }
  const authBad = rows.filter((r) => authFailures(r.receiverAuth).length);
  if (authBad.length) {
    const dmarcFail = authBad.some((r) => r.receiverAuth?.dmarc && /fail/.test(r.receiverAuth.dmarc.result));
    out.push(f('placement.auth-fail-at-receiver', dmarcFail ? 'error' : 'warn', `The receiver's authentication failed for ${authBad.length} seed(s)`, {
      evidence: authBad.map((r) => ({ note: `${r.seed} (${r.provider}): ${authFailures(r.receiverAuth).join(', ')} — Authentication-Results: ${r.receiverAuth!.raw.slice(0, 300)}` })),
      detail: 'What the mailbox provider itself concluded on arrival (its Authentication-Results header), which decides DMARC and weighs on placement.',
      fix: 'spf=fail/softfail: add the sending IP to the envelope domain\'s SPF; dkim=fail: sign with a published key and do not alter the message after signing; dmarc=fail: make SPF or DKIM pass with a domain aligned to the From domain.',
      ref: 'RFC 8601; RFC 7208; RFC 6376; RFC 7489 §3.1',
    }));
  }
  const errs = rows.filter((r) => r.placement === 'error');
  if (errs.length) {
    out.push(f('placement.seed-error', 'warn', `${errs.length} of ${rows.length} seed(s) could not be checked`, {
      // name the seed: several seeds often share one host, so the host alone does not say which
      evidence: errs.map((r) => ({ note: !r.error ? `${r.seed}: error` : r.error.includes(r.seed) ? r.error : `${r.seed}: ${r.error}` })),
      detail: 'These seeds say nothing about placement; the other seeds were checked normally.',
      fix: 'Fix the seed\'s access: host/port/secure, the password or app password (Gmail and Yahoo need app passwords), OAuth2 tokens (Outlook), or the CA file for a private certificate.',
      ref: 'RFC 9051 §6.2.3 (LOGIN), RFC 1939 §7',
    }));
  }
  for (const w of context.plaintextWarnings ?? []) {
    out.push(f('placement.insecure-access', 'warn', w, {
      fix: 'Use secure: true (implicit TLS) or a server that offers STARTTLS, and a verified certificate (ca: for a private CA).',
      ref: 'RFC 8314',
    }));
  }
  const inbox = rows.filter((r) => r.placement === 'inbox' || r.placement === 'not-spam');
  const answered = rows.filter(answeredRow);
  // a run where no seed saw a copy measured nothing about placement: that is a failure, never a green CI
  const arrived = rows.filter((r) => r.placement === 'inbox' || r.placement === 'not-spam' || r.placement === 'spam' || r.placement.startsWith('tab:') || r.placement.startsWith('other:'));
  const waited = rows.filter((r) => r.placement === 'missing' || r.placement === 'not-in-inbox');
  if (!arrived.length && waited.length) {
    out.push(f('placement.none-arrived', 'error', `No copy arrived at any of the ${answered.length} seed(s) that could be checked${context.timeoutMs ? ` within ${Math.round(context.timeoutMs / 1000)} s` : ''}`, {
      detail: 'Nothing was learned about placement: the copies are still queued, were dropped, or went to other addresses.',
      fix: 'Check that the send succeeded and went to these seeds (placement send prints the run token), then wait longer (--timeout) or give --bounces to see refusals.',
      ref: 'RFC 5321 §4.5.4.1',
    }));
  }
  if (inbox.length && answered.length) {
    out.push(f('placement.inbox', 'pass', `${inbox.length} of ${answered.length} seed(s) received the copy in the inbox (${pct(inbox.length / answered.length)})`));
  }
  return out;
}
