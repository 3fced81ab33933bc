// How each simulated mailbox provider of the lab treats incoming mail: which
// domains it receives for, its folder layout, the spam headers it adds, and the
// filing policy that turns an authentication verdict into a folder (or an SMTP
// refusal). Deterministic on purpose: a test or the demo knows where mail lands.
import { junkFolderOf, tabFolderOf, type Layout } from './layouts.ts';

export type SpamHeaderStyle = 'gmail' | 'exchange' | 'spamassassin' | 'yahoo';

export interface ProviderPolicy {
  /** short id: gmail, outlook, yahoo, icloud, generic, strict… */
  id: string;
  /** the seeds-file provider name (issue 4: gmail, outlook, yahoo, icloud, generic) */
  provider: 'gmail' | 'outlook' | 'yahoo' | 'icloud' | 'generic';
  layout: Layout;
  /** recipient domains this provider receives mail for */
  domains: string[];
  spamHeaders: SpamHeaderStyle;
  /** file bulk-looking mail (List-Unsubscribe, Precedence: bulk) into the Promotions tab folder */
  tabs?: boolean;
  /** refuse at SMTP time instead of filing into spam */
  reject?: {
    /** DMARC fails and the domain publishes p=reject: 550 5.7.26 (as Gmail does) */
    dmarcReject?: boolean;
    /** neither SPF nor DKIM passes: 550 5.7.26 (Gmail's 2024 sender requirements) */
    unauthenticated?: boolean;
  };
}

/** The lab's providers: the domains are served by fixtures/lab/zones/providers.yaml. */
export const LAB_PROVIDERS: ProviderPolicy[] = [
  { id: 'gmail', provider: 'gmail', layout: 'gmail', domains: ['gmail.lab.test'], spamHeaders: 'gmail', tabs: true },
  { id: 'outlook', provider: 'outlook', layout: 'outlook', domains: ['outlook.lab.test'], spamHeaders: 'exchange' },
  { id: 'yahoo', provider: 'yahoo', layout: 'yahoo', domains: ['yahoo.lab.test'], spamHeaders: 'yahoo' },
  { id: 'icloud', provider: 'icloud', layout: 'icloud', domains: ['icloud.lab.test'], spamHeaders: 'spamassassin' },
  { id: 'generic', provider: 'generic', layout: 'generic', domains: ['mail.lab.test'], spamHeaders: 'spamassassin' },
  // refuses what it would otherwise file as spam: bounce tests
  { id: 'strict', provider: 'generic', layout: 'generic', domains: ['strict.lab.test'], spamHeaders: 'spamassassin', reject: { dmarcReject: true, unauthenticated: true } },
];

/** What the receiving MX learned about one message. */
export interface Verdict {
  spf: string;
  /** the best DKIM result over all signatures: pass if any passes */
  dkim: string;
  /** true when a passing DKIM signature's d= aligns with the From domain */
  dkimAligned: boolean;
  dmarc: string;
  /** the DMARC policy that applies (none, quarantine, reject), when there is a record */
  dmarcPolicy?: string;
  fromDomain?: string;
  /** List-Unsubscribe or Precedence: bulk present */
  bulk: boolean;
  /** List-Id or Precedence: list present (a mailing list) */
  list: boolean;
}

export interface Rule {
  name: string;
  score: number;
  why: string;
}

export type Decision =
  | { action: 'deliver'; folder: string; kind: 'inbox' | 'spam' | 'tab'; tab?: string; score: number; rules: Rule[]; reason: string }
  | { action: 'reject'; code: number; enhanced: string; message: string; score: number; rules: Rule[] }
  | { action: 'defer'; code: number; enhanced: string; message: string; score: number; rules: Rule[] };

/** SpamAssassin's default threshold, used by every lab provider. */
export const REQUIRED_SCORE = 5;

/** Score a verdict with SpamAssassin-like rules (names and weights are the lab's own, documented in the README). */
export function scoreVerdict(v: Verdict): Rule[] {
  const rules: Rule[] = [];
  const add = (name: string, score: number, why: string) => rules.push({ name, score, why });
  if (v.spf === 'fail') add('SPF_FAIL', 3, 'SPF fail: the client IP is not authorized by the envelope domain');
  else if (v.spf === 'softfail') add('SPF_SOFTFAIL', 1.5, 'SPF softfail (~all)');
  else if (v.spf === 'none') add('SPF_NONE', 0.5, 'no SPF record for the envelope domain');
  else if (v.spf === 'permerror') add('SPF_PERMERROR', 1.5, 'SPF record is broken (permerror)');
  if (v.dkim === 'none') add('DKIM_NONE', 1, 'no DKIM signature');
  else if (v.dkim !== 'pass' && v.dkim !== 'temperror') add('DKIM_INVALID', 2, `DKIM ${v.dkim}`);
  if (v.dmarc === 'fail') {
    if (v.dmarcPolicy === 'reject') add('DMARC_REJECT', 5, 'DMARC fail, the domain asks receivers to reject');
    else if (v.dmarcPolicy === 'quarantine') add('DMARC_QUAR', 4, 'DMARC fail, the domain asks receivers to quarantine');
    else add('DMARC_NONE_FAIL', 1.5, 'DMARC fail under p=none');
  } else if (v.dmarc === 'none') add('DMARC_MISSING', 1, 'the From domain has no DMARC record');
  if (v.bulk) add('BULK_UNSUB', 0.1, 'bulk mail (List-Unsubscribe / Precedence: bulk)');
  return rules;
}

const sum = (rules: Rule[]) => Math.round(rules.reduce((s, r) => s + r.score, 0) * 10) / 10;

/**
 * Where a provider files a message, or why it refuses it:
 * 1. a temporary DNS failure with nothing passing → 451 4.4.3 (try later; unknown is not pass);
 * 2. DMARC fail under p=reject → 550 5.7.26 at providers that enforce it, else spam;
 * 3. neither SPF nor DKIM passes → 550 5.7.26 at providers that require authentication, else spam;
 * 4. DMARC fail, or a score at or above 5 → spam;
 * 5. otherwise inbox, or the Promotions/Forums tab for bulk or list mail at providers with tabs.
 */
export function classify(p: ProviderPolicy, v: Verdict): Decision {
  const rules = scoreVerdict(v);
  const score = sum(rules);
  const authenticated = v.spf === 'pass' || v.dkim === 'pass';
  const junk = junkFolderOf(p.layout);
  const temp = [v.spf, v.dkim, v.dmarc].includes('temperror');
  if (temp && !authenticated) {
    return { action: 'defer', code: 451, enhanced: '4.4.3', message: 'Temporary DNS failure while authenticating this message, try again later', score, rules };
  }
  if (v.dmarc === 'fail' && v.dmarcPolicy === 'reject') {
    if (p.reject?.dmarcReject) {
      return {
        action: 'reject', code: 550, enhanced: '5.7.26', score, rules,
        message: `Unauthenticated email from ${v.fromDomain ?? 'this domain'} is not accepted due to the domain's DMARC policy (RFC 9989)`,
      };
    }
    return { action: 'deliver', folder: junk, kind: 'spam', score, rules, reason: 'DMARC fail with p=reject' };
  }
  if (!authenticated) {
    if (p.reject?.unauthenticated) {
      return {
        action: 'reject', code: 550, enhanced: '5.7.26', score, rules,
        message: 'This mail has been blocked because the sender is unauthenticated: authenticate with SPF or DKIM',
      };
    }
    return { action: 'deliver', folder: junk, kind: 'spam', score, rules, reason: 'neither SPF nor DKIM passes' };
  }
  if (v.dmarc === 'fail') return { action: 'deliver', folder: junk, kind: 'spam', score, rules, reason: `DMARC fail (p=${v.dmarcPolicy ?? 'none'})` };
  if (score >= REQUIRED_SCORE) return { action: 'deliver', folder: junk, kind: 'spam', score, rules, reason: `score ${score} ≥ ${REQUIRED_SCORE}` };
  if (p.tabs) {
    const tab = v.bulk ? 'promotions' : v.list ? 'forums' : undefined;
    const folder = tab && tabFolderOf(p.layout, tab);
    if (tab && folder) return { action: 'deliver', folder, kind: 'tab', tab, score, rules, reason: v.bulk ? 'bulk mail (List-Unsubscribe)' : 'mailing list (List-Id)' };
  }
  return { action: 'deliver', folder: 'INBOX', kind: 'inbox', score, rules, reason: 'authenticated' };
}

/** Header lines (without CRLF) a provider adds to a message it files: its spam verdict, in its own dialect. */
export function spamHeaders(p: ProviderPolicy, d: Extract<Decision, { action: 'deliver' }>, ctx: { clientIp: string; helo?: string; dmarc: string }): string[] {
  const spam = d.kind === 'spam';
  const tests = d.rules.map((r) => r.name).join(',') || 'NONE';
  switch (p.spamHeaders) {
    case 'gmail':
      // Gmail's own delivered-message headers
      return [`X-Gm-Spam: ${spam ? 1 : 0}`, 'X-Gm-Phishy: 0'];
    case 'exchange': {
      // Exchange Online: SCL 5+ is Junk, 1 is clean; SFV:SPM spam, SFV:NSPM not spam; CAT:SPOOF for DMARC failures
      const scl = spam ? 5 : 1;
      const cat = spam ? (ctx.dmarc === 'fail' ? 'SPOOF' : 'SPM') : 'NONE';
      return [
        `X-MS-Exchange-Organization-SCL: ${scl}`,
        `X-Forefront-Antispam-Report: CIP:${ctx.clientIp};CTRY:;LANG:en;SCL:${scl};SRV:;IPV:NLI;SFV:${spam ? 'SPM' : 'NSPM'};H:${ctx.helo ?? ctx.clientIp};PTR:;CAT:${cat};SFS:;DIR:INB;`,
        'X-MS-Exchange-Organization-AuthAs: Anonymous',
      ];
    }
    case 'yahoo':
      return spam ? [`X-YahooFilteredBulk: ${ctx.clientIp}`] : [];
    case 'spamassassin':
    default:
      return [
        `X-Spam-Flag: ${spam ? 'YES' : 'NO'}`,
        `X-Spam-Score: ${d.score.toFixed(1)}`,
        `X-Spam-Status: ${spam ? 'Yes' : 'No'}, score=${d.score.toFixed(1)} required=${REQUIRED_SCORE.toFixed(1)} tests=${tests} autolearn=disabled version=inboxlens-lab`,
      ];
  }
}

/** The provider that receives mail for a domain. */
export function providerFor(providers: ProviderPolicy[], domain: string): ProviderPolicy | undefined {
  const d = domain.toLowerCase();
  return providers.find((p) => p.domains.some((x) => x.toLowerCase() === d));
}
